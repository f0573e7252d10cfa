/*  views: what people read of the deals service, as command replies: one
    deal with its fields (as people read them), stage, tasks, pending
    timers and history, and the list of deals. Read-only; arg of every
    handler is the pipeline definition (const pipeline_t *), which names the
    stages and shows the field values.
*/
#ifndef CRM_DEALS_VIEWS_H
#define CRM_DEALS_VIEWS_H

#include "service.h"

/*  "ShowDeal" -> DealDetail; NOT_FOUND for an unknown deal. */
service_command_fn views_show_deal;

/*  "ListDeals" -> DealList, newest first; limit 0: 100, at most 1000. */
service_command_fn views_list_deals;

#endif
