/*  cmd_lead: `crmctl lead submit`: hands one lead to the leads service, as
    another system would, and says which lead it became. `crmctl lead move`
    and `lead show` are cmd_funnel's.
*/
#ifndef CRMCTL_CMD_LEAD_H
#define CRMCTL_CMD_LEAD_H

/*  The lines of `crmctl help` for this command. */
extern const char cmd_lead_usage[];

/*  Runs `crmctl lead ...`; argv[0] is "lead". Prints the result on stdout,
    errors on stderr. Returns the process exit code (CLI_EXIT_*). */
int cmd_lead_run (int argc, char **argv);

#endif
