/*  views: what people read of the leads service, as command replies:
    one lead with its fields (as people read them), stage and history, and
    the lists of leads, contacts and companies. Read-only; arg of every
    handler is the pipeline definition (const pipeline_t *), which names the
    stages and shows the field values.
*/
#ifndef CRM_LEADS_VIEWS_H
#define CRM_LEADS_VIEWS_H

#include "service.h"

/*  "ShowLead" -> LeadDetail; NOT_FOUND for an unknown lead. */
service_command_fn views_show_lead;

/*  "ListLeads" -> LeadList (newest first); "ListContacts" -> ContactList;
    "ListCompanies" -> CompanyList (oldest first). limit 0: 100, at most
    1000. */
service_command_fn views_list_leads;
service_command_fn views_list_contacts;
service_command_fn views_list_companies;

#endif
