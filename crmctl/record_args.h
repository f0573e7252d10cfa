/*  record_args: the command lines of the commands on records, leads and
    deals: those that move one along its pipeline, `lead move`, `deal move`
    and `deal lose`,

        ID STAGE [--set FIELD=VALUE ...] [--version N] [--as LOGIN] [--timeout MS]
        ID --reason TEXT [--version N] [--as LOGIN] [--timeout MS]   (deal lose)

    and the lists, `leads`, `deals` (and `contacts`, `companies`),

        [--stage S] [--user U] [--limit N] [--json] [--timeout MS]

    parsed alike for both, with the same messages (cli.h), so that each
    command only builds its own request from them.
*/
#ifndef CRMCTL_RECORD_ARGS_H
#define CRMCTL_RECORD_ARGS_H

#include "cli.h"

#include <stdint.h>

#define RECORD_ARGS_SET_MAX 64  // --set options at most

typedef enum {
    RECORD_ARGS_LEAD,      // lead move: ID STAGE, --set
    RECORD_ARGS_DEAL,      // deal move: ID STAGE, --set (--reason refused)
    RECORD_ARGS_DEAL_LOSE  // deal lose: ID, --reason (--set refused)
} record_args_kind_t;

typedef struct {
    uint64_t id;                                    // the record's
    const char *stage;                              // the stage to move to (from argv); NULL for lose
    const char *reason;                             // --reason (from argv); NULL if not given
    uint32_t version;                               // --version; 0: any
    const char *sender;                             // --as, else $CRM_USER; NULL: the client's default
    long timeout_ms;                                // --timeout (ms)
    Crm__V1__FieldValue *set[RECORD_ARGS_SET_MAX];  // the --set fields, n_set of them
    size_t n_set;
    int rc;  // the exit code when record_args_move returned -1
    Crm__V1__FieldValue values[RECORD_ARGS_SET_MAX];
    char *names[RECORD_ARGS_SET_MAX];  // the fields' names, owned
} record_args_t;

/*  Parses argc, argv (argv[0] the command's last word) for command (e.g.
    "deal move", in messages) of kind into self, with timeout_ms the default
    --timeout (ms) and usage what --help prints. Returns 0, or -1 when the
    command is to return self->rc (help printed, or a mistake said on
    stderr). Either way the caller calls record_args_release (self) after;
    self's texts point into argv. */
int record_args_move (record_args_t *self, record_args_kind_t kind, const char *command, const char *usage,
                      long timeout_ms, int argc, char **argv);

/*  Parses a list's options into args (args->limit_max and the default
    args->timeout_ms set by the caller) and --stage, --user into *stage,
    *user (left as they are when not given; from argv). stage_user: the
    list has them (else they are a usage error). Returns 0, or -1 when the
    command is to return args->rc. */
int record_args_list (cli_args_t *args, bool stage_user, int argc, char **argv, char **stage, char **user);

/*  Frees what record_args_move allocated in self (the --set names). */
void record_args_release (record_args_t *self);

#endif
