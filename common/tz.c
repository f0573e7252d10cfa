/*  tz: see tz.h. */
#include "tz.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char s_zone[64] = "UTC";

int
tz_init (const char *zone, char *err, size_t err_size)
{
    //  glibc falls back to UTC, silently, for a zone it cannot find: check
    //  that tzdata has it, so a typo stops the service instead.
    char path[256];
    if (!zone || !*zone || strlen (zone) >= sizeof s_zone || strstr (zone, "..")) {
        snprintf (err, err_size, "time zone '%s' is not an IANA zone name", zone ? zone : "");
        return -1;
    }
    const char *dir = getenv ("TZDIR");
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    if (strcmp (zone, "UTC") != 0 && access (path, R_OK) != 0) {
        snprintf (err, err_size, "time zone '%s' is unknown (no %s; is tzdata installed?)", zone, path);
        return -1;
    }
    snprintf (s_zone, sizeof s_zone, "%s", zone);
    setenv ("TZ", zone, 1);
    tzset ();
    return 0;
}

int
tz_exists (const char *zone)
{
    char path[256];
    if (!zone || !*zone || strlen (zone) >= sizeof s_zone || strstr (zone, "..") || zone[0] == '/')
        return 0;
    if (strcmp (zone, "UTC") == 0)
        return 1;
    const char *dir = getenv ("TZDIR");
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    struct stat st;  // a region's directory ("Europe") is not a zone
    return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, R_OK) == 0;
}

const char *
tz_name (void)
{
    return s_zone;
}

//  Reads exactly n digits.
static bool
s_digits (const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) (*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool
s_char (const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

//  Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
//  (H. Hinnant's days_from_civil): UTC arithmetic without the process zone.
static int64_t
s_days (int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int
tz_parse (const char *text, int64_t *ms, char *err, size_t err_size)
{
    const char *p = text;
    int y, mo, d, h, mi, s = 0;
    while (isspace ((unsigned char) *p))
        p++;
    bool ok;
    if (isdigit ((unsigned char) p[0]) && isdigit ((unsigned char) p[1]) && p[2] == '.')
        ok = s_digits (&p, 2, &d) && s_char (&p, '.') && s_digits (&p, 2, &mo) && s_char (&p, '.')
          && s_digits (&p, 4, &y);
    else
        ok = s_digits (&p, 4, &y) && s_char (&p, '-') && s_digits (&p, 2, &mo) && s_char (&p, '-')
          && s_digits (&p, 2, &d);
    ok = ok && (s_char (&p, ' ') || s_char (&p, 'T')) && s_digits (&p, 2, &h) && s_char (&p, ':')
      && s_digits (&p, 2, &mi);
    if (ok && *p == ':')
        ok = s_char (&p, ':') && s_digits (&p, 2, &s);
    if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
        snprintf (err, err_size,
                  "'%s' is not a date and time: write YYYY-MM-DD HH:MM or DD.MM.YYYY HH:MM (%s), "
                  "or ISO 8601 with an offset",
                  text, s_zone);
        return -1;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap)) {
        snprintf (err, err_size, "'%s': there is no such day", text);
        return -1;
    }
    int64_t local_s = ((s_days (y, mo, d) * 24 + h) * 60 + mi) * 60 + s;
    if (*p == 'Z' || *p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh = 0, om = 0;
        if (*p++ != 'Z') {
            //  +HH:MM or +HHMM
            ok = s_digits (&p, 2, &oh) && (s_char (&p, ':'), s_digits (&p, 2, &om));
            if (!ok || oh > 23 || om > 59) {
                snprintf (err, err_size, "'%s': the offset must be Z or +HH:MM", text);
                return -1;
            }
        }
        while (isspace ((unsigned char) *p))
            p++;
        if (*p) {
            snprintf (err, err_size, "'%s': unexpected text after the time", text);
            return -1;
        }
        *ms = (local_s - (int64_t) sign * (oh * 3600 + om * 60)) * 1000;
        return 0;
    }
    while (isspace ((unsigned char) *p))
        p++;
    if (*p) {
        snprintf (err, err_size, "'%s': unexpected text after the time", text);
        return -1;
    }
    //  A local time: try standard and daylight time and keep the readings
    //  that map back to the same wall clock. None: skipped by a DST change.
    time_t best = 0;
    bool found = false;
    for (int isdst = 0; isdst <= 1; isdst++) {
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = mo - 1,
                        .tm_mday = d,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_sec = s,
                        .tm_isdst = isdst};
        time_t t = mktime (&tm);
        struct tm back;
        if (t == (time_t) -1 || !localtime_r (&t, &back))
            continue;
        if (back.tm_year == y - 1900 && back.tm_mon == mo - 1 && back.tm_mday == d && back.tm_hour == h
            && back.tm_min == mi && back.tm_sec == s && (!found || t < best)) {
            best = t;
            found = true;
        }
    }
    if (!found) {
        snprintf (err, err_size, "'%s' does not exist in %s (the clocks skip it)", text, s_zone);
        return -1;
    }
    *ms = (int64_t) best * 1000;
    return 0;
}

void
tz_format (int64_t ms, const char *fmt, char *out, size_t out_size)
{
    time_t t = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (out_size == 0)
        return;
    if (!localtime_r (&t, &tm) || strftime (out, out_size, fmt, &tm) == 0)
        out[0] = '\0';
}
