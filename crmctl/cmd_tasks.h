/*  cmd_tasks: crmctl's reads of the tasks service: task show, task
    attachment, tasks (a list) and activities. Usage text in cmd_task.h.
    Each returns an exit code (cli.h).
*/
#ifndef CRMCTL_CMD_TASKS_H
#define CRMCTL_CMD_TASKS_H

/*  crmctl task show ID [--json]: argv[0] is "show". */
int cmd_tasks_show_run (int argc, char **argv);

/*  crmctl task attachment ID NAME -o FILE: argv[0] is "attachment". */
int cmd_tasks_attachment_run (int argc, char **argv);

/*  crmctl tasks [--user U] [--open] [--record R] [--limit N] [--json]. */
int cmd_tasks_list_run (int argc, char **argv);

/*  crmctl activities --user U [--all] [--limit N] [--json]. */
int cmd_tasks_activities_run (int argc, char **argv);

#endif
