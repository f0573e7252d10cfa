/*  cmd_task: crmctl's commands for the tasks service: task create,
    complete, comment, show and attachment; tasks (a person's list) and
    activities. The person acting is --as LOGIN, else $CRM_USER, else
    $USER (sent as Command.sender). Times are shown in the company's zone
    (CRM_TIME_ZONE, else CRM_TIMEZONE, else Europe/Moscow).
*/
#ifndef CRMCTL_CMD_TASK_H
#define CRMCTL_CMD_TASK_H

/*  The usage text of the three command groups. */
extern const char cmd_task_usage[];

/*  crmctl task SUBCOMMAND ...: argv[0] is "task". Returns an exit code. */
int cmd_task_run (int argc, char **argv);

/*  crmctl tasks ...: argv[0] is "tasks". Returns an exit code. */
int cmd_tasks_run (int argc, char **argv);

/*  crmctl activities ...: argv[0] is "activities". Returns an exit code. */
int cmd_activities_run (int argc, char **argv);

#endif
