/*  cli: what crmctl's commands share: exit codes, option parsing, reaching
    a service, and printing times the way operators read them.

    Messages for people go to stderr prefixed "crmctl <command>: "; results
    go to stdout, so that scripts can pipe one without the other.
*/
#ifndef CRMCTL_CLI_H
#define CRMCTL_CLI_H

#include "client.h"
#include "crm/v1/leads.pb-c.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CLI_EXIT_OK = 0,    // done; for status: every service answered
    CLI_EXIT_FAIL = 1,  // refused, no answer, or a service down
    CLI_EXIT_USAGE = 2  // unknown command, bad or missing option
};

/*  Prints "crmctl <command>: <message>" and a hint to run crmctl help on
    stderr. command is e.g. "lead submit". Returns CLI_EXIT_USAGE, so that a
    command can `return cli_usage_error (...)`. */
int cli_usage_error (const char *command, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  Prints "crmctl <command>: <message>" on stderr. */
void cli_error (const char *command, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  Reports what getopt_long returned for a bad option (c is '?' or ':',
    optstring started with ':'); argv is the one given to getopt_long.
    Returns CLI_EXIT_USAGE. */
int cli_option_error (const char *command, int c, char **argv);

/*  Parses text as a decimal integer in [min, max] into *out. Returns 0, or
    -1 (with *out untouched) if it is not one. */
int cli_parse_long (const char *text, long min, long max, long *out);

/*  Prints "usage:" and usage (a command's lines of `crmctl help`) on
    stdout. Returns CLI_EXIT_OK. */
int cli_help (const char *usage);

//  ---------------------------------------------------------------- options
//  The options many commands take, parsed in one place so that they read
//  and answer alike everywhere. A command lists them in its getopt_long
//  table with the CLI_OPTION_* entries; its own options take values from
//  256 up (or a short option's letter).

enum {
    CLI_OPT_JSON = 0x1000,  // --json: print JSON for scripts
    CLI_OPT_TIMEOUT,        // --timeout MS (1 ms to 24 h)
    CLI_OPT_LIMIT           // --limit N (1 to limit_max)
};
// clang-format off
#define CLI_OPTION_JSON {"json", no_argument, NULL, CLI_OPT_JSON}
#define CLI_OPTION_TIMEOUT {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT}
#define CLI_OPTION_LIMIT {"limit", required_argument, NULL, CLI_OPT_LIMIT}
#define CLI_OPTION_HELP {"help", no_argument, NULL, 'h'}
#define CLI_OPTION_END {NULL, 0, NULL, 0}
//  What ends every table: --timeout, --help and the terminator.
#define CLI_OPTIONS_COMMON CLI_OPTION_TIMEOUT, CLI_OPTION_HELP, CLI_OPTION_END
// clang-format on

typedef struct {
    const char *command;    // in messages, e.g. "deal show"
    const char *usage;      // what --help prints (cli_help)
    const char *optstring;  // getopt_long's; NULL: ":h"
    bool no_operands;       // the command takes options only
    long limit_max;         // the largest --limit
    long timeout_ms;        // --timeout (ms); the caller sets the default
    long limit;             // --limit; 0 when not given
    bool json;              // --json given
    int rc;                 // the exit code when cli_option returned -1
    bool started;           // getopt_long restarted (optind reset)
} cli_args_t;

/*  Parses argv's options (argc, argv as main's, argv[0] the command's last
    word) with getopt_long and options, the common ones into args. Returns
    the value of the next option the command handles itself (optarg set as
    getopt_long leaves it), 0 when no option is left (optind: the first
    operand), or -1 when the command is to return args->rc: --help printed
    the usage (CLI_EXIT_OK), or an option was wrong, or an operand given
    where args->no_operands (CLI_EXIT_USAGE, said on stderr). */
int cli_option (cli_args_t *args, int argc, char **argv, const struct option *options);

/*  Returns CLI_EXIT_OK when argv holds nothing from index first on, else
    says "unexpected argument" about argv[first] and returns the usage
    error. */
int cli_no_more (const char *command, int argc, char **argv, int first);

/*  Creates a client for the command endpoint of service ("leads", ...),
    found through CRM_<NAME>_HOST/PORT. Returns a client owned by the
    caller, or NULL (after printing why on stderr). */
client_t *cli_client (const char *command, const char *service);

/*  Prints that service did not answer client within timeout_ms (ms) and
    whether crm-<service> runs; then, unless hint is NULL, "(<hint> whether
    it was done)". */
void cli_no_answer (const char *command, const char *service, client_t *client, long timeout_ms,
                    const char *hint);

/*  Sends one command of type with payload to service, as sender (NULL: the
    client's default, $USER), and waits up to timeout_ms (ms) for its reply:
    one attempt, for reads and for changes that may simply be run again.
    Returns 0 with *reply_p owned by the caller (free with
    crm__v1__reply__free_unpacked; it may carry an error), or -1 after
    printing why on stderr (no such service, or no answer in time). */
int cli_query (const char *command, const char *service, const char *type, const ProtobufCMessage *payload,
               const char *sender, long timeout_ms, Crm__V1__Reply **reply_p);

/*  Prints reply's refusal, "CODE: message (fields: ...)", on stderr.
    Returns CLI_EXIT_FAIL. */
int cli_refused (const char *command, const Crm__V1__Reply *reply);

/*  A read: cli_query, then cli_unpack_reply of the answer descriptor says
    (its type is the message's short name) into *out. Returns CLI_EXIT_OK
    with *out owned by the caller (protobuf_c_message_free_unpacked), or
    CLI_EXIT_FAIL after printing why (*out NULL). */
int cli_fetch (const char *command, const char *service, const char *type, const ProtobufCMessage *payload,
               long timeout_ms, const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out);

/*  Formats time_ms (ms since the epoch, UTC) in the company time zone,
    CRM_TIME_ZONE (default Europe/Moscow), as "2026-11-30 14:05 MSK" into buf
    (size bytes). Sets TZ for the process on first use. Returns buf; "-"
    for time_ms 0. */
const char *cli_format_time (int64_t time_ms, char *buf, size_t size);

//  ---------------------------------------------------------------- records
//  What the commands on leads and deals share (cmd_funnel, cmd_deal).

/*  Prints text on stdout as a JSON string (quoted, escaped; at most 32 KiB). */
void cli_json_string (const char *text);

/*  Prints ", \"key\": " and the JSON string of text for each of n keys and
    texts, on stdout. */
void cli_json_pairs (const char *const *keys, const char *const *texts, size_t n);

/*  A listing of n items on stdout: "[" before a JSON array, or the line
    none when there is nothing to list; after it, "]" and a line end for
    JSON. */
void cli_list_begin (bool json, size_t n, const char *none);
void cli_list_end (bool json);

/*  Prints text on stdout as one line of a listing: "-" when empty, control
    characters as spaces. */
void cli_put_line (const char *text);

/*  Ends a line of a listing on stdout with n texts as cli_put_line prints
    them, two spaces apart, and the line end. */
void cli_put_row (const char *const *texts, size_t n);

/*  Formats time_ms (ms UTC) as "YYYY-MM-DD HH:MM:SS" in zone (the service's:
    the company's) into buf (size bytes) when this host's tzdata has it,
    else as cli_format_time does. The first zone given is the one used.
    Returns buf. */
const char *cli_zone_time (int64_t time_ms, const char *zone, char *buf, size_t size);

/*  A lead's or deal's parts, as `lead show` and `deal show` print them on
    stdout: its fields ("  name: display" lines, "  -" for none, or a JSON
    object name -> {value, display}) and its history ("  when  actor  rule
    action: detail" lines under "history (ZONE):", or a JSON array of
    {at_ms, at, actor, rule, action, detail}), times in zone. */
void cli_fields_text (Crm__V1__FieldValue *const *fields, size_t n);
void cli_fields_json (Crm__V1__FieldValue *const *fields, size_t n);
void cli_history_text (Crm__V1__HistoryEntry *const *history, size_t n, const char *zone);
void cli_history_json (Crm__V1__HistoryEntry *const *history, size_t n, const char *zone);

/*  `crmctl lead show` and `crmctl deal show`: ID [--json] [--timeout MS]. */
typedef struct {
    const char *command;                            // e.g. "deal show"
    const char *usage;                              // what --help prints
    const char *what;                               // the record, "lead" or "deal"
    const char *service;                            // that answers, e.g. "deals"
    const char *type;                               // of the request, e.g. "ShowDeal"
    const ProtobufCMessageDescriptor *answer;       // of the reply's payload
    void (*print_text) (const ProtobufCMessage *);  // prints it for people on stdout
    void (*print_json) (const ProtobufCMessage *);  // prints it as JSON on stdout
    long timeout_ms;                                // the default --timeout (ms)
} cli_show_t;

/*  Runs the show command of show on argc, argv (argv[0] "show"): parses
    the ID into *id (a field of request), sends request, prints the answer.
    Returns the exit code. */
int cli_show_record (const cli_show_t *show, ProtobufCMessage *request, uint64_t *id, int argc, char **argv);

/*  Parses a --timeout (ms, 1 ms to 24 h) or a record's ID (what: "lead",
    "deal") for command. Returns CLI_EXIT_OK, or the usage error. */
int cli_parse_timeout (const char *command, const char *arg, long *timeout_ms);
int cli_parse_id (const char *command, const char *what, const char *arg, uint64_t *id);

/*  Prints reply's refusal ("CODE: message (fields: ...)") and returns
    CLI_EXIT_FAIL; or unpacks its payload of type (descriptor) into *out
    (the caller frees it with protobuf_c_message_free_unpacked) and returns
    CLI_EXIT_OK. service names the sender in the message for a reply of
    another type. */
int cli_unpack_reply (const char *command, const char *service, const Crm__V1__Reply *reply, const char *type,
                      const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out);

/*  Sends a command that changes something (type, payload) to service as
    sender (NULL: $USER), again only while the service answers UNAVAILABLE
    (it rolled it back, so sending again is safe), for up to timeout_ms in
    all. No reply at all is not sent again: it may have been applied; the
    message then ends with hint (cli_no_answer), e.g. "look with 'crmctl
    deal show'". Returns 0 with *reply_p (the caller frees it; it may carry
    an error), or -1 after printing why (*reply_p NULL, also when an earlier
    attempt was answered UNAVAILABLE: that is no longer the outcome). */
int cli_send_change (const char *command, const char *service, const char *type,
                     const ProtobufCMessage *payload, const char *sender, long timeout_ms, const char *hint,
                     Crm__V1__Reply **reply_p);

/*  A change: cli_send_change, then cli_unpack_reply of the answer
    descriptor says into *out. Returns CLI_EXIT_OK with *out owned by the
    caller (protobuf_c_message_free_unpacked), or CLI_EXIT_FAIL after
    printing why (*out NULL). */
int cli_change (const char *command, const char *service, const char *type, const ProtobufCMessage *payload,
                const char *sender, long timeout_ms, const char *hint,
                const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out);

#endif
