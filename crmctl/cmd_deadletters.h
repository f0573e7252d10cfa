/*  cmd_deadletters: `crmctl deadletters`: the dead letters of one service
    or of all five (command ListDeadLetters), and `crmctl deadletters retry
    ID --service S`, which has S apply one again (RetryDeadLetter) once
    its cause is fixed.
*/
#ifndef CRMCTL_CMD_DEADLETTERS_H
#define CRMCTL_CMD_DEADLETTERS_H

/*  The lines of `crmctl help` for this command. */
extern const char cmd_deadletters_usage[];

/*  Runs `crmctl deadletters ...`; argv[0] is "deadletters". Lists on
    stdout (a table, or one JSON object per line), errors on stderr.
    Returns the process exit code (CLI_EXIT_*): 1 when a service did not
    answer or a retry was refused. */
int cmd_deadletters_run (int argc, char **argv);

#endif
