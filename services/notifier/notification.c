/*  notification: see notification.h. */
#include "notification.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

int
notification_validate (const Crm__V1__NotificationRequested *request, char *reason, size_t size)
{
    if (!*request->request_key || strlen (request->request_key) > 200)
        snprintf (reason, size, "request_key is required (1 to 200 bytes)");
    else if (!*request->recipient || strlen (request->recipient) > 100)
        snprintf (reason, size, "recipient is required (1 to 100 bytes)");
    else if (!*request->text || strlen (request->text) > NOTIFICATION_TEXT_MAX)
        snprintf (reason, size, "text is required (1 to %d bytes)", NOTIFICATION_TEXT_MAX);
    else if (!utf8_valid (request->text))
        snprintf (reason, size, "text is not valid UTF-8");
    else if (!utf8_valid (request->request_key))
        snprintf (reason, size, "request_key is not valid UTF-8");
    else if (!utf8_valid (request->recipient))
        snprintf (reason, size, "recipient is not valid UTF-8");
    else if (strlen (request->rule) > 100 || !utf8_valid (request->rule))
        snprintf (reason, size, "rule is longer than 100 bytes or not valid UTF-8");
    else
        return 0;
    return -1;
}
