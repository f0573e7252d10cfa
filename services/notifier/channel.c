/*  channel: see channel.h. */
#include "channel.h"
#include "utf8.h"

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUBJECT_TEXT_MAX 100  // bytes of the text's first line in a subject
#define WORD_RAW_MAX 36       // bytes per encoded word: 48 base64 chars + 12; "Subject: " + that < 76

//  ms UTC as "2026-01-01T00:00:00.000Z".
static void
s_iso (int64_t ms, char *out, size_t size)
{
    time_t secs = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    size_t n = strftime (out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (out + n, size - n, ".%03dZ", (int) (ms - (int64_t) secs * 1000));
}

char *
channel_webhook_body (const channel_note_t *note, size_t *len)
{
    char created[40];
    s_iso (note->created_ms, created, sizeof created);
    json_object *o = json_object_new_object ();
    if (!o)
        return NULL;
    json_object_object_add (o, "notification_id", json_object_new_int64 ((int64_t) note->id));
    json_object_object_add (o, "recipient", json_object_new_string (note->recipient));
    json_object_object_add (o, "text", json_object_new_string (note->text));
    json_object_object_add (o, "correlation_id", json_object_new_string (note->correlation_id));
    json_object_object_add (o, "rule", json_object_new_string (note->rule));
    json_object_object_add (o, "created_ms", json_object_new_int64 (note->created_ms));
    json_object_object_add (o, "created_at", json_object_new_string (created));
    size_t n = 0;
    const char *text =
        json_object_to_json_string_length (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    char *body = text ? strndup (text, n) : NULL;
    json_object_put (o);
    if (body)
        *len = n;
    return body;
}

int
channel_sign (const void *key, size_t key_len, const char *body, size_t len, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!HMAC (EVP_sha256 (), key, (int) key_len, (const unsigned char *) body, len, md, &md_len))
        return -1;
    int n = snprintf (out, CHANNEL_SIGNATURE_SIZE, "sha256=");
    for (unsigned int i = 0; i < md_len && n + 2 < CHANNEL_SIGNATURE_SIZE; i++)
        n += snprintf (out + n, CHANNEL_SIGNATURE_SIZE - (size_t) n, "%02x", md[i]);
    return 0;
}

int
channel_secret (const char *ref, char *key, size_t size, size_t *key_len, char *err, size_t err_size)
{
    *key_len = 0;
    if (strncmp (ref, "env:", 4) == 0) {
        const char *value = getenv (ref + 4);
        if (!value || !*value) {
            snprintf (err, err_size, "the webhook's secret variable %s is not set", ref + 4);
            return -1;
        }
        if (strlen (value) >= size) {
            snprintf (err, err_size, "the webhook's secret in %s is longer than %zu bytes", ref + 4,
                      size - 1);
            return -1;
        }
        *key_len = strlen (value);
        memcpy (key, value, *key_len + 1);
        return 0;
    }
    if (strncmp (ref, "file:", 5) == 0) {
        FILE *file = fopen (ref + 5, "rb");
        if (!file) {
            snprintf (err, err_size, "cannot read the webhook's secret file %s", ref + 5);
            return -1;
        }
        size_t n = fread (key, 1, size, file);
        bool whole = feof (file) && !ferror (file);
        fclose (file);
        if (!whole || n >= size) {
            snprintf (err, err_size, "the webhook's secret file %s is unreadable or over %zu bytes", ref + 5,
                      size - 1);
            return -1;
        }
        if (n && key[n - 1] == '\n')
            n--;
        if (n && key[n - 1] == '\r')
            n--;
        key[n] = 0;
        if (n == 0) {
            snprintf (err, err_size, "the webhook's secret file %s is empty", ref + 5);
            return -1;
        }
        *key_len = n;
        return 0;
    }
    snprintf (err, err_size, "the webhook has no secret (reference '%.40s')", ref);
    return -1;
}

int
channel_encode_subject (const char *subject, char *out, size_t size)
{
    size_t used = 0, left = strlen (subject);
    const char *p = subject;
    if (size == 0)
        return -1;
    out[0] = 0;
    while (left > 0 || used == 0) {
        size_t take = utf8_boundary (p, left < WORD_RAW_MAX ? left : WORD_RAW_MAX);
        if (take == 0 && left > 0)
            take = 1;  // not UTF-8 (checked on the way in): never loop
        unsigned char b64[4 * ((WORD_RAW_MAX + 2) / 3) + 1];
        EVP_EncodeBlock (b64, (const unsigned char *) p, (int) take);
        int n = snprintf (out + used, size - used, "%s=?UTF-8?B?%s?=", used ? "\r\n " : "", b64);
        if (n < 0 || (size_t) n >= size - used)
            return -1;
        used += (size_t) n;
        p += take;
        left -= take;
        if (take == 0)
            break;
    }
    return (int) used;
}

//  A growing buffer for the message; a failed append marks it failed.
typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} buf_t;

static void
s_put (buf_t *b, const char *data, size_t len)
{
    if (b->failed)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + len;
        char *data2 = realloc (b->data, cap);
        if (!data2) {
            b->failed = true;
            return;
        }
        b->data = data2;
        b->cap = cap;
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
}

static void __attribute__ ((format (printf, 2, 3))) s_printf (buf_t *b, const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    if (n < 0 || (size_t) n >= sizeof line)
        b->failed = true;
    else
        s_put (b, line, (size_t) n);
}

//  true when s is short printable ASCII: safe as a header value as is.
static bool
s_header_safe (const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < 0x20 || s[n] > 0x7e)
            return false;
    return n > 0 && n <= 200;
}

//  The body's canonical text (RFC 2045: lines end in CRLF), base64 in
//  lines of 76 characters.
static void
s_body (buf_t *b, const channel_note_t *note)
{
    buf_t text = {0};
    for (const char *p = note->text; *p; p++) {
        if (*p == '\n' && (p == note->text || p[-1] != '\r'))
            s_put (&text, "\r", 1);
        s_put (&text, p, 1);
    }
    if (*note->correlation_id)
        s_printf (&text, "\r\n\r\n-- \r\nCRM: %.200s, notification %" PRIu64 "\r\n", note->correlation_id,
                  note->id);
    else
        s_printf (&text, "\r\n\r\n-- \r\nCRM: notification %" PRIu64 "\r\n", note->id);
    if (text.failed) {
        b->failed = true;
        free (text.data);
        return;
    }
    for (size_t at = 0; at < text.len; at += 57) {  // 57 bytes -> 76 base64 characters
        unsigned char line[80];
        int n = EVP_EncodeBlock (line, (const unsigned char *) text.data + at,
                                 (int) (text.len - at < 57 ? text.len - at : 57));
        s_put (b, (const char *) line, (size_t) n);
        s_put (b, "\r\n", 2);
    }
    free (text.data);
}

char *
channel_email (const channel_note_t *note, const char *from, const char *to, int64_t now_ms, size_t *len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    buf_t b = {0};
    time_t secs = (time_t) (now_ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    s_printf (&b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
              months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    s_printf (&b, "From: %s\r\nTo: %s\r\n", from, to);

    //  The subject: the first line of the text, cut between characters.
    char subject[SUBJECT_TEXT_MAX + 16], encoded[1024];
    size_t line = strcspn (note->text, "\r\n");
    size_t cut = utf8_boundary (note->text, line < SUBJECT_TEXT_MAX ? line : SUBJECT_TEXT_MAX);
    snprintf (subject, sizeof subject, "CRM: %.*s%s", (int) cut, note->text, cut < line ? "…" : "");
    if (channel_encode_subject (subject, encoded, sizeof encoded) < 0)
        b.failed = true;
    else
        s_printf (&b, "Subject: %s\r\n", encoded);
    const char *domain = strchr (from, '@');
    s_printf (&b, "Message-ID: <notification-%" PRIu64 "@%s>\r\n", note->id,
              domain ? domain + 1 : "crm.invalid");
    s_printf (&b, "X-CRM-Notification-Id: %" PRIu64 "\r\n", note->id);
    if (s_header_safe (note->correlation_id))
        s_printf (&b, "X-CRM-Correlation-Id: %s\r\n", note->correlation_id);
    s_printf (&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n");
    s_body (&b, note);
    if (b.failed) {
        free (b.data);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

int64_t
channel_backoff_ms (uint32_t attempts, int64_t base_ms, int64_t cap_ms)
{
    int64_t wait = base_ms;
    for (uint32_t i = 1; i < attempts && wait < cap_ms; i++)
        wait *= 2;
    return wait < cap_ms ? wait : cap_ms;
}

void
channel_loggable (const char *destination, char *out, size_t size)
{
    const char *scheme = strstr (destination, "://");
    if (!scheme) {
        snprintf (out, size, "%s", destination);
        return;
    }
    const char *host = scheme + 3;
    size_t n = strcspn (host, "/?#");
    const char *at = memchr (host, '@', n);  // user:password@ is a secret too
    if (at) {
        n -= (size_t) (at + 1 - host);
        host = at + 1;
    }
    snprintf (out, size, "%.*s%.*s", (int) (scheme + 3 - destination), destination, (int) n, host);
}
