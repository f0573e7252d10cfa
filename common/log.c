/*  log: JSON-lines logging. See log.h. Each line is built by json-c; this
    file only decides what goes in it (and cuts it to size). */
#include "log.h"
#include "clock.h"
#include "utf8.h"

#include <json-c/json.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

static char s_service[32] = "crm";
static log_level_t s_level = LOG_LEVEL_INFO;
static const char *s_names[] = {"debug", "info", "warn", "error"};

//  Written instead of a line that json-c could not build (out of memory):
//  fixed, so that writing it needs no memory.
#define OUT_OF_MEMORY_LINE "{\"level\":\"error\",\"msg\":\"log: out of memory, a line was lost\"}\n"

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
            case '"':
                out = "\\\"";
                len = 2;
                break;
            case '\\':
                out = "\\\\";
                len = 2;
                break;
            case '\n':
                out = "\\n";
                len = 2;
                break;
            case '\r':
                out = "\\r";
                len = 2;
                break;
            case '\t':
                out = "\\t";
                len = 2;
                break;
            default:
                if (c < 0x20)
                    len = (size_t) snprintf (tmp, sizeof tmp, "\\u%04x", c);
                else if (c < 0x80)
                    tmp[0] = (char) c;
                else if ((step = utf8_char (p)) > 0) {
                    out = p;
                    len = step;
                }
                else {  // bytes from the wire that are not UTF-8: U+FFFD
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

//  A line is at most this long (newline included): a value past it is cut,
//  so that one runaway value cannot flood the log.
#define LINE_MAX_BYTES 8192

//  What json-c makes of a byte in a string (json_escape_str in json-c 0.16,
//  with JSON_C_TO_STRING_NOSLASHESCAPE): its length in the written line.
static size_t
s_escaped_len (unsigned char c)
{
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
        return 2;
    return c < 0x20 ? 6 : 1;
}

//  Copies src into buf (size bytes) for json-c: bytes that are not UTF-8
//  (from the wire) become U+FFFD, since json-c passes bytes through as they
//  are and the line must stay valid UTF-8; stops between characters before
//  the escaped text would pass *budget bytes, and takes what it used from
//  *budget. Returns the length copied.
static size_t
s_clean (char *buf, size_t size, const char *src, size_t *budget)
{
    static const char replacement[] = "\xef\xbf\xbd";
    size_t n = 0, cost = 0;
    for (const char *p = src; *p;) {
        unsigned char c = (unsigned char) *p;
        const char *from = p;
        size_t len = 1, step = 1, escaped = 1;
        if (c < 0x80)
            escaped = s_escaped_len (c);
        else if ((step = utf8_char (p)) > 0)
            len = escaped = step;
        else {
            from = replacement;
            len = escaped = 3;
            step = 1;
        }
        if (cost + escaped > *budget || n + len > size)
            break;
        memcpy (buf + n, from, len);
        n += len;
        cost += escaped;
        p += step;
    }
    *budget -= cost;
    return n;
}

//  Adds key: value (NULL: null) to line, cut to *budget; 0 or -1 when out
//  of memory. key must outlive line (json-c keeps the pointer).
static int
s_add (json_object *line, const char *key, const char *value, size_t *budget)
{
    //  "key":"value", (or "key":null,) around the escaped texts.
    size_t key_cost = value ? 6 : 8;
    for (const char *p = key; *p; p++)
        key_cost += s_escaped_len ((unsigned char) *p);
    if (key_cost > *budget)
        return 1;
    *budget -= key_cost;
    json_object *item = NULL;
    if (value) {
        static char scratch[LINE_MAX_BYTES];
        size_t len = s_clean (scratch, sizeof scratch, value, budget);
        if (!(item = json_object_new_string_len (scratch, (int) len)))
            return -1;
    }
    if (json_object_object_add_ex (line, key, item,
                                   JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)
        != 0) {
        json_object_put (item);
        return -1;
    }
    return 0;
}

void
log_write (log_level_t level, const char *msg, ...)
{
    if (level < s_level)
        return;
    char ts[40];
    int64_t now = clock_now_ms ();
    time_t secs = (time_t) (now / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    size_t n = strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (ts + n, sizeof ts - n, ".%03dZ", (int) (now % 1000));

    //  Room for the braces and the newline.
    size_t budget = LINE_MAX_BYTES - 3;
    json_object *line = json_object_new_object ();
    int rc = line ? 0 : -1;
    if (rc == 0)
        rc = s_add (line, "ts", ts, &budget);
    if (rc == 0)
        rc = s_add (line, "level", s_names[level], &budget);
    if (rc == 0)
        rc = s_add (line, "service", s_service, &budget);
    if (rc == 0)
        rc = s_add (line, "msg", msg, &budget);
    va_list ap;
    va_start (ap, msg);
    const char *key;
    while (rc == 0 && (key = va_arg (ap, const char *)) != NULL) {
        const char *value = va_arg (ap, const char *);
        rc = s_add (line, key, value, &budget);
    }
    va_end (ap);
    const char *text =
        rc >= 0
            ? json_object_to_json_string_ext (line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
            : NULL;
    if (text) {
        fputs (text, stdout);
        fputc ('\n', stdout);
    }
    else
        fputs (OUT_OF_MEMORY_LINE, stdout);
    fflush (stdout);
    json_object_put (line);
}
