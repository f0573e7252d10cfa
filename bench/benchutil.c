/*  benchutil: see benchutil.h. */
#include "benchutil.h"

#define BENCHUTIL_OPTIONS_MAX 16  // options a bench program has, at most

#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double
benchutil_real_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

int64_t
benchutil_real_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  Parses text as a decimal integer from min to max into *out; 0, or -1
//  with a message on stderr.
static int
s_long (const char *prog, const char *name, const char *text, long min, long max, long *out)
{
    char *end;
    long n = strtol (text, &end, 10);
    if (!*text || *end || n < min || n > max) {
        fprintf (stderr, "%s: --%s must be an integer from %ld to %ld\n", prog, name, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

int
benchutil_parse (const char *prog, const char *usage, const benchutil_option_t *options, int argc,
                 char **argv)
{
    struct option longs[BENCHUTIL_OPTIONS_MAX + 2];
    int n = 0;
    for (; options[n].name; n++) {
        assert (n < BENCHUTIL_OPTIONS_MAX);
        longs[n] =
            (struct option){options[n].name, options[n].flag ? no_argument : required_argument, NULL, 0};
    }
    longs[n] = (struct option){"help", no_argument, NULL, 'h'};
    longs[n + 1] = (struct option){NULL, 0, NULL, 0};
    int c, index = 0;
    while ((c = getopt_long (argc, argv, "h", longs, &index)) != -1) {
        if (c == 'h') {
            fputs (usage, stdout);
            return -1;
        }
        if (c != 0) {
            fputs (usage, stderr);
            return 2;
        }
        const benchutil_option_t *o = &options[index];
        if (o->flag)
            *o->flag = true;
        else if (o->string)
            *o->string = optarg;
        else if (s_long (prog, o->name, optarg, o->min, o->max, o->integer))
            return 2;
    }
    if (optind < argc) {
        fprintf (stderr, "%s: unexpected argument '%s'\n%s", prog, argv[optind], usage);
        return 2;
    }
    return 0;
}
