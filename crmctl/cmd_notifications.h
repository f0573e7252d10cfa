/*  cmd_notifications: `crmctl notifications`: what the notifier has stored
    for one user (the in-app inbox), newest as the notifier orders them; and
    `crmctl notification read ID`: marking one read.
*/
#ifndef CRMCTL_CMD_NOTIFICATIONS_H
#define CRMCTL_CMD_NOTIFICATIONS_H

/*  The lines of `crmctl help` for this command. */
extern const char cmd_notifications_usage[];

/*  Runs `crmctl notifications ...`; argv[0] is "notifications". Prints one
    line per notification on stdout, errors on stderr. Returns the process
    exit code (CLI_EXIT_*). */
int cmd_notifications_run (int argc, char **argv);

/*  Runs `crmctl notification read ID [--as LOGIN]`; argv[0] is
    "notification". Returns the process exit code (CLI_EXIT_*). */
int cmd_notification_run (int argc, char **argv);

#endif
