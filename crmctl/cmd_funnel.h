/*  cmd_funnel: the lead funnel from the command line: `crmctl lead move`
    and `crmctl lead show` (reached through `crmctl lead`), and the lists
    `crmctl leads`, `crmctl contacts`, `crmctl companies`. Refusals are
    printed with their code, message and fields (exit status 1).
*/
#ifndef CRMCTL_CMD_FUNNEL_H
#define CRMCTL_CMD_FUNNEL_H

/*  The lines of `crmctl help` for these commands. */
extern const char cmd_funnel_usage[];

/*  `crmctl lead move ...` and `crmctl lead show ...`; argv[0] is "move" or
    "show". Return the process exit code (CLI_EXIT_*). */
int cmd_funnel_move_run (int argc, char **argv);
int cmd_funnel_show_run (int argc, char **argv);

/*  `crmctl leads|contacts|companies ...`; argv[0] is the command. */
int cmd_funnel_list_run (int argc, char **argv);

#endif
