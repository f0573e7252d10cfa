/*  move_args: the command line of the commands that move a record along its
    pipeline, `lead move`, `deal move` and `deal lose`:

        ID STAGE [--set FIELD=VALUE ...] [--version N] [--as LOGIN] [--timeout MS]
        ID --reason TEXT [--version N] [--as LOGIN] [--timeout MS]   (deal lose)

    parsed alike for both, with the same messages (cli.h), so that each
    command only builds its own request from them.
*/
#ifndef CRMCTL_MOVE_ARGS_H
#define CRMCTL_MOVE_ARGS_H

#include "cli.h"

#include <stdint.h>

#define MOVE_ARGS_SET_MAX 64  // --set options at most

typedef enum {
    MOVE_ARGS_LEAD,      // lead move: ID STAGE, --set
    MOVE_ARGS_DEAL,      // deal move: ID STAGE, --set (--reason refused)
    MOVE_ARGS_DEAL_LOSE  // deal lose: ID, --reason (--set refused)
} move_args_kind_t;

typedef struct {
    uint64_t id;                                  // the record's
    const char *stage;                            // the stage to move to (from argv); NULL for lose
    const char *reason;                           // --reason (from argv); NULL if not given
    uint32_t version;                             // --version; 0: any
    const char *sender;                           // --as, else $CRM_USER; NULL: the client's default
    long timeout_ms;                              // --timeout (ms)
    Crm__V1__FieldValue *set[MOVE_ARGS_SET_MAX];  // the --set fields, n_set of them
    size_t n_set;
    int rc;  // the exit code when move_args_parse returned -1
    Crm__V1__FieldValue values[MOVE_ARGS_SET_MAX];
    char *names[MOVE_ARGS_SET_MAX];  // the fields' names, owned
} move_args_t;

/*  Parses argc, argv (argv[0] the command's last word) for command (e.g.
    "deal move", in messages) of kind into self, with timeout_ms the default
    --timeout (ms) and usage what --help prints. Returns 0, or -1 when the
    command is to return self->rc (help printed, or a mistake said on
    stderr). Either way the caller calls move_args_release (self) after;
    self's texts point into argv. */
int move_args_parse (move_args_t *self, move_args_kind_t kind, const char *command, const char *usage,
                     long timeout_ms, int argc, char **argv);

/*  Frees what move_args_parse allocated in self (the --set names). */
void move_args_release (move_args_t *self);

#endif
