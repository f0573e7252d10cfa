/*  benchutil: the small helpers the bench programs need alike: wall
    clocks in the units the benches report (monotonic time: clock.h), and
    integer options checked against their range.
*/
#ifndef CRM_BENCH_BENCHUTIL_H
#define CRM_BENCH_BENCHUTIL_H

#include <stdbool.h>
#include <stdint.h>

/*  Wall-clock time in ms, with its fraction (CLOCK_REALTIME): to compare
    with the whole-ms stamps services put in events. */
double benchutil_real_ms (void);

/*  Wall-clock time in µs (CLOCK_REALTIME): to compare with another
    process's readings of the same clock. */
int64_t benchutil_real_us (void);

/*  One option of a bench program: --name with a decimal integer from min
    to max (integer set), a string (string set: the argument, owned by
    argv) or nothing (flag set: made true). */
typedef struct {
    const char *name;
    long *integer;
    long min, max;
    const char **string;
    bool *flag;
} benchutil_option_t;

/*  Parses argv by options (terminated by an entry with name NULL; --help
    is added). Returns 0; -1 after printing usage on stdout (--help); 2
    after a message and usage on stderr (an unknown option, an integer out
    of range or not one, an argument that is no option). Messages start
    with "<prog>: ". */
int benchutil_parse (const char *prog, const char *usage, const benchutil_option_t *options, int argc,
                     char **argv);

#endif
