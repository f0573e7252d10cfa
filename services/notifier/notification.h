/*  notification: the notifier's pure rules for a notification request:
    what makes it valid. No sockets, no database.
*/
#ifndef CRM_NOTIFICATION_H
#define CRM_NOTIFICATION_H

#include "crm/v1/notifier.pb-c.h"

#include <stddef.h>

#define NOTIFICATION_TEXT_MAX 4000  // bytes

/*  Checks a request. Returns 0 if valid, else -1 with one sentence naming
    the field at fault in reason (size bytes). */
int notification_validate (const Crm__V1__NotificationRequested *request, char *reason, size_t size);

#endif
