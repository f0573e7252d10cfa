// uses: services/notifier/channel.c
/*  test_channel: what the notifier puts on the wire (services/notifier/
    channel.c): the signature (RFC 4231 vectors), the webhook's JSON, the
    e-mail (RFC 5322 headers, RFC 2047 subject, base64 body), the retry
    schedule, what of a destination may be logged, and reading secrets.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notifier/channel.h"
#include "utf8.h"

static const channel_note_t s_note = {
    .id = 42,
    .recipient = "ivanov",
    .text = "Новый лид №7: ООО «Ромашка» \"срочно\" \\ /\nПозвоните до 18:00",
    .correlation_id = "lead:7",
    .rule = "new-lead",
    .created_ms = 1767225600123,  // 2026-01-01T00:00:00.123Z
};

static void
test_signature_rfc4231 (void **state)
{
    (void) state;
    char sig[CHANNEL_SIGNATURE_SIZE];
    //  RFC 4231, test case 2.
    const char *data = "what do ya want for nothing?";
    assert_int_equal (channel_sign ("Jefe", 4, data, strlen (data), sig), 0);
    assert_string_equal (sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    //  Test case 1: 20 bytes 0x0b.
    char key[20];
    memset (key, 0x0b, sizeof key);
    assert_int_equal (channel_sign (key, sizeof key, "Hi There", 8, sig), 0);
    assert_string_equal (sig, "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void
test_webhook_body (void **state)
{
    (void) state;
    size_t len = 0;
    char *body = channel_webhook_body (&s_note, &len);
    assert_non_null (body);
    assert_int_equal (len, strlen (body));
    assert_null (strchr (body, '\n'));  // one line: the newline of the text is escaped
    json_object *o = json_tokener_parse (body);
    assert_non_null (o);
    json_object *v;
    assert_true (json_object_object_get_ex (o, "notification_id", &v));
    assert_int_equal (json_object_get_int64 (v), 42);
    assert_true (json_object_object_get_ex (o, "text", &v));
    assert_string_equal (json_object_get_string (v), s_note.text);
    assert_true (json_object_object_get_ex (o, "recipient", &v));
    assert_string_equal (json_object_get_string (v), "ivanov");
    assert_true (json_object_object_get_ex (o, "correlation_id", &v));
    assert_string_equal (json_object_get_string (v), "lead:7");
    assert_true (json_object_object_get_ex (o, "rule", &v));
    assert_string_equal (json_object_get_string (v), "new-lead");
    assert_true (json_object_object_get_ex (o, "created_ms", &v));
    assert_int_equal (json_object_get_int64 (v), 1767225600123);
    assert_true (json_object_object_get_ex (o, "created_at", &v));
    assert_string_equal (json_object_get_string (v), "2026-01-01T00:00:00.123Z");
    assert_non_null (strstr (body, "Новый лид"));  // UTF-8 as is, not \u escapes
    json_object_put (o);
    free (body);
}

//  Decodes one "=?UTF-8?B?...?=" word at p into out; returns its length.
static size_t
s_decode_word (const char *p, size_t word_len, char *out)
{
    assert_true (word_len > 12);
    assert_memory_equal (p, "=?UTF-8?B?", 10);
    assert_memory_equal (p + word_len - 2, "?=", 2);
    char b64[128];
    memcpy (b64, p + 10, word_len - 12);
    b64[word_len - 12] = 0;
    int n = EVP_DecodeBlock ((unsigned char *) out, (unsigned char *) b64, (int) strlen (b64));
    assert_true (n >= 0);
    size_t len = (size_t) n;
    for (size_t i = strlen (b64); i > 0 && b64[i - 1] == '='; i--)
        len--;  // EVP_DecodeBlock counts the padding
    out[len] = 0;
    return len;
}

static void
test_subject_encoding (void **state)
{
    (void) state;
    const char *subject = "CRM: Новый лид №7: ООО «Ромашка» — позвоните клиенту сегодня до вечера";
    char out[1024], decoded[512] = "";
    int n = channel_encode_subject (subject, out, sizeof out);
    assert_true (n > 0);
    assert_int_equal ((size_t) n, strlen (out));
    //  Words split by CRLF SPACE; each at most 75 characters and a whole
    //  number of characters.
    const char *p = out;
    int words = 0;
    while (*p) {
        const char *end = strstr (p, "\r\n ");
        size_t len = end ? (size_t) (end - p) : strlen (p);
        assert_true (len <= 75);
        assert_true (strlen ("Subject: ") + len <= 76);
        char chunk[128];
        s_decode_word (p, len, chunk);
        assert_true (utf8_valid (chunk));
        strcat (decoded, chunk);
        words++;
        p = end ? end + 3 : p + len;
    }
    assert_true (words >= 3);
    assert_string_equal (decoded, subject);
    assert_int_equal (channel_encode_subject (subject, out, 40), -1);  // too short: refused, not cut
}

static void
test_email_message (void **state)
{
    (void) state;
    size_t len = 0;
    char *msg = channel_email (&s_note, "crm@example.com", "ivanov@example.com", 1767225600123, &len);
    assert_non_null (msg);
    assert_int_equal (len, strlen (msg));
    //  Every line ends in CRLF, none longer than 78.
    for (const char *line = msg; *line;) {
        const char *nl = strchr (line, '\n');
        assert_non_null (nl);
        assert_true (nl > line || nl == msg);
        if (nl > line)
            assert_int_equal (nl[-1], '\r');
        assert_true (nl - line <= 79);
        line = nl + 1;
    }
    assert_non_null (strstr (msg, "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"));
    assert_non_null (strstr (msg, "\r\nFrom: crm@example.com\r\nTo: ivanov@example.com\r\n"));
    assert_non_null (strstr (msg, "\r\nSubject: =?UTF-8?B?"));
    assert_non_null (strstr (msg, "\r\nMessage-ID: <notification-42@example.com>\r\n"));
    assert_non_null (strstr (msg, "\r\nX-CRM-Correlation-Id: lead:7\r\n"));
    assert_non_null (strstr (msg, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                  "Content-Transfer-Encoding: base64\r\n\r\n"));
    //  The body: base64 of the text with CRLF line ends, and the footer.
    const char *body = strstr (msg, "\r\n\r\n") + 4;
    char joined[4096] = "", text[4096];
    for (const char *p = body; *p;) {
        const char *nl = strstr (p, "\r\n");
        strncat (joined, p, (size_t) (nl - p));
        p = nl + 2;
    }
    int n = EVP_DecodeBlock ((unsigned char *) text, (unsigned char *) joined, (int) strlen (joined));
    assert_true (n > 0);
    text[n] = 0;
    assert_non_null (strstr (text, "Новый лид №7: ООО «Ромашка» \"срочно\" \\ /\r\nПозвоните до 18:00\r\n"));
    assert_non_null (strstr (text, "CRM: lead:7, notification 42"));
    free (msg);

    //  A long first line is cut between characters, marked with an ellipsis.
    channel_note_t note = s_note;
    char longtext[600] = "";
    for (int i = 0; i < 40; i++)
        strcat (longtext, "Ъ");  // 2 bytes each
    strcat (longtext, "ABCDEFGHIJKLMNOPQRSTUVWXYZ\nвторая строка");
    note.text = longtext;
    note.correlation_id = "";
    msg = channel_email (&note, "crm", "a@example.com", 0, &len);
    assert_non_null (msg);
    assert_non_null (strstr (msg, "Message-ID: <notification-42@crm.invalid>"));
    char subject[1024] = "", want[300] = "CRM: ";
    const char *p = strstr (msg, "Subject: ") + 9, *end = strstr (p, "\r\nMessage-ID");
    while (p < end) {
        const char *next = strstr (p, "\r\n ");
        size_t word = (size_t) ((next && next < end ? next : end) - p);
        char chunk[128];
        s_decode_word (p, word, chunk);
        strcat (subject, chunk);
        p += word + (next && next < end ? 3 : 0);
    }
    //  40 two-byte letters, then 20 of the alphabet
    snprintf (want + strlen (want), sizeof want - strlen (want), "%.100s…", longtext);
    assert_string_equal (subject, want);
    assert_null (strstr (msg, "X-CRM-Correlation-Id"));
    free (msg);
}

static void
test_backoff (void **state)
{
    (void) state;
    assert_int_equal (channel_backoff_ms (1, 1000, 600000), 1000);
    assert_int_equal (channel_backoff_ms (2, 1000, 600000), 2000);
    assert_int_equal (channel_backoff_ms (3, 1000, 600000), 4000);
    assert_int_equal (channel_backoff_ms (10, 1000, 600000), 512000);
    assert_int_equal (channel_backoff_ms (11, 1000, 600000), 600000);
    assert_int_equal (channel_backoff_ms (4000000000u, 1000, 600000), 600000);  // no overflow
}

static void
test_loggable (void **state)
{
    (void) state;
    char out[256];
    channel_loggable ("https://api.telegram.org/bot123:SECRET/sendMessage?chat_id=1", out, sizeof out);
    assert_string_equal (out, "https://api.telegram.org");
    channel_loggable ("http://user:pass@hooks.example.com:8080/x", out, sizeof out);
    assert_string_equal (out, "http://hooks.example.com:8080");
    channel_loggable ("http://127.0.0.1:7565?token=abc", out, sizeof out);
    assert_string_equal (out, "http://127.0.0.1:7565");
    channel_loggable ("ivanov@example.com", out, sizeof out);
    assert_string_equal (out, "ivanov@example.com");
}

static void
test_secret (void **state)
{
    (void) state;
    char key[64], err[256];
    size_t len = 0;
    setenv ("TEST_CHANNEL_KEY", "s3cret", 1);
    assert_int_equal (channel_secret ("env:TEST_CHANNEL_KEY", key, sizeof key, &len, err, sizeof err), 0);
    assert_string_equal (key, "s3cret");
    assert_int_equal (len, 6);
    unsetenv ("TEST_CHANNEL_KEY");
    assert_int_equal (channel_secret ("env:TEST_CHANNEL_KEY", key, sizeof key, &len, err, sizeof err), -1);
    assert_string_equal (err, "the webhook's secret variable TEST_CHANNEL_KEY is not set");

    char path[] = "/tmp/test_channel.XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "from-a-file\n", 12), 12);
    close (fd);
    char ref[64];
    snprintf (ref, sizeof ref, "file:%s", path);
    assert_int_equal (channel_secret (ref, key, sizeof key, &len, err, sizeof err), 0);
    assert_string_equal (key, "from-a-file");  // the newline dropped
    assert_int_equal (len, 11);
    assert_int_equal (channel_secret (ref, key, 8, &len, err, sizeof err), -1);  // too long
    assert_null (strstr (err, "from"));                                          // never the key
    unlink (path);
    assert_int_equal (channel_secret (ref, key, sizeof key, &len, err, sizeof err), -1);
    assert_non_null (strstr (err, "cannot read the webhook's secret file"));
    assert_int_equal (channel_secret ("", key, sizeof key, &len, err, sizeof err), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_signature_rfc4231),
        cmocka_unit_test (test_webhook_body),
        cmocka_unit_test (test_subject_encoding),
        cmocka_unit_test (test_email_message),
        cmocka_unit_test (test_backoff),
        cmocka_unit_test (test_loggable),
        cmocka_unit_test (test_secret),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
