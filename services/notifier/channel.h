/*  channel: what goes over the wire to an outbound channel, built without
    any I/O except reading a webhook's secret: the webhook's JSON body and
    its signature, and the e-mail message (RFC 5322 with MIME, RFC 2045;
    the subject as RFC 2047 encoded words). Also the retry schedule.

    The webhook body is one JSON object (json-c):
        {"notification_id": 12, "recipient": "ivanov", "text": "...",
         "correlation_id": "lead:42", "rule": "new-lead",
         "created_ms": 1767225600000, "created_at": "2026-01-01T00:00:00.000Z"}
    and the header X-CRM-Signature: sha256=<hex of HMAC-SHA256(body, key)>
    lets the receiver check it came from us, unchanged. notification_id is
    there so that a receiver can drop a repeat (delivery is at least once).
*/
#ifndef CRM_NOTIFIER_CHANNEL_H
#define CRM_NOTIFIER_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

//  "sha256=" + 64 hex digits + NUL
#define CHANNEL_SIGNATURE_SIZE 72

/*  The notification as channels show it; strings are borrowed. */
typedef struct {
    uint64_t id;
    const char *recipient;       // login
    const char *text;            // UTF-8
    const char *correlation_id;  // what it concerns, e.g. "lead:42"; may be ""
    const char *rule;            // the rule behind it; may be ""
    int64_t created_ms;          // ms UTC
} channel_note_t;

/*  The webhook body (see above) as a new NUL-terminated string (caller
    frees), its length in *len. NULL on out-of-memory. */
char *channel_webhook_body (const channel_note_t *note, size_t *len);

/*  Writes "sha256=<hex>" of HMAC-SHA256 over body (len bytes) keyed with
    key (key_len bytes) into out (CHANNEL_SIGNATURE_SIZE bytes). Returns 0,
    or -1 if OpenSSL fails. */
int channel_sign (const void *key, size_t key_len, const char *body, size_t len, char *out);

/*  Reads a webhook's key from where ref says: "env:NAME" (the variable's
    value) or "file:PATH" (the file's content, one trailing newline
    dropped). The key goes into key (size bytes, NUL-terminated), its length
    into *key_len. Returns 0, or -1 with a sentence that names the variable
    or file -- never the key -- in err (err_size bytes). */
int channel_secret (const char *ref, char *key, size_t size, size_t *key_len, char *err, size_t err_size);

/*  The e-mail for note: headers Date (now_ms), From (from), To (to),
    Subject ("CRM: " and the text's first line, cut to about 100 bytes
    between characters, RFC 2047 encoded), Message-ID (from the
    notification id, so a resend is recognisably the same mail), MIME text/
    plain; charset=utf-8, base64 body (the text, and what it concerns).
    Lines end in CRLF. Returns a new message (caller frees), its length in
    *len; NULL on out-of-memory. */
char *channel_email (const channel_note_t *note, const char *from, const char *to, int64_t now_ms,
                     size_t *len);

/*  Writes the Subject header's value for subject (UTF-8): encoded words
    =?UTF-8?B?...?= of at most 75 characters, cut between characters and
    folded with CRLF SPACE, into out (size bytes). Returns the length, or
    -1 if out is too short. */
int channel_encode_subject (const char *subject, char *out, size_t size);

/*  The wait before attempt attempts + 1, after attempts (>= 1) failed ones:
    base_ms doubled per earlier failure, at most cap_ms. */
int64_t channel_backoff_ms (uint32_t attempts, int64_t base_ms, int64_t cap_ms);

/*  Writes what may be logged of a destination into out (size bytes): an
    e-mail address as is; of a URL only scheme://host[:port], since chat
    tools put tokens in the path (Telegram's bot token, Slack's hook). */
void channel_loggable (const char *destination, char *out, size_t size);

#endif
