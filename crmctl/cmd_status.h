/*  cmd_status: `crmctl status`: asks all five services at once how they
    are, and shows how far each consumer lags behind its sources.
*/
#ifndef CRMCTL_CMD_STATUS_H
#define CRMCTL_CMD_STATUS_H

/*  The lines of `crmctl help` for this command. */
extern const char cmd_status_usage[];

/*  Runs `crmctl status ...`; argv[0] is "status". Prints a table (or with
    --json one JSON object per service per line) on stdout and why a service
    is down on stderr. Returns CLI_EXIT_OK if every service answered,
    CLI_EXIT_FAIL if not, CLI_EXIT_USAGE on a bad option. */
int cmd_status_run (int argc, char **argv);

#endif
