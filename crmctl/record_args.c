/*  record_args: see record_args.h. */
#include "record_args.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

enum { O_SET = 256, O_REASON, O_VERSION, O_AS, O_STAGE, O_USER };

//  Adds "FIELD=VALUE" to self's fields. Returns CLI_EXIT_OK or the exit code.
static int
s_add_set (record_args_t *self, const char *command, const char *arg)
{
    const char *eq = strchr (arg, '=');
    if (!eq || eq == arg)
        return cli_usage_error (command, "--set wants FIELD=VALUE, got '%s'", arg);
    if (self->n_set == RECORD_ARGS_SET_MAX)
        return cli_usage_error (command, "at most %d --set", RECORD_ARGS_SET_MAX);
    char *name = strndup (arg, (size_t) (eq - arg));
    if (!name)
        return CLI_EXIT_FAIL;
    Crm__V1__FieldValue *value = &self->values[self->n_set];
    crm__v1__field_value__init (value);
    value->name = self->names[self->n_set] = name;
    value->value = (char *) eq + 1;
    self->set[self->n_set++] = value;
    return CLI_EXIT_OK;
}

//  Handles option c of kind. Returns CLI_EXIT_OK or the exit code.
static int
s_option (record_args_t *self, record_args_kind_t kind, const char *command, int c, const char *arg)
{
    long version;
    switch (c) {
        case O_SET:
            if (kind == RECORD_ARGS_DEAL_LOSE)
                return cli_usage_error (command, "--set is for 'deal move' (the reason: --reason)");
            return s_add_set (self, command, arg);
        case O_REASON:
            self->reason = arg;
            if (kind != RECORD_ARGS_DEAL_LOSE)
                return cli_usage_error (command, "--reason is for 'deal lose'");
            return CLI_EXIT_OK;
        case O_VERSION:
            if (cli_parse_long (arg, 1, UINT32_MAX, &version))
                return cli_usage_error (command, "--version wants a version number, got '%s'", arg);
            self->version = (uint32_t) version;
            return CLI_EXIT_OK;
        default: self->sender = arg; return CLI_EXIT_OK;  // O_AS
    }
}

int
record_args_move (record_args_t *self, record_args_kind_t kind, const char *command, const char *usage,
                  long timeout_ms, int argc, char **argv)
{
    //  --reason only where deals are moved: for leads it is no option at all.
    static const struct option lead_options[] = {{"set", required_argument, NULL, O_SET},
                                                 {"version", required_argument, NULL, O_VERSION},
                                                 {"as", required_argument, NULL, O_AS},
                                                 CLI_OPTIONS_COMMON};
    static const struct option deal_options[] = {{"set", required_argument, NULL, O_SET},
                                                 {"reason", required_argument, NULL, O_REASON},
                                                 {"version", required_argument, NULL, O_VERSION},
                                                 {"as", required_argument, NULL, O_AS},
                                                 CLI_OPTIONS_COMMON};
    memset (self, 0, sizeof *self);
    self->sender = config_str ("CRM_USER", NULL);
    bool lose = kind == RECORD_ARGS_DEAL_LOSE;
    cli_args_t args = {.command = command, .usage = usage, .timeout_ms = timeout_ms};
    int c;
    while ((c = cli_option (&args, argc, argv, kind == RECORD_ARGS_LEAD ? lead_options : deal_options)) > 0)
        if ((self->rc = s_option (self, kind, command, c, optarg)) != CLI_EXIT_OK)
            return -1;
    if (c < 0) {
        self->rc = args.rc;
        return -1;
    }
    self->timeout_ms = args.timeout_ms;
    if (argc - optind != (lose ? 1 : 2))
        self->rc = cli_usage_error (command, lose ? "wants one ID" : "wants ID and STAGE");
    else if (lose && (!self->reason || !*self->reason))
        self->rc = cli_usage_error (command, "wants --reason TEXT: why the deal failed");
    else
        self->rc =
            cli_parse_id (command, kind == RECORD_ARGS_LEAD ? "lead" : "deal", argv[optind], &self->id);
    self->stage = lose || self->rc ? NULL : argv[optind + 1];
    return self->rc == CLI_EXIT_OK ? 0 : -1;
}

int
record_args_list (cli_args_t *args, bool stage_user, int argc, char **argv, char **stage, char **user)
{
    static const struct option options[] = {{"stage", required_argument, NULL, O_STAGE},
                                            {"user", required_argument, NULL, O_USER},
                                            CLI_OPTION_LIMIT,
                                            CLI_OPTION_JSON,
                                            CLI_OPTIONS_COMMON};
    args->no_operands = true;
    int c;
    while ((c = cli_option (args, argc, argv, options)) > 0) {
        if (!stage_user) {
            args->rc = cli_usage_error (args->command, "--stage and --user are for 'crmctl leads'");
            return -1;
        }
        *(c == O_STAGE ? stage : user) = optarg;
    }
    return c;
}

void
record_args_release (record_args_t *self)
{
    for (size_t i = 0; i < self->n_set; i++)
        free (self->names[i]);
    self->n_set = 0;
}
