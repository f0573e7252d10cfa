/*  cmd_deal: the deal pipeline from the command line: `crmctl deal move`,
    `crmctl deal lose`, `crmctl deal show` and the list `crmctl deals`.
    Refusals are printed with their code, message and fields (exit status
    1).
*/
#ifndef CRMCTL_CMD_DEAL_H
#define CRMCTL_CMD_DEAL_H

/*  The lines of `crmctl help` for these commands. */
extern const char cmd_deal_usage[];

/*  `crmctl deal move|lose|show ...`; argv[0] is "deal". Returns the process
    exit code (CLI_EXIT_*). */
int cmd_deal_run (int argc, char **argv);

/*  `crmctl deals ...`; argv[0] is "deals". */
int cmd_deal_list_run (int argc, char **argv);

#endif
