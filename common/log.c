/*  log: JSON-lines logging. See log.h. */
#include "log.h"
#include "clock.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

static char s_service[32] = "crm";
static log_level_t s_level = LOG_LEVEL_INFO;
static const char *s_names[] = {"debug", "info", "warn", "error"};

int
log_init (const char *service)
{
    snprintf (s_service, sizeof s_service, "%s", service);
    const char *env = getenv ("CRM_LOG_LEVEL");
    if (!env || !*env)
        return 0;
    for (int i = LOG_LEVEL_DEBUG; i <= LOG_LEVEL_ERROR; i++)
        if (strcmp (env, s_names[i]) == 0) {
            s_level = (log_level_t) i;
            return 0;
        }
    return -1;
}

size_t
log_json_escape (char *dst, size_t size, const char *src)
{
    size_t n = 0;
    if (size == 0)
        return 0;
    const char *p = src;
    while (*p) {
        char tmp[8];
        const char *out = tmp;
        size_t len = 1, step = 1;
        unsigned char c = (unsigned char) *p;
        switch (c) {
            case '"':  out = "\\\""; len = 2; break;
            case '\\': out = "\\\\"; len = 2; break;
            case '\n': out = "\\n"; len = 2; break;
            case '\r': out = "\\r"; len = 2; break;
            case '\t': out = "\\t"; len = 2; break;
            default:
                if (c < 0x20)
                    len = (size_t) snprintf (tmp, sizeof tmp, "\\u%04x", c);
                else if (c < 0x80)
                    tmp[0] = (char) c;
                else if ((step = utf8_char (p)) > 0) {
                    out = p;
                    len = step;
                }
                else {      // bytes from the wire that are not UTF-8: U+FFFD
                    out = "\\ufffd";
                    len = 6;
                    step = 1;
                }
        }
        if (n + len >= size)
            break;
        memcpy (dst + n, out, len);
        n += len;
        p += step;
    }
    dst[n] = 0;
    return n;
}

const char *
log_u64 (char *buf, uint64_t value)
{
    snprintf (buf, 21, "%" PRIu64, value);
    return buf;
}

bool
log_enabled (log_level_t level)
{
    return level >= s_level;
}

void
log_write (log_level_t level, const char *msg, ...)
{
    if (level < s_level)
        return;
    char line[8192];
    char ts[32];
    int64_t now = clock_now_ms ();
    time_t secs = (time_t) (now / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    size_t n = (size_t) snprintf (line, sizeof line,
                                  "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"service\":\"%s\",\"msg\":\"",
                                  ts, (int) (now % 1000), s_names[level], s_service);
    n += log_json_escape (line + n, sizeof line - n - 64, msg);
    n += (size_t) snprintf (line + n, sizeof line - n, "\"");

    va_list ap;
    va_start (ap, msg);
    const char *key;
    while ((key = va_arg (ap, const char *)) != NULL) {
        const char *value = va_arg (ap, const char *);
        if (n + 8 + strlen (key) >= sizeof line - 64)
            break;
        n += (size_t) snprintf (line + n, sizeof line - n, ",\"%s\":", key);
        if (!value)
            n += (size_t) snprintf (line + n, sizeof line - n, "null");
        else {
            line[n++] = '"';
            n += log_json_escape (line + n, sizeof line - n - 8, value);
            line[n++] = '"';
        }
    }
    va_end (ap);
    snprintf (line + n, sizeof line - n, "}\n");
    fputs (line, stdout);
    fflush (stdout);
}
