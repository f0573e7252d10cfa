/*  test_log: JSON-lines logging (common/log.c): escaping, number
    formatting, the shape of a written line (built by json-c), its cut to
    8 KiB, and level filtering.

    log_write goes to stdout, which is also cmocka's: each capture points
    file descriptor 1 at a temporary file for the one call and restores it
    before any assertion, so failures still reach the terminal.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

// ---------------------------------------------------------------- helpers

static int s_saved_fd = -1;
static FILE *s_capture_file;

static void
s_capture_begin (void)
{
    fflush (stdout);
    s_capture_file = tmpfile ();
    assert_non_null (s_capture_file);
    s_saved_fd = dup (STDOUT_FILENO);
    assert_true (s_saved_fd >= 0);
    assert_true (dup2 (fileno (s_capture_file), STDOUT_FILENO) >= 0);
}

//  Restores stdout and returns what was written meanwhile (caller frees).
static char *
s_capture_end (void)
{
    fflush (stdout);
    dup2 (s_saved_fd, STDOUT_FILENO);
    close (s_saved_fd);
    s_saved_fd = -1;
    fseek (s_capture_file, 0, SEEK_END);
    long size = ftell (s_capture_file);
    assert_true (size >= 0);
    rewind (s_capture_file);
    char *text = calloc (1, (size_t) size + 1);
    assert_non_null (text);
    assert_int_equal (fread (text, 1, (size_t) size, s_capture_file), (size_t) size);
    fclose (s_capture_file);
    s_capture_file = NULL;
    return text;
}

typedef struct {
    char key[64];
    char value[8192];
    bool is_null;
} pair_t;

//  Reads one JSON string at p into out, undoing escapes; returns the
//  position after its closing quote, or NULL if it is not valid JSON (raw
//  control characters, unknown escapes, unterminated).
static const char *
s_json_string (const char *p, char *out, size_t size)
{
    if (*p++ != '"')
        return NULL;
    size_t n = 0;
    while (*p != '"') {
        unsigned char ch = (unsigned char) *p;
        if (ch < 0x20)
            return NULL;
        if (ch == '\\') {
            p++;
            switch (*p) {
                case '"': ch = '"'; break;
                case '\\': ch = '\\'; break;
                case '/': ch = '/'; break;
                case 'b': ch = '\b'; break;
                case 'f': ch = '\f'; break;
                case 'n': ch = '\n'; break;
                case 'r': ch = '\r'; break;
                case 't': ch = '\t'; break;
                case 'u': {
                    unsigned code;
                    char hex[5] = {0};
                    memcpy (hex, p + 1, 4);
                    if (strlen (hex) != 4 || strspn (hex, "0123456789abcdefABCDEF") != 4
                        || sscanf (hex, "%4x", &code) != 1 || code > 0x7f)
                        return NULL;  // log only ever writes \u00XX controls
                    ch = (unsigned char) code;
                    p += 4;
                    break;
                }
                default: return NULL;
            }
        }
        if (n + 1 >= size)
            return NULL;
        out[n++] = (char) ch;
        p++;
    }
    out[n] = 0;
    return p + 1;
}

//  Parses a log line: one flat JSON object of string or null values, then
//  exactly one newline and nothing else. Returns the number of pairs, or -1.
static int
s_parse_line (const char *line, pair_t *pairs, int max)
{
    const char *p = line;
    if (*p++ != '{')
        return -1;
    int n = 0;
    while (true) {
        if (n == max)
            return -1;
        if (!(p = s_json_string (p, pairs[n].key, sizeof pairs[n].key)) || *p++ != ':')
            return -1;
        pairs[n].is_null = strncmp (p, "null", 4) == 0;
        if (pairs[n].is_null)
            p += 4;
        else if (!(p = s_json_string (p, pairs[n].value, sizeof pairs[n].value)))
            return -1;
        n++;
        if (*p == ',')
            p++;
        else if (*p++ == '}')
            break;
        else
            return -1;
    }
    return strcmp (p, "\n") == 0 ? n : -1;
}

static pair_t s_pairs[16];

//  Captures one log_write with up to three key/value pairs and parses it;
//  returns the number of pairs (fails the test if it is not one JSON line).
static int
s_write_and_parse (log_level_t level, const char *msg, const char *k1, const char *v1, const char *k2,
                   const char *v2, const char *k3, const char *v3)
{
    s_capture_begin ();
    log_write (level, msg, k1, v1, k2, v2, k3, v3, NULL);
    char *text = s_capture_end ();
    assert_non_null (strchr (text, '\n'));
    assert_ptr_equal (strchr (text, '\n'), text + strlen (text) - 1);  // exactly one line
    int n = s_parse_line (text, s_pairs, 16);
    if (n < 0)
        fail_msg ("not one JSON object line: %s", text);
    free (text);
    return n;
}

//  Captures one log_write of an over-long text: it must come out as one
//  parseable line of 4 to 8 KiB. Returns the number of pairs.
static int
s_write_cut_and_parse (const char *msg, const char *k1, const char *v1, const char *k2, const char *v2)
{
    s_capture_begin ();
    log_write (LOG_LEVEL_INFO, msg, k1, v1, k2, v2, NULL);
    char *text = s_capture_end ();
    assert_in_range (strlen (text), 4096, 8192);
    int n = s_parse_line (text, s_pairs, 16);
    if (n < 0)
        fail_msg ("not one JSON object line (%zu bytes)", strlen (text));
    free (text);
    return n;
}

//  A text of len bytes (caller frees): c, with every period-th byte other.
static char *
s_long_text (size_t len, char c, char other, size_t period)
{
    char *text = malloc (len + 1);
    assert_non_null (text);
    for (size_t i = 0; i < len; i++)
        text[i] = i % period == period - 1 ? other : c;
    text[len] = 0;
    return text;
}

static char *
s_write_capture (log_level_t level, const char *msg)
{
    s_capture_begin ();
    log_write (level, msg, NULL);
    return s_capture_end ();
}

//  Each test starts from level info and service "leads", whatever the one
//  before set: log's state is process-wide.
static int
s_setup (void **state)
{
    (void) state;
    setenv ("CRM_LOG_LEVEL", "info", 1);
    int rc = log_init ("leads");
    unsetenv ("CRM_LOG_LEVEL");
    return rc;
}

// ---------------------------------------------------------------- log_json_escape

static void
test_escape_plain_text_is_unchanged (void **state)
{
    (void) state;
    char out[64];
    assert_int_equal (log_json_escape (out, sizeof out, "lead stored 42"), 14);
    assert_string_equal (out, "lead stored 42");
}

static void
test_escape_empty_string (void **state)
{
    (void) state;
    char out[4] = "xyz";
    assert_int_equal (log_json_escape (out, sizeof out, ""), 0);
    assert_string_equal (out, "");
}

static void
test_escape_quotes_and_backslash (void **state)
{
    (void) state;
    char out[64];
    assert_int_equal (log_json_escape (out, sizeof out, "say \"hi\" C:\\x"), 16);
    assert_string_equal (out, "say \\\"hi\\\" C:\\\\x");
}

static void
test_escape_newline_return_tab_short_forms (void **state)
{
    (void) state;
    //  A raw newline would split the line in two for whoever reads the log.
    char out[64];
    assert_int_equal (log_json_escape (out, sizeof out, "a\nb\rc\td"), 10);
    assert_string_equal (out, "a\\nb\\rc\\td");
}

static void
test_escape_other_control_chars_as_u00xx (void **state)
{
    (void) state;
    char out[64];
    log_json_escape (out, sizeof out, "\x01|\x08|\x0c|\x1b|\x1f");
    assert_string_equal (out, "\\u0001|\\u0008|\\u000c|\\u001b|\\u001f");
}

static void
test_escape_passes_utf8_and_del_through (void **state)
{
    (void) state;
    //  JSON allows any Unicode character but controls raw; bytes >= 0x80
    //  must not be taken for controls (char may be signed).
    char out[64];
    const char *text = "Привет, мир \xe2\x82\xac \x7f";
    assert_int_equal (log_json_escape (out, sizeof out, text), strlen (text));
    assert_string_equal (out, text);
}

static void
test_escape_zero_size_writes_nothing (void **state)
{
    (void) state;
    char out[4] = "xyz";
    assert_int_equal (log_json_escape (out, 0, "abc"), 0);
    assert_string_equal (out, "xyz");
}

static void
test_escape_size_one_gives_empty_string (void **state)
{
    (void) state;
    char out[4] = "xyz";
    assert_int_equal (log_json_escape (out, 1, "abc"), 0);
    assert_int_equal (out[0], 0);
    assert_int_equal (out[1], 'y');
}

static void
test_escape_cut_keeps_whole_escapes (void **state)
{
    (void) state;
    //  Half an escape ("\" alone) would make the whole line invalid JSON.
    char out[16];
    assert_int_equal (log_json_escape (out, 3, "a\"b"), 1);
    assert_string_equal (out, "a");
    assert_int_equal (log_json_escape (out, 7, "a\x01"), 1);  // \u0001 needs 6 + NUL
    assert_string_equal (out, "a");
    assert_int_equal (log_json_escape (out, 8, "a\x01"), 7);
    assert_string_equal (out, "a\\u0001");
}

static void
test_escape_cut_at_every_size_stays_in_buffer (void **state)
{
    (void) state;
    //  For every size: nothing written past size (guard bytes intact), NUL
    //  at the returned length, and the result is the full escape cut at an
    //  escape boundary.
    const char *src = "a\"b\\c\nd\x01-é\t\x1f-f";
    char full[128];
    size_t full_len = log_json_escape (full, sizeof full, src);
    //  Boundaries: the escaped lengths of each prefix of src.
    bool boundary[128] = {false};
    for (size_t k = 0; k <= strlen (src); k++) {
        char prefix[64], tmp[128];
        memcpy (prefix, src, k);
        prefix[k] = 0;
        boundary[log_json_escape (tmp, sizeof tmp, prefix)] = true;
    }
    for (size_t size = 1; size <= full_len + 2; size++) {
        char out[160];
        memset (out, '#', sizeof out);
        size_t n = log_json_escape (out, size, src);
        assert_true (n < size);
        assert_int_equal (out[n], 0);
        for (size_t i = size; i < sizeof out; i++)
            assert_int_equal (out[i], '#');
        assert_memory_equal (out, full, n);
        assert_true (boundary[n]);
        if (size > full_len)
            assert_int_equal (n, full_len);
    }
}

static void
test_escape_cut_never_splits_a_utf8_character (void **state)
{
    (void) state;
    //  A cut never splits a character: the line must stay valid UTF-8 (and
    //  so valid JSON); log_write cuts this way in lines over 8 KiB.
    char out[8];
    assert_int_equal (log_json_escape (out, 4, "Пр"), 2);
    assert_string_equal (out, "П");
}

// ---------------------------------------------------------------- log_u64

static void
test_u64_formats_zero_and_max (void **state)
{
    (void) state;
    char buf[21];
    assert_string_equal (log_u64 (buf, 0), "0");
    assert_string_equal (log_u64 (buf, 42), "42");
    //  20 digits: the documented 21-byte buffer is exactly enough.
    assert_string_equal (log_u64 (buf, UINT64_MAX), "18446744073709551615");
}

static void
test_u64_returns_its_buffer (void **state)
{
    (void) state;
    //  So that it can sit in log_write's argument list.
    char a[21], b[21];
    assert_ptr_equal (log_u64 (a, 1), a);
    assert_ptr_equal (log_u64 (b, 2), b);
    assert_string_equal (a, "1");
}

// ---------------------------------------------------------------- log_write

static void
test_write_is_one_json_line_with_standard_fields_then_pairs (void **state)
{
    (void) state;
    int n =
        s_write_and_parse (LOG_LEVEL_INFO, "lead stored", "lead_id", "42", "source", "website", NULL, NULL);
    assert_int_equal (n, 6);
    assert_string_equal (s_pairs[0].key, "ts");
    assert_string_equal (s_pairs[1].key, "level");
    assert_string_equal (s_pairs[1].value, "info");
    assert_string_equal (s_pairs[2].key, "service");
    assert_string_equal (s_pairs[2].value, "leads");
    assert_string_equal (s_pairs[3].key, "msg");
    assert_string_equal (s_pairs[3].value, "lead stored");
    assert_string_equal (s_pairs[4].key, "lead_id");
    assert_string_equal (s_pairs[4].value, "42");
    assert_string_equal (s_pairs[5].key, "source");
    assert_string_equal (s_pairs[5].value, "website");
    for (int i = 0; i < n; i++)
        assert_false (s_pairs[i].is_null);
}

static void
test_write_timestamp_is_utc_iso8601_with_ms_now (void **state)
{
    (void) state;
    time_t before = time (NULL);
    s_write_and_parse (LOG_LEVEL_INFO, "tick", NULL, NULL, NULL, NULL, NULL, NULL);
    time_t after = time (NULL);
    const char *ts = s_pairs[0].value;
    //  2024-05-01T12:34:56.789Z
    assert_int_equal (strlen (ts), 24);
    struct tm tm = {0};
    int ms = -1;
    char z = 0;
    assert_int_equal (sscanf (ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                              &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &z),
                      8);
    assert_int_equal (z, 'Z');
    assert_in_range (ms, 0, 999);
    assert_int_equal (ts[4], '-');
    assert_int_equal (ts[10], 'T');
    assert_int_equal (ts[19], '.');
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    //  Read as UTC it must be now; local time would be off by the zone.
    time_t stamp = timegm (&tm);
    assert_in_range (stamp, before - 1, after + 1);
}

static void
test_write_null_value_is_json_null (void **state)
{
    (void) state;
    int n =
        s_write_and_parse (LOG_LEVEL_INFO, "lead stored", "responsible", NULL, "lead_id", "7", NULL, NULL);
    assert_int_equal (n, 6);
    assert_string_equal (s_pairs[4].key, "responsible");
    assert_true (s_pairs[4].is_null);
    //  A NULL value must not end the list: the pair after it is there.
    assert_string_equal (s_pairs[5].key, "lead_id");
    assert_string_equal (s_pairs[5].value, "7");
}

static void
test_write_escapes_msg_and_values (void **state)
{
    (void) state;
    const char *nasty = "he said \"stop\"\n\\ \x01 ok";
    int n = s_write_and_parse (LOG_LEVEL_WARN, nasty, "error", nasty, "name", "Иван", NULL, NULL);
    assert_int_equal (n, 6);
    assert_string_equal (s_pairs[1].value, "warn");
    assert_string_equal (s_pairs[3].value, nasty);
    assert_string_equal (s_pairs[4].value, nasty);
    assert_string_equal (s_pairs[5].value, "Иван");
}

static void
test_write_without_pairs_has_four_fields (void **state)
{
    (void) state;
    int n = s_write_and_parse (LOG_LEVEL_ERROR, "database gone", NULL, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal (n, 4);
    assert_string_equal (s_pairs[1].value, "error");
    assert_string_equal (s_pairs[3].value, "database gone");
}

static void
test_write_long_msg_is_cut_to_one_valid_line (void **state)
{
    (void) state;
    //  Over 8 KiB: the line is cut, but it stays one parseable line and the
    //  msg keeps its place.
    char *msg = s_long_text (20000, 'x', '"', 10);
    s_write_cut_and_parse (msg, "lead_id", "42", NULL, NULL);
    assert_string_equal (s_pairs[3].key, "msg");
    assert_memory_equal (s_pairs[3].value, msg, strlen (s_pairs[3].value));
    free (msg);
}

static void
test_write_long_value_is_cut_to_one_valid_line (void **state)
{
    (void) state;
    char *value = s_long_text (20000, 'v', '\n', 7);
    assert_in_range (s_write_cut_and_parse ("big", "payload", value, "after", "1"), 5, 6);
    assert_string_equal (s_pairs[4].key, "payload");
    assert_memory_equal (s_pairs[4].value, value, strlen (s_pairs[4].value));
    free (value);
}

static void
test_write_line_text_is_compact_in_call_order (void **state)
{
    (void) state;
    //  No spaces, keys in the order given, '/' as it is: what grep and the
    //  shippers see.
    s_capture_begin ();
    log_write (LOG_LEVEL_INFO, "m", "path", "/v1/leads", "k", NULL, NULL);
    char *text = s_capture_end ();
    assert_true (strncmp (text, "{\"ts\":\"", 7) == 0);
    const char *rest = strstr (text, "Z\",\"level\"");
    assert_non_null (rest);
    assert_string_equal (rest, "Z\",\"level\":\"info\",\"service\":\"leads\",\"msg\":\"m\","
                               "\"path\":\"/v1/leads\",\"k\":null}\n");
    free (text);
}

static void
test_write_escapes_every_control_char (void **state)
{
    (void) state;
    char controls[32];
    for (int i = 1; i < 32; i++)
        controls[i - 1] = (char) i;
    controls[31] = 0;
    int n = s_write_and_parse (LOG_LEVEL_INFO, controls, "v", controls, NULL, NULL, NULL, NULL);
    assert_int_equal (n, 5);
    assert_string_equal (s_pairs[3].value, controls);
    assert_string_equal (s_pairs[4].value, controls);
}

static void
test_write_invalid_utf8_becomes_replacement_char (void **state)
{
    (void) state;
    //  Bytes from the wire that are not UTF-8 (a stray byte, a cut
    //  character, an overlong form) must not make the line invalid.
    int n = s_write_and_parse (LOG_LEVEL_INFO, "bad \xff", "v", "a\xc3 \xc0\xaf П", NULL, NULL, NULL, NULL);
    assert_int_equal (n, 5);
    assert_string_equal (s_pairs[3].value, "bad \xef\xbf\xbd");
    assert_string_equal (s_pairs[4].value, "a\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd П");
}

static void
test_write_long_value_of_escapes_is_cut_to_one_valid_line (void **state)
{
    (void) state;
    //  Each byte takes six in the line (\u0001): the cut counts the escapes.
    char *value = s_long_text (5000, '\x01', '\x01', 1);
    assert_int_equal (s_write_cut_and_parse ("big", "payload", value, NULL, NULL), 5);
    assert_memory_equal (s_pairs[4].value, value, strlen (s_pairs[4].value));
    free (value);
}

// ---------------------------------------------------------------- levels

static void
test_info_level_hides_debug_only (void **state)
{
    (void) state;
    char *text = s_write_capture (LOG_LEVEL_DEBUG, "noise");
    assert_string_equal (text, "");
    free (text);
    text = s_write_capture (LOG_LEVEL_INFO, "shown");
    assert_non_null (strstr (text, "\"msg\":\"shown\""));
    free (text);
}

static void
test_warn_level_suppresses_info (void **state)
{
    (void) state;
    setenv ("CRM_LOG_LEVEL", "warn", 1);
    assert_int_equal (log_init ("leads"), 0);
    unsetenv ("CRM_LOG_LEVEL");
    char *text = s_write_capture (LOG_LEVEL_INFO, "hidden");
    assert_string_equal (text, "");
    free (text);
    text = s_write_capture (LOG_LEVEL_DEBUG, "hidden");
    assert_string_equal (text, "");
    free (text);
    text = s_write_capture (LOG_LEVEL_WARN, "shown");
    assert_non_null (strstr (text, "\"level\":\"warn\""));
    free (text);
    text = s_write_capture (LOG_LEVEL_ERROR, "shown");
    assert_non_null (strstr (text, "\"level\":\"error\""));
    free (text);
}

static void
test_debug_level_shows_debug (void **state)
{
    (void) state;
    setenv ("CRM_LOG_LEVEL", "debug", 1);
    assert_int_equal (log_init ("leads"), 0);
    unsetenv ("CRM_LOG_LEVEL");
    char *text = s_write_capture (LOG_LEVEL_DEBUG, "detail");
    assert_non_null (strstr (text, "\"level\":\"debug\""));
    free (text);
}

static void
test_error_level_shows_only_errors (void **state)
{
    (void) state;
    setenv ("CRM_LOG_LEVEL", "error", 1);
    assert_int_equal (log_init ("leads"), 0);
    unsetenv ("CRM_LOG_LEVEL");
    char *text = s_write_capture (LOG_LEVEL_WARN, "hidden");
    assert_string_equal (text, "");
    free (text);
    text = s_write_capture (LOG_LEVEL_ERROR, "shown");
    assert_non_null (strstr (text, "\"msg\":\"shown\""));
    free (text);
}

static void
test_init_unknown_level_fails_and_keeps_info (void **state)
{
    (void) state;
    //  A typo must be reported (the service refuses to start), not silently
    //  change what is logged.
    setenv ("CRM_LOG_LEVEL", "verbose", 1);
    assert_int_equal (log_init ("leads"), -1);
    unsetenv ("CRM_LOG_LEVEL");
    char *text = s_write_capture (LOG_LEVEL_DEBUG, "hidden");
    assert_string_equal (text, "");
    free (text);
    text = s_write_capture (LOG_LEVEL_INFO, "shown");
    assert_non_null (strstr (text, "\"msg\":\"shown\""));
    free (text);
}

static void
test_init_unset_or_empty_level_is_accepted (void **state)
{
    (void) state;
    unsetenv ("CRM_LOG_LEVEL");
    assert_int_equal (log_init ("leads"), 0);
    setenv ("CRM_LOG_LEVEL", "", 1);
    assert_int_equal (log_init ("leads"), 0);
    unsetenv ("CRM_LOG_LEVEL");
}

static void
test_init_sets_service_name_cut_at_31_bytes (void **state)
{
    (void) state;
    assert_int_equal (log_init ("notifier"), 0);
    s_write_and_parse (LOG_LEVEL_INFO, "hello", NULL, NULL, NULL, NULL, NULL, NULL);
    assert_string_equal (s_pairs[2].value, "notifier");
    assert_int_equal (log_init ("a-service-name-that-is-much-too-long-to-keep"), 0);
    s_write_and_parse (LOG_LEVEL_INFO, "hello", NULL, NULL, NULL, NULL, NULL, NULL);
    assert_string_equal (s_pairs[2].value, "a-service-name-that-is-much-too");
}

int
main (void)
{
#define T(name) cmocka_unit_test_setup (name, s_setup)
    const struct CMUnitTest tests[] = {
        T (test_escape_plain_text_is_unchanged),
        T (test_escape_empty_string),
        T (test_escape_quotes_and_backslash),
        T (test_escape_newline_return_tab_short_forms),
        T (test_escape_other_control_chars_as_u00xx),
        T (test_escape_passes_utf8_and_del_through),
        T (test_escape_zero_size_writes_nothing),
        T (test_escape_size_one_gives_empty_string),
        T (test_escape_cut_keeps_whole_escapes),
        T (test_escape_cut_at_every_size_stays_in_buffer),
        T (test_escape_cut_never_splits_a_utf8_character),
        T (test_u64_formats_zero_and_max),
        T (test_u64_returns_its_buffer),
        T (test_write_is_one_json_line_with_standard_fields_then_pairs),
        T (test_write_timestamp_is_utc_iso8601_with_ms_now),
        T (test_write_null_value_is_json_null),
        T (test_write_escapes_msg_and_values),
        T (test_write_without_pairs_has_four_fields),
        T (test_write_long_msg_is_cut_to_one_valid_line),
        T (test_write_long_value_is_cut_to_one_valid_line),
        T (test_write_line_text_is_compact_in_call_order),
        T (test_write_escapes_every_control_char),
        T (test_write_invalid_utf8_becomes_replacement_char),
        T (test_write_long_value_of_escapes_is_cut_to_one_valid_line),
        T (test_info_level_hides_debug_only),
        T (test_warn_level_suppresses_info),
        T (test_debug_level_shows_debug),
        T (test_error_level_shows_only_errors),
        T (test_init_unknown_level_fails_and_keeps_info),
        T (test_init_unset_or_empty_level_is_accepted),
        T (test_init_sets_service_name_cut_at_31_bytes),
    };
#undef T
    return cmocka_run_group_tests (tests, NULL, NULL);
}
