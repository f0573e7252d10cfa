/*  cmd_timers: `crmctl timers`: the pending timers of the timer service,
    earliest first, optionally only one owner's or one key prefix's.
*/
#ifndef CRMCTL_CMD_TIMERS_H
#define CRMCTL_CMD_TIMERS_H

/*  The lines of `crmctl help` for this command. */
extern const char cmd_timers_usage[];

/*  Runs `crmctl timers ...`; argv[0] is "timers". Prints one line per
    pending timer and then "N pending" on stdout, errors on stderr. Returns
    the process exit code (CLI_EXIT_*). */
int cmd_timers_run (int argc, char **argv);

#endif
