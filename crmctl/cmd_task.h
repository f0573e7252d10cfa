/*  cmd_task: crmctl's commands for the tasks service: task create,
    complete and comment (the changes, here), task show and attachment,
    tasks and activities (the reads, cmd_tasks.h). The person acting is
    --as LOGIN, else $CRM_USER, else $USER (sent as Command.sender). Times
    are shown in the company's zone (task_print_zone).
*/
#ifndef CRMCTL_CMD_TASK_H
#define CRMCTL_CMD_TASK_H

#include <stdint.h>

/*  The usage text of crmctl task, tasks and activities. */
extern const char cmd_task_usage[];

/*  crmctl task SUBCOMMAND ...: argv[0] is "task". Returns an exit code. */
int cmd_task_run (int argc, char **argv);

/*  Prints the usage on stdout; returns CLI_EXIT_OK. */
int cmd_task_help (void);

/*  Parses a task number into *id. Returns 0, or CLI_EXIT_USAGE after
    saying why (cmd: e.g. "task show"). */
int cmd_task_parse_id (const char *cmd, const char *text, uint64_t *id);

#endif
