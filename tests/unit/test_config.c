/*  test_config: a service's settings from the environment (common/config.c):
    defaults, overrides, rejection of bad values with an error that names the
    variable, and the endpoints built from them.

    Every test starts with no CRM_* variable set (s_setup clears them), so
    that neither the caller's environment nor an earlier test leaks in.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

extern char **environ;

static int
s_setup (void **state)
{
    (void) state;
    //  Collect the names first: unsetenv reshuffles environ.
    char names[64][128];
    size_t count = 0;
    for (char **env = environ; *env && count < 64; env++)
        if (strncmp (*env, "CRM_", 4) == 0) {
            size_t len = strcspn (*env, "=");
            if (len < sizeof names[0]) {
                memcpy (names[count], *env, len);
                names[count++][len] = 0;
            }
        }
    for (size_t i = 0; i < count; i++)
        unsetenv (names[i]);
    return 0;
}

static int
s_teardown (void **state)
{
    return s_setup (state);
}

//  Loads service and expects failure with an error naming what.
static void
s_expect_error (const char *service, const char *what)
{
    config_t cfg;
    char err[256] = "";
    assert_int_equal (config_load (&cfg, service, err, sizeof err), -1);
    if (!strstr (err, what))
        fail_msg ("error \"%s\" does not name %s", err, what);
}

static void
s_load_ok (config_t *cfg, const char *service)
{
    char err[256] = "";
    if (config_load (cfg, service, err, sizeof err))
        fail_msg ("config_load (%s) failed: %s", service, err);
}

// ---------------------------------------------------------------- defaults

static void
test_defaults_for_leads (void **state)
{
    (void) state;
    config_t cfg;
    s_load_ok (&cfg, "leads");
    assert_string_equal (cfg.service, "leads");
    assert_string_equal (cfg.bind_addr, "127.0.0.1");
    assert_int_equal (cfg.base_port, 5550);
    assert_int_equal (cfg.source_count, 2);      // tasks, timer
    assert_int_equal (cfg.heartbeat_ms, 1000);
    assert_int_equal (cfg.replay_timeout_ms, 2000);
    assert_int_equal (cfg.batch_max, 1000);
    assert_int_equal (cfg.outbox_retention_s, 7 * 86400);
    assert_int_equal (cfg.max_message_bytes, 16 << 20);
    assert_string_equal (cfg.db_user, "crm_leads");
    assert_string_equal (cfg.db_password, "");
}

static void
test_default_base_ports_are_ten_apart_from_5550 (void **state)
{
    (void) state;
    const char *names[] = {"leads", "deals", "tasks", "notifier", "timer"};
    for (int i = 0; i < 5; i++) {
        config_t cfg;
        s_load_ok (&cfg, names[i]);
        assert_int_equal (cfg.base_port, 5550 + 10 * i);
        assert_int_equal (config_base_port (names[i]), 5550 + 10 * i);
    }
}

static void
test_default_sources_follow_the_event_flow (void **state)
{
    (void) state;
    config_t cfg;
    s_load_ok (&cfg, "leads");
    assert_int_equal (cfg.source_count, 2);
    assert_string_equal (cfg.sources[0], "tasks");
    assert_string_equal (cfg.sources[1], "timer");

    s_load_ok (&cfg, "deals");
    assert_int_equal (cfg.source_count, 3);
    assert_string_equal (cfg.sources[0], "leads");
    assert_string_equal (cfg.sources[1], "tasks");
    assert_string_equal (cfg.sources[2], "timer");

    s_load_ok (&cfg, "tasks");
    assert_int_equal (cfg.source_count, 3);
    assert_string_equal (cfg.sources[0], "leads");
    assert_string_equal (cfg.sources[1], "deals");
    assert_string_equal (cfg.sources[2], "timer");

    s_load_ok (&cfg, "notifier");
    assert_int_equal (cfg.source_count, 4);
    assert_string_equal (cfg.sources[0], "leads");
    assert_string_equal (cfg.sources[1], "deals");
    assert_string_equal (cfg.sources[2], "tasks");
    assert_string_equal (cfg.sources[3], "timer");

    s_load_ok (&cfg, "timer");
    assert_int_equal (cfg.source_count, 3);
    assert_string_equal (cfg.sources[2], "tasks");
}

static void
test_default_db_user_is_per_service (void **state)
{
    (void) state;
    //  Each service owns its schema: its own role by default.
    config_t cfg;
    s_load_ok (&cfg, "notifier");
    assert_string_equal (cfg.db_user, "crm_notifier");
}

static void
test_unknown_service_is_refused (void **state)
{
    (void) state;
    s_expect_error ("billing", "billing");
    assert_int_equal (config_base_port ("billing"), -1);
    assert_int_equal (config_base_port (""), -1);
    assert_int_equal (config_base_port ("LEADS"), -1);  // names are lower case
}

// ---------------------------------------------------------------- overrides

static void
test_env_overrides_every_integer (void **state)
{
    (void) state;
    setenv ("CRM_HEARTBEAT_MS", "250", 1);
    setenv ("CRM_REPLAY_TIMEOUT_MS", "750", 1);
    setenv ("CRM_BATCH_MAX", "1", 1);
    setenv ("CRM_OUTBOX_RETENTION_S", "3600", 1);
    setenv ("CRM_MAX_MESSAGE_BYTES", "1048576", 1);
    config_t cfg;
    s_load_ok (&cfg, "deals");
    assert_int_equal (cfg.heartbeat_ms, 250);
    assert_int_equal (cfg.replay_timeout_ms, 750);
    assert_int_equal (cfg.batch_max, 1);
    assert_int_equal (cfg.outbox_retention_s, 3600);
    assert_int_equal (cfg.max_message_bytes, 1048576);
}

static void
test_env_overrides_port_bind_address_and_db_credentials (void **state)
{
    (void) state;
    setenv ("CRM_DEALS_PORT", "6000", 1);
    setenv ("CRM_BIND_ADDR", "0.0.0.0", 1);
    setenv ("CRM_DB_USER", "crm_admin", 1);
    setenv ("CRM_DB_PASSWORD", "s3cret", 1);
    config_t cfg;
    s_load_ok (&cfg, "deals");
    assert_int_equal (cfg.base_port, 6000);
    assert_string_equal (cfg.bind_addr, "0.0.0.0");
    assert_string_equal (cfg.db_user, "crm_admin");
    assert_string_equal (cfg.db_password, "s3cret");
    //  Another service's port variable does not move this one.
    s_load_ok (&cfg, "tasks");
    assert_int_equal (cfg.base_port, 5570);
}

static void
test_empty_variable_means_default (void **state)
{
    (void) state;
    //  "VAR=" in an env file is the same as not setting it.
    setenv ("CRM_BATCH_MAX", "", 1);
    setenv ("CRM_LEADS_PORT", "", 1);
    setenv ("CRM_BIND_ADDR", "", 1);
    config_t cfg;
    s_load_ok (&cfg, "leads");
    assert_int_equal (cfg.batch_max, 1000);
    assert_int_equal (cfg.base_port, 5550);
    assert_string_equal (cfg.bind_addr, "127.0.0.1");
}

static void
test_integer_bounds_are_inclusive (void **state)
{
    (void) state;
    config_t cfg;
    setenv ("CRM_HEARTBEAT_MS", "10", 1);
    setenv ("CRM_BATCH_MAX", "100000", 1);
    setenv ("CRM_LEADS_PORT", "65532", 1);
    setenv ("CRM_LEADS_HTTP_PORT", "65535", 1);  // base + 5 would not fit
    s_load_ok (&cfg, "leads");
    assert_int_equal (cfg.http_port, 65535);
    assert_int_equal (cfg.heartbeat_ms, 10);
    assert_int_equal (cfg.batch_max, 100000);
    assert_int_equal (cfg.base_port, 65532);
    setenv ("CRM_LEADS_PORT", "1", 1);
    s_load_ok (&cfg, "leads");
    assert_int_equal (cfg.base_port, 1);
}

static void
test_sources_override_with_commas_and_spaces (void **state)
{
    (void) state;
    setenv ("CRM_NOTIFIER_SOURCES", "leads, timer,deals", 1);
    config_t cfg;
    s_load_ok (&cfg, "notifier");
    assert_int_equal (cfg.source_count, 3);
    assert_string_equal (cfg.sources[0], "leads");
    assert_string_equal (cfg.sources[1], "timer");
    assert_string_equal (cfg.sources[2], "deals");
}

// ---------------------------------------------------------------- rejections

static void
test_malformed_integer_is_refused_naming_the_variable (void **state)
{
    (void) state;
    const char *vars[] = {"CRM_HEARTBEAT_MS", "CRM_REPLAY_TIMEOUT_MS", "CRM_BATCH_MAX",
                          "CRM_OUTBOX_RETENTION_S", "CRM_MAX_MESSAGE_BYTES"};
    //  Trailing junk, decimals, hex, exponents, signs only, and a number
    //  that overflows long: none may be read as something else.
    const char *bad[] = {"abc", "12abc", "1.5", "0x10", "1e3", "-", "100 ", "99999999999999999999"};
    for (size_t v = 0; v < sizeof vars / sizeof vars[0]; v++)
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            setenv (vars[v], bad[b], 1);
            s_expect_error ("leads", vars[v]);
            unsetenv (vars[v]);
        }
}

static void
test_out_of_range_integer_is_refused_naming_the_variable (void **state)
{
    (void) state;
    const struct {
        const char *var;
        const char *below, *above;
    } cases[] = {
        {"CRM_HEARTBEAT_MS", "9", "60001"},
        {"CRM_REPLAY_TIMEOUT_MS", "49", "600001"},
        {"CRM_BATCH_MAX", "0", "100001"},
        {"CRM_OUTBOX_RETENTION_S", "59", "31536001"},
        {"CRM_MAX_MESSAGE_BYTES", "1023", "67108865"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv (cases[i].var, cases[i].below, 1);
        s_expect_error ("tasks", cases[i].var);
        setenv (cases[i].var, cases[i].above, 1);
        s_expect_error ("tasks", cases[i].var);
        setenv (cases[i].var, "-1", 1);
        s_expect_error ("tasks", cases[i].var);
        unsetenv (cases[i].var);
    }
}

static void
test_bad_port_is_refused (void **state)
{
    (void) state;
    //  65533 would put the intake socket (base + 3) past 65535.
    const char *bad[] = {"0", "-1", "65533", "70000", "http", "55x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv ("CRM_LEADS_PORT", bad[i], 1);
        s_expect_error ("leads", "PORT");
        assert_int_equal (config_base_port ("leads"), -1);
    }
}

static void
test_http_port_defaults_to_base_plus_5 (void **state)
{
    (void) state;
    config_t cfg;
    s_load_ok (&cfg, "leads");
    assert_int_equal (cfg.http_port, 5555);
    assert_int_equal (cfg.http_max_body, 64 * 1024);
    s_load_ok (&cfg, "timer");
    assert_int_equal (cfg.http_port, 5595);
    setenv ("CRM_TIMER_PORT", "7000", 1);
    s_load_ok (&cfg, "timer");
    assert_int_equal (cfg.http_port, 7005);
    setenv ("CRM_TIMER_HTTP_PORT", "9100", 1);
    s_load_ok (&cfg, "timer");
    assert_int_equal (cfg.http_port, 9100);
    setenv ("CRM_TIMER_HTTP_PORT", "0", 1);  // no HTTP server
    s_load_ok (&cfg, "timer");
    assert_int_equal (cfg.http_port, 0);
    setenv ("CRM_HTTP_MAX_BODY_BYTES", "1000", 1);
    s_load_ok (&cfg, "timer");
    assert_int_equal (cfg.http_max_body, 1000);
}

static void
test_bad_http_port_is_refused (void **state)
{
    (void) state;
    const char *bad[] = {"-1", "65536", "http", "80x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv ("CRM_DEALS_HTTP_PORT", bad[i], 1);
        s_expect_error ("deals", "CRM_DEALS_HTTP_PORT");
    }
    unsetenv ("CRM_DEALS_HTTP_PORT");
    setenv ("CRM_DEALS_PORT", "65531", 1);  // + 5 is past 65535
    s_expect_error ("deals", "CRM_DEALS_HTTP_PORT is unset");
    setenv ("CRM_DEALS_PORT", "6000", 1);
    setenv ("CRM_HTTP_MAX_BODY_BYTES", "100", 1);
    s_expect_error ("deals", "CRM_HTTP_MAX_BODY_BYTES");
}

static void
test_bad_port_error_names_the_variable_exactly (void **state)
{
    (void) state;
    //  The message names the variable exactly as the operator must set it.
    setenv ("CRM_LEADS_PORT", "abc", 1);
    s_expect_error ("leads", "CRM_LEADS_PORT");
}

static void
test_unknown_source_is_refused_naming_it (void **state)
{
    (void) state;
    setenv ("CRM_DEALS_SOURCES", "leads,billing", 1);
    s_expect_error ("deals", "'billing'");
    s_expect_error ("deals", "SOURCES");
}

static void
test_source_names_are_case_sensitive (void **state)
{
    (void) state;
    setenv ("CRM_DEALS_SOURCES", "Leads", 1);
    s_expect_error ("deals", "'Leads'");
}

static void
test_service_listing_itself_is_refused (void **state)
{
    (void) state;
    //  A service consuming its own events would loop.
    setenv ("CRM_DEALS_SOURCES", "leads,deals", 1);
    s_expect_error ("deals", "'deals'");
}

static void
test_sources_error_names_the_variable_exactly (void **state)
{
    (void) state;
    //  The message names the variable exactly as the operator must set it.
    setenv ("CRM_DEALS_SOURCES", "billing", 1);
    s_expect_error ("deals", "CRM_DEALS_SOURCES");
}

static void
test_more_than_max_sources_is_refused (void **state)
{
    (void) state;
    //  Only repeats can exceed the limit with five services; whichever rule
    //  refuses them, the array must not overflow.
    setenv ("CRM_NOTIFIER_SOURCES", "leads,deals,tasks,timer,leads,deals,tasks,timer,leads", 1);
    s_expect_error ("notifier", "SOURCES");
}

static void
test_repeated_source_is_refused (void **state)
{
    (void) state;
    //  A source listed twice would get two consumers: every event applied twice.
    setenv ("CRM_TASKS_SOURCES", "leads,leads", 1);
    s_expect_error ("tasks", "'leads'");
}

static void
test_source_with_bad_port_is_refused (void **state)
{
    (void) state;
    //  A source's endpoint comes from its port variable: a bad one must
    //  stop the consumer from starting, not connect somewhere else.
    setenv ("CRM_LEADS_PORT", "nope", 1);
    config_t cfg;
    char err[256];
    assert_int_equal (config_load (&cfg, "deals", err, sizeof err), -1);
}

static void
test_error_is_cut_to_the_buffer (void **state)
{
    (void) state;
    setenv ("CRM_BATCH_MAX", "x", 1);
    config_t cfg;
    char err[12];
    memset (err, '#', sizeof err);
    assert_int_equal (config_load (&cfg, "leads", err, 8), -1);
    assert_string_equal (err, "CRM_BAT");
    assert_int_equal (err[8], '#');
}

// ---------------------------------------------------------------- endpoints

static void
test_peer_endpoint_defaults_to_localhost_and_base_port_plus_kind (void **state)
{
    (void) state;
    char out[64];
    assert_int_equal (config_peer_endpoint ("leads", CONFIG_CMD, out, sizeof out), 0);
    assert_string_equal (out, "tcp://127.0.0.1:5550");
    assert_int_equal (config_peer_endpoint ("leads", CONFIG_PUB, out, sizeof out), 0);
    assert_string_equal (out, "tcp://127.0.0.1:5551");
    assert_int_equal (config_peer_endpoint ("leads", CONFIG_REPLAY, out, sizeof out), 0);
    assert_string_equal (out, "tcp://127.0.0.1:5552");
    assert_int_equal (config_peer_endpoint ("leads", CONFIG_INTAKE, out, sizeof out), 0);
    assert_string_equal (out, "tcp://127.0.0.1:5553");
    assert_int_equal (config_peer_endpoint ("timer", CONFIG_PUB, out, sizeof out), 0);
    assert_string_equal (out, "tcp://127.0.0.1:5591");
}

static void
test_peer_endpoint_uses_the_peers_host_and_port (void **state)
{
    (void) state;
    setenv ("CRM_DEALS_HOST", "deals.internal", 1);
    setenv ("CRM_DEALS_PORT", "7000", 1);
    char out[64];
    assert_int_equal (config_peer_endpoint ("deals", CONFIG_REPLAY, out, sizeof out), 0);
    assert_string_equal (out, "tcp://deals.internal:7002");
    //  Only that peer moves.
    assert_int_equal (config_peer_endpoint ("tasks", CONFIG_PUB, out, sizeof out), 0);
    assert_string_equal (out, "tcp://127.0.0.1:5571");
}

static void
test_peer_endpoint_of_unknown_service_fails (void **state)
{
    (void) state;
    char out[64] = "";
    assert_int_equal (config_peer_endpoint ("billing", CONFIG_PUB, out, sizeof out), -1);
    setenv ("CRM_DEALS_PORT", "bad", 1);
    assert_int_equal (config_peer_endpoint ("deals", CONFIG_PUB, out, sizeof out), -1);
}

static void
test_peer_endpoint_too_long_fails (void **state)
{
    (void) state;
    //  A cut endpoint would connect to the wrong host or port.
    char out[32];
    assert_int_equal (config_peer_endpoint ("leads", CONFIG_CMD, out, 20), -1);
    assert_int_equal (config_peer_endpoint ("leads", CONFIG_CMD, out, 21), 0);
    assert_string_equal (out, "tcp://127.0.0.1:5550");
}

static void
test_bind_endpoint_uses_bind_addr_and_own_port (void **state)
{
    (void) state;
    config_t cfg;
    char out[64];
    s_load_ok (&cfg, "notifier");
    assert_int_equal (config_bind_endpoint (&cfg, CONFIG_CMD, out, sizeof out), 0);
    assert_string_equal (out, "tcp://127.0.0.1:5580");
    setenv ("CRM_BIND_ADDR", "*", 1);
    setenv ("CRM_NOTIFIER_PORT", "9000", 1);
    s_load_ok (&cfg, "notifier");
    assert_int_equal (config_bind_endpoint (&cfg, CONFIG_REPLAY, out, sizeof out), 0);
    assert_string_equal (out, "tcp://*:9002");
}

static void
test_bind_endpoint_too_short_buffer_fails (void **state)
{
    (void) state;
    config_t cfg;
    s_load_ok (&cfg, "leads");
    char out[64];
    memset (out, '#', sizeof out);
    assert_int_equal (config_bind_endpoint (&cfg, CONFIG_PUB, out, 10), -1);
    assert_int_equal (out[9], 0);
    assert_int_equal (out[10], '#');
}

// ---------------------------------------------------------------- config_str / config_int

static void
test_config_str_default_when_unset_or_empty (void **state)
{
    (void) state;
    assert_string_equal (config_str ("CRM_TEST_STR", "dflt"), "dflt");
    setenv ("CRM_TEST_STR", "", 1);
    assert_string_equal (config_str ("CRM_TEST_STR", "dflt"), "dflt");
    setenv ("CRM_TEST_STR", "value", 1);
    assert_string_equal (config_str ("CRM_TEST_STR", "dflt"), "value");
    assert_null (config_str ("CRM_TEST_UNSET", NULL));
}

static void
test_config_int_reads_negative_and_leaves_out_alone_on_error (void **state)
{
    (void) state;
    int out = 123;
    setenv ("CRM_TEST_INT", "-5", 1);
    assert_int_equal (config_int ("CRM_TEST_INT", 0, -10, 10, &out), 0);
    assert_int_equal (out, -5);
    out = 123;
    setenv ("CRM_TEST_INT", "11", 1);
    assert_int_equal (config_int ("CRM_TEST_INT", 0, -10, 10, &out), -1);
    assert_int_equal (out, 123);
    unsetenv ("CRM_TEST_INT");
    assert_int_equal (config_int ("CRM_TEST_INT", 7, -10, 10, &out), 0);
    assert_int_equal (out, 7);
}

int
main (void)
{
#define T(name) cmocka_unit_test_setup_teardown (name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T (test_defaults_for_leads),
        T (test_default_base_ports_are_ten_apart_from_5550),
        T (test_default_sources_follow_the_event_flow),
        T (test_default_db_user_is_per_service),
        T (test_unknown_service_is_refused),
        T (test_env_overrides_every_integer),
        T (test_env_overrides_port_bind_address_and_db_credentials),
        T (test_empty_variable_means_default),
        T (test_integer_bounds_are_inclusive),
        T (test_sources_override_with_commas_and_spaces),
        T (test_malformed_integer_is_refused_naming_the_variable),
        T (test_out_of_range_integer_is_refused_naming_the_variable),
        T (test_bad_port_is_refused),
        T (test_bad_port_error_names_the_variable_exactly),
        T (test_http_port_defaults_to_base_plus_5),
        T (test_bad_http_port_is_refused),
        T (test_unknown_source_is_refused_naming_it),
        T (test_source_names_are_case_sensitive),
        T (test_service_listing_itself_is_refused),
        T (test_sources_error_names_the_variable_exactly),
        T (test_more_than_max_sources_is_refused),
        T (test_repeated_source_is_refused),
        T (test_source_with_bad_port_is_refused),
        T (test_error_is_cut_to_the_buffer),
        T (test_peer_endpoint_defaults_to_localhost_and_base_port_plus_kind),
        T (test_peer_endpoint_uses_the_peers_host_and_port),
        T (test_peer_endpoint_of_unknown_service_fails),
        T (test_peer_endpoint_too_long_fails),
        T (test_bind_endpoint_uses_bind_addr_and_own_port),
        T (test_bind_endpoint_too_short_buffer_fails),
        T (test_config_str_default_when_unset_or_empty),
        T (test_config_int_reads_negative_and_leaves_out_alone_on_error),
    };
#undef T
    return cmocka_run_group_tests (tests, NULL, NULL);
}
