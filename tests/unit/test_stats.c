/*  test_stats: the runtime's counters (common/stats.c): per type, the
    histogram's buckets, and the Prometheus text they are written as.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

//  stats_write's text for self (caller frees).
static char *
s_text (const stats_t *self)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    assert_non_null (out);
    stats_write (self, "leads", out);
    fclose (out);
    return text;
}

static void
s_has_line (const char *text, const char *line)
{
    char needle[256];
    snprintf (needle, sizeof needle, "\n%s\n", line);
    if (!strstr (text, needle) && strncmp (text, needle + 1, strlen (needle + 1)) != 0)
        fail_msg ("no line '%s' in:\n%s", line, text);
}

static void
test_counts_per_type_and_totals (void **state)
{
    (void) state;
    stats_t *s = calloc (1, sizeof *s);
    stats_published (s, "LeadCreated");
    stats_published (s, "LeadCreated");
    stats_published (s, "NotificationRequested");
    stats_applied (s, "TaskCreated");
    stats_command (s, "SubmitLead", true);
    stats_command (s, "SubmitLead", false);
    stats_command (s, "SubmitLead", true);
    assert_int_equal (stats_total_published (s), 3);
    assert_int_equal (stats_total_applied (s), 1);
    char *text = s_text (s);
    s_has_line (text, "# TYPE crm_events_published_total counter");
    s_has_line (text, "crm_events_published_total{service=\"leads\",type=\"LeadCreated\"} 2");
    s_has_line (text, "crm_events_published_total{service=\"leads\",type=\"NotificationRequested\"} 1");
    s_has_line (text, "crm_events_applied_total{service=\"leads\",type=\"TaskCreated\"} 1");
    s_has_line (text, "crm_commands_total{service=\"leads\",type=\"SubmitLead\",outcome=\"ok\"} 2");
    s_has_line (text, "crm_commands_total{service=\"leads\",type=\"SubmitLead\",outcome=\"error\"} 1");
    //  No sample for what is 0.
    assert_null (strstr (text, "crm_events_applied_total{service=\"leads\",type=\"LeadCreated\"}"));
    free (text);
    free (s);
}

static void
test_types_past_the_table_count_as_other (void **state)
{
    (void) state;
    stats_t *s = calloc (1, sizeof *s);
    for (int i = 0; i < STATS_MAX_TYPES + 10; i++) {
        char type[32];
        snprintf (type, sizeof type, "Type%d", i);
        stats_published (s, type);
    }
    assert_int_equal (stats_total_published (s), STATS_MAX_TYPES + 10);
    char *text = s_text (s);
    s_has_line (text, "crm_events_published_total{service=\"leads\",type=\"Type0\"} 1");
    s_has_line (text, "crm_events_published_total{service=\"leads\",type=\"other\"} 11");
    free (text);
    free (s);
}

static void
test_histogram_buckets_are_cumulative_and_bounds_inclusive (void **state)
{
    (void) state;
    stats_t *s = calloc (1, sizeof *s);
    stats_batch (s, 0.0005, 3);  // le 0.001
    stats_batch (s, 0.001, 1);   // le 0.001: a bound is inclusive
    stats_batch (s, 0.02, 10);   // le 0.025
    stats_batch (s, 30, 1);      // +Inf only
    assert_int_equal (s->batches, 4);
    assert_int_equal (s->batch_items, 15);
    assert_true (s->batch_max_seconds == 30);
    char *text = s_text (s);
    s_has_line (text, "# TYPE crm_batch_duration_seconds histogram");
    s_has_line (text, "crm_batch_duration_seconds_bucket{service=\"leads\",le=\"0.001\"} 2");
    s_has_line (text, "crm_batch_duration_seconds_bucket{service=\"leads\",le=\"0.01\"} 2");
    s_has_line (text, "crm_batch_duration_seconds_bucket{service=\"leads\",le=\"0.025\"} 3");
    s_has_line (text, "crm_batch_duration_seconds_bucket{service=\"leads\",le=\"10\"} 3");
    s_has_line (text, "crm_batch_duration_seconds_bucket{service=\"leads\",le=\"+Inf\"} 4");
    s_has_line (text, "crm_batch_duration_seconds_count{service=\"leads\"} 4");
    s_has_line (text, "crm_batch_duration_seconds_sum{service=\"leads\"} 30.021500");
    s_has_line (text, "crm_batch_items_total{service=\"leads\"} 15");
    free (text);
    free (s);
}

static void
test_every_family_has_help_and_type (void **state)
{
    (void) state;
    stats_t *s = calloc (1, sizeof *s);
    s->dead_letters = 2;
    s->retried = 1;
    char *text = s_text (s);
    const char *families[] = {"crm_events_published_total",
                              "crm_events_applied_total",
                              "crm_commands_total",
                              "crm_dead_letters_recorded_total",
                              "crm_dead_letters_retried_total",
                              "crm_batch_duration_seconds",
                              "crm_batch_items_total"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        char help[128];
        snprintf (help, sizeof help, "# HELP %s ", families[i]);
        assert_non_null (strstr (text, help));
    }
    s_has_line (text, "crm_dead_letters_recorded_total{service=\"leads\"} 2");
    s_has_line (text, "crm_dead_letters_retried_total{service=\"leads\"} 1");
    free (text);
    free (s);
}

static void
test_label_values_are_escaped (void **state)
{
    (void) state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    stats_write_label (out, "a\"b\\c\nd");
    fclose (out);
    assert_string_equal (text, "a\\\"b\\\\c\\nd");
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_counts_per_type_and_totals),
        cmocka_unit_test (test_types_past_the_table_count_as_other),
        cmocka_unit_test (test_histogram_buckets_are_cumulative_and_bounds_inclusive),
        cmocka_unit_test (test_every_family_has_help_and_type),
        cmocka_unit_test (test_label_values_are_escaped),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
