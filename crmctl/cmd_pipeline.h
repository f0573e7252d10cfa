/*  cmd_pipeline: `crmctl pipeline check`: loads pipeline definitions and
    the staff directory exactly as the services do on start, so that a
    mistake shows up before a deploy instead of stopping a service.
*/
#ifndef CRMCTL_CMD_PIPELINE_H
#define CRMCTL_CMD_PIPELINE_H

/*  The lines of `crmctl help` for this command. */
extern const char cmd_pipeline_usage[];

/*  Runs `crmctl pipeline ...`; argv[0] is "pipeline". Prints "FILE: ok
    (...)" per file on stdout, or the first mistake as "FILE:LINE: problem"
    on stderr. Returns CLI_EXIT_OK, CLI_EXIT_FAIL (a file does not load) or
    CLI_EXIT_USAGE. */
int cmd_pipeline_run (int argc, char **argv);

#endif
