/*  task_print: how crmctl shows tasks and activities on stdout: lines for
    people (times in the company's zone) or JSON for scripts (times as ms
    UTC, and as text in the zone beside them).
*/
#ifndef CRMCTL_TASK_PRINT_H
#define CRMCTL_TASK_PRINT_H

#include "crm/v1/tasks.pb-c.h"

#include <stdbool.h>
#include <stddef.h>

/*  Sets the zone times are shown in: CRM_TIME_ZONE, else the time_zone of
    the staff directory (CRM_STAFF_FILE, default
    deploy/pipelines/staff.yaml if it is there), else Europe/Moscow. Returns 0, or -1 with why in err (err_size bytes) for a
    zone tzdata does not know or a CRM_STAFF_FILE that does not load. */
int task_print_zone (char *err, size_t err_size);

/*  A task with its comments and attachments. */
void task_print_detail (const Crm__V1__TaskDetail *detail, bool json);

/*  One line per task (then how many), or a JSON array. */
void task_print_list (const Crm__V1__TaskList *list, bool json);

/*  One line per activity (then how many), or a JSON array. */
void task_print_activities (const Crm__V1__ActivityList *list, bool json);

#endif
