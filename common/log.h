/*  log: one JSON object per line on stdout, for operators to grep and ship.

    Every line has ts (UTC, ms), level, service and msg, then the ids the
    caller names: log_info ("lead stored", "lead_id", "42", NULL). Lines are
    built by json-c (JSON: RFC 8259), keys in the order given; the level
    comes from CRM_LOG_LEVEL (debug, info, warn, error).
*/
#ifndef CRM_LOG_H
#define CRM_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;

/*  Sets the service name put on every line and reads CRM_LOG_LEVEL.
    service is copied (at most 31 bytes). Returns 0, or -1 if CRM_LOG_LEVEL
    is set to an unknown level (the level then stays info). */
int log_init (const char *service);

/*  Writes one line if level is enabled, and flushes stdout. msg is the human
    text; after it come key/value string pairs, ended by NULL. A NULL value
    writes JSON null. Bytes that are not UTF-8 are written as U+FFFD. Lines
    are at most 8 KiB: a longer text is cut between characters, and pairs
    past the limit are left out (the msg keeps its place). When memory runs
    out the line is lost and a fixed line, {"level":"error","msg":"log: out
    of memory, a line was lost"}, is written instead: logging never stops the
    service. Thread-unsafe by design: each service is one thread. */
void log_write (log_level_t level, const char *msg, ...);

#define log_debug(...) log_write (LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_write (LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_write (LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write (LOG_LEVEL_ERROR, __VA_ARGS__)

/*  true if a line at level would be written: lets a caller skip building
    the values of a line nobody will see (e.g. one per event at debug). */
bool log_enabled (log_level_t level);

/*  Formats an unsigned integer into buf (at least 21 bytes) and returns buf,
    so that numbers can go into log_write's string pairs. */
const char *log_u64 (char *buf, uint64_t value);

/*  Escapes src as the inside of a JSON string into dst (size bytes, always
    NUL-terminated, cut if too short, between escapes and characters; bytes
    that are not UTF-8 become \ufffd). Returns the length written. Kept for
    crmctl's output, which is still written by hand; new JSON is json-c's. */
size_t log_json_escape (char *dst, size_t size, const char *src);

#endif
