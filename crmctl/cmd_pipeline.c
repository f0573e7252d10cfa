/*  cmd_pipeline: see cmd_pipeline.h. */
#include "cmd_pipeline.h"
#include "cli.h"
#include "config.h"
#include "pipeline.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CMD "pipeline check"

const char cmd_pipeline_usage[] =
    "  crmctl pipeline check [FILE...] [--staff STAFF_FILE]\n"
    "      Checks pipeline definitions (docs/pipelines.md) against the staff\n"
    "      directory as the services do on start: prints 'FILE: ok (...)' for each,\n"
    "      or the first mistake as 'FILE:LINE: problem' on stderr (exit 1). The\n"
    "      staff file is --staff, else CRM_STAFF_FILE, else staff.yaml beside FILE;\n"
    "      with no FILE only the staff file is checked. CRM_DURATIONS\n"
    "      (name=15s,...) and CRM_TIME_ZONE apply as they do for the services.\n";

//  The staff file for a definition: beside it unless told otherwise.
static void
s_staff_path (const char *given, const char *file, char *out, size_t size)
{
    if (given && *given) {
        snprintf (out, size, "%s", given);
        return;
    }
    const char *slash = strrchr (file, '/');
    if (slash)
        snprintf (out, size, "%.*s/staff.yaml", (int) (slash - file), file);
    else
        snprintf (out, size, "staff.yaml");
}

static int
s_check (const char *file, const char *staff_given)
{
    char err[1024] = "", staff_path[4096];
    s_staff_path (staff_given, file, staff_path, sizeof staff_path);
    staff_t *staff = staff_load (staff_path, config_str ("CRM_TIME_ZONE", NULL), err, sizeof err);
    if (!staff) {
        fprintf (stderr, "%s\n", err);
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_OK;
    if (!file) {
        printf ("%s: ok (staff: %zu people, time zone %s, lead assignment %s)\n", staff_path, staff->n_people,
                staff->time_zone, staff->lead_assignment);
        goto cleanup;
    }
    pipeline_t *p = pipeline_load (file, staff, config_str ("CRM_DURATIONS", NULL), err, sizeof err);
    if (!p) {
        fprintf (stderr, "%s\n", err);
        rc = CLI_EXIT_FAIL;
        goto cleanup;
    }
    printf ("%s: ok (pipeline %s «%s»: %zu stages, %zu fields, %zu rules)\n", file, p->id, p->name,
            p->n_stages, p->n_fields, p->n_rules);
    pipeline_destroy (&p);
cleanup:
    staff_destroy (&staff);
    return rc;
}

int
cmd_pipeline_run (int argc, char **argv)
{
    static const struct option options[] = {
        {"staff", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        if (argc < 2)
            return cli_usage_error ("pipeline", "which one? (known: check)");
        fputs ("usage:\n", stdout);
        fputs (cmd_pipeline_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp (argv[1], "check") != 0)
        return cli_usage_error ("pipeline", "unknown command '%s' (known: check)", argv[1]);
    argc--, argv++;
    const char *staff = config_str ("CRM_STAFF_FILE", NULL);
    bool staff_option = false;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 's':
                staff = optarg;
                staff_option = true;
                break;
            case 'h':
                fputs ("usage:\n", stdout);
                fputs (cmd_pipeline_usage, stdout);
                return CLI_EXIT_OK;
            default: return cli_option_error (CMD, c, argv);
        }
    }
    if (optind == argc && !staff_option && !staff)
        return cli_usage_error (CMD, "give a definition FILE, or --staff STAFF_FILE to check only that");
    if (optind == argc)
        return s_check (NULL, staff);
    int rc = CLI_EXIT_OK;
    for (int i = optind; i < argc; i++)
        if (s_check (argv[i], staff) != CLI_EXIT_OK)
            rc = CLI_EXIT_FAIL;
    return rc;
}
