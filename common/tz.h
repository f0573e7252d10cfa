/*  tz: the company's time zone. People enter and read times in it; the
    system stores and computes in UTC (ms since the epoch), so "15 minutes
    before" is 15 real minutes, also across a daylight-saving change.

    The zone is the process's TZ (one company per process), set once by
    tz_init from the staff directory or CRM_TIME_ZONE; the conversions use
    the C library's tzdata (tzset, localtime_r, mktime: POSIX.1-2017).
*/
#ifndef CRM_TZ_H
#define CRM_TZ_H

#include <stddef.h>
#include <stdint.h>

/*  Makes zone (IANA name, e.g. "Europe/Berlin") the process's time zone.
    Returns 0, or -1 with why in err (err_size bytes) when tzdata has no
    such zone. */
int tz_init (const char *zone, char *err, size_t err_size);

/*  1 when tzdata has zone (an IANA name; "UTC" always), else 0. Leaves
    the process's zone alone: for checking a configuration. */
int tz_exists (const char *zone);

/*  The zone set by tz_init ("UTC" before). */
const char *tz_name (void);

/*  Parses a moment as people type it: "2026-12-01 15:30[:SS]" or
    "01.12.2026 15:30" in the company's zone, or ISO 8601 with an explicit
    offset ("2026-12-01T15:30:00+01:00", "...Z"). A local time that does not
    exist (skipped by a daylight-saving change) is refused; one that occurs
    twice (clocks turned back) means the first, unless an offset is given.
    Returns 0 with *ms (UTC), or -1 with why in err. */
int tz_parse (const char *text, int64_t *ms, char *err, size_t err_size);

/*  Writes ms (UTC) in the company's zone with strftime format fmt (e.g.
    "%d.%m.%Y %H:%M") into out (out_size bytes). */
void tz_format (int64_t ms, const char *fmt, char *out, size_t out_size);

#endif
