/*  cli: what crmctl's commands share: exit codes, option parsing, reaching
    a service, and printing times the way operators read them.

    Messages for people go to stderr prefixed "crmctl <command>: "; results
    go to stdout, so that scripts can pipe one without the other.
*/
#ifndef CRMCTL_CLI_H
#define CRMCTL_CLI_H

#include "client.h"
#include "crm/v1/leads.pb-c.h"

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

/*  Creates a client for the command endpoint of service ("leads", ...),
    found through CRM_<NAME>_HOST/PORT. Returns a client owned by the
    caller, or NULL (after printing why on stderr). */
client_t *cli_client (const char *command, const char *service);

/*  Sends one read-only command of type with payload to service and waits up
    to timeout_ms (ms) for its reply: one attempt, since the operator can
    simply run it again. Returns 0 with *reply_p owned by the caller (free
    with crm__v1__reply__free_unpacked; it may carry an error), or -1 after
    printing why on stderr (no such service, or no answer in time). */
int cli_query (const char *command, const char *service, const char *type, const ProtobufCMessage *payload,
               long timeout_ms, Crm__V1__Reply **reply_p);

/*  Formats time_ms (ms since the epoch, UTC) in the company time zone,
    CRM_TIME_ZONE (default Europe/Moscow), as "2026-11-30 14:05 MSK" into buf
    (size bytes). Sets TZ for the process on first use. Returns buf; "-"
    for time_ms 0. */
const char *cli_format_time (int64_t time_ms, char *buf, size_t size);

//  ---------------------------------------------------------------- records
//  What the commands on leads and deals share (cmd_funnel, cmd_deal).

/*  Prints text on stdout as a JSON string (quoted, escaped; at most 32 KiB). */
void cli_json_string (const char *text);

/*  Prints text on stdout as one line of a listing: "-" when empty, control
    characters as spaces. */
void cli_put_line (const char *text);

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
    message then says to look with look_with (e.g. "crmctl deal show").
    Returns 0 with *reply_p (the caller frees it; it may carry an error),
    or -1 after printing why. */
int cli_send_change (const char *command, const char *service, const char *type,
                     const ProtobufCMessage *payload, const char *sender, long timeout_ms,
                     const char *look_with, Crm__V1__Reply **reply_p);

#endif
