/*  lead: the leads service's pure rules for an incoming lead: what makes it
    valid, who is responsible, and the text of the "new lead" notification.
    No sockets, no database: unit-tested in tests/unit/test_lead.c.
*/
#ifndef CRM_LEAD_H
#define CRM_LEAD_H

#include "crm/v1/leads.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define LEAD_FIELD_MAX 1000     // bytes per text field (comment: 4000)
#define LEAD_MAX_INVALID 9

/*  Checks a received lead. Returns the number of invalid fields (0: valid)
    and names them in fields (up to LEAD_MAX_INVALID pointers to static
    strings), with one sentence about the first in message (size bytes). */
int lead_validate (const Crm__V1__LeadReceived *lead, const char **fields, char *message,
                   size_t size);

/*  Writes the notification text for a new lead (UTF-8) into buf (size
    bytes, cut if too short). */
void lead_new_lead_text (char *buf, size_t size, uint64_t lead_id,
                         const Crm__V1__LeadReceived *lead);

#endif
