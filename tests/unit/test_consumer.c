/*  test_consumer: the idempotent consumer's sequence bookkeeping
    (common/consumer.c). Pure decisions: no sockets, no database.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer.h"

//  A consumer restarted from committed offset 41 that has since learnt, by
//  its probe, that it is up to date: the common starting point.
static void
s_caught_up (consumer_t *c)
{
    consumer_init (c, "leads", 41);
    consumer_replay_sent (c, 1000);
    consumer_replay_done (c);
}

// ---------------------------------------------------------------- init

static void
test_init_starts_all_marks_at_committed_offset (void **state)
{
    (void) state;
    consumer_t c;
    memset (&c, 0xA5, sizeof c);  // init must not depend on prior contents
    consumer_init (&c, "leads", 41);
    assert_string_equal (c.source, "leads");
    assert_int_equal (c.applied, 41);
    assert_int_equal (c.accepted, 41);
    assert_int_equal (c.latest, 41);
    assert_int_equal (c.replay_sent_ms, 0);
    assert_int_equal (consumer_lag (&c), 0);
}

static void
test_init_makes_a_probe_due (void **state)
{
    (void) state;
    //  Nothing says we are behind, yet events may have been published while
    //  we were away: a fresh start must ask.
    consumer_t c;
    consumer_init (&c, "leads", 41);
    assert_true (c.probe);
    assert_true (consumer_wants_replay (&c, 5000, 2000));
}

static void
test_init_truncates_a_long_source_name (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "a-very-long-source-name", 0);
    assert_int_equal (strlen (c.source), sizeof c.source - 1);
    assert_memory_equal (c.source, "a-very-long-sou", sizeof c.source - 1);
}

static void
test_init_may_take_its_own_source_field (void **state)
{
    (void) state;
    //  service.c re-inits from src->state.source once the offset is read:
    //  the name must survive the memset.
    consumer_t c;
    consumer_init (&c, "deals", 0);
    consumer_init (&c, c.source, 7);
    assert_string_equal (c.source, "deals");
    assert_int_equal (c.applied, 7);
}

// ---------------------------------------------------------------- offer

static void
test_offer_next_sequence_is_accepted (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    assert_int_equal (consumer_offer (&c, 42), CONSUMER_ACCEPT);
    assert_int_equal (c.accepted, 42);
    assert_int_equal (c.latest, 42);
    //  Accepting is not committing: applied waits for the transaction.
    assert_int_equal (c.applied, 41);
    assert_int_equal (consumer_offer (&c, 43), CONSUMER_ACCEPT);
    assert_int_equal (c.accepted, 43);
}

static void
test_offer_repeat_is_duplicate_and_changes_nothing (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    assert_int_equal (consumer_offer (&c, 42), CONSUMER_ACCEPT);
    consumer_t before = c;
    assert_int_equal (consumer_offer (&c, 42), CONSUMER_DUPLICATE);  // accepted, uncommitted
    assert_int_equal (consumer_offer (&c, 41), CONSUMER_DUPLICATE);  // committed
    assert_int_equal (consumer_offer (&c, 1), CONSUMER_DUPLICATE);
    //  Field by field: a struct copy need not carry its padding.
    assert_int_equal (c.applied, before.applied);
    assert_int_equal (c.accepted, before.accepted);
    assert_int_equal (c.latest, before.latest);
    assert_int_equal (c.probe, before.probe);
    assert_int_equal (c.replay_sent_ms, before.replay_sent_ms);
}

static void
test_offer_sequence_zero_is_never_accepted (void **state)
{
    (void) state;
    //  Sequences start at 1; 0 is what an unset protobuf field reads as.
    consumer_t c;
    consumer_init (&c, "leads", 0);
    assert_int_equal (consumer_offer (&c, 0), CONSUMER_DUPLICATE);
    assert_int_equal (c.accepted, 0);
}

static void
test_offer_ahead_is_gap_and_moves_latest (void **state)
{
    (void) state;
    consumer_t c;
    s_caught_up (&c);
    assert_int_equal (consumer_offer (&c, 45), CONSUMER_GAP);
    //  The event is dropped (it comes back by replay), but we now know we
    //  are behind.
    assert_int_equal (c.accepted, 41);
    assert_int_equal (c.latest, 45);
    assert_int_equal (consumer_lag (&c), 4);
    assert_true (consumer_wants_replay (&c, 2000, 2000));
}

static void
test_offer_gap_behind_latest_keeps_latest (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    consumer_announce (&c, 50);
    assert_int_equal (consumer_offer (&c, 45), CONSUMER_GAP);
    assert_int_equal (c.latest, 50);
}

static void
test_offer_next_is_accepted_after_a_gap (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    assert_int_equal (consumer_offer (&c, 44), CONSUMER_GAP);
    assert_int_equal (consumer_offer (&c, 42), CONSUMER_ACCEPT);
    assert_int_equal (consumer_offer (&c, 43), CONSUMER_ACCEPT);
    assert_int_equal (consumer_offer (&c, 44), CONSUMER_ACCEPT);  // the dropped one, replayed
    assert_int_equal (c.accepted, 44);
    assert_int_equal (c.latest, 44);
}

// ---------------------------------------------------------------- announce

static void
test_announce_moves_latest_forward_only (void **state)
{
    (void) state;
    //  Heartbeats can arrive late or reordered; an old one must not hide
    //  that we are behind.
    consumer_t c;
    consumer_init (&c, "leads", 41);
    consumer_announce (&c, 60);
    assert_int_equal (c.latest, 60);
    consumer_announce (&c, 50);
    assert_int_equal (c.latest, 60);
    consumer_announce (&c, 0);
    assert_int_equal (c.latest, 60);
    assert_int_equal (c.accepted, 41);
}

// ---------------------------------------------------------------- wants_replay

static void
test_wants_replay_not_when_caught_up_and_probed (void **state)
{
    (void) state;
    consumer_t c;
    s_caught_up (&c);
    assert_false (consumer_wants_replay (&c, 100000, 2000));
    consumer_announce (&c, 41);  // a heartbeat saying what we have
    assert_false (consumer_wants_replay (&c, 100000, 2000));
}

static void
test_wants_replay_when_behind (void **state)
{
    (void) state;
    consumer_t c;
    s_caught_up (&c);
    consumer_announce (&c, 42);
    assert_true (consumer_wants_replay (&c, 100000, 2000));
}

static void
test_wants_replay_not_while_a_request_is_in_flight (void **state)
{
    (void) state;
    consumer_t c;
    s_caught_up (&c);
    consumer_announce (&c, 50);
    consumer_replay_sent (&c, 10000);
    assert_false (consumer_wants_replay (&c, 10000, 2000));
    assert_false (consumer_wants_replay (&c, 11999, 2000));
    //  A probe in flight is just as much in flight.
    consumer_init (&c, "leads", 41);
    consumer_replay_sent (&c, 10000);
    assert_false (consumer_wants_replay (&c, 11999, 2000));
}

static void
test_wants_replay_again_when_request_timed_out (void **state)
{
    (void) state;
    //  A lost request or reply must not stall the consumer forever.
    consumer_t c;
    s_caught_up (&c);
    consumer_announce (&c, 50);
    consumer_replay_sent (&c, 10000);
    assert_true (consumer_wants_replay (&c, 12000, 2000));
    assert_true (consumer_wants_replay (&c, 50000, 2000));
}

static void
test_replay_sent_at_time_zero_still_counts_as_in_flight (void **state)
{
    (void) state;
    //  0 means "none in flight", so a request sent at monotonic 0 must
    //  still be remembered.
    consumer_t c;
    consumer_init (&c, "leads", 0);
    consumer_replay_sent (&c, 0);
    assert_int_not_equal (c.replay_sent_ms, 0);
    assert_false (consumer_wants_replay (&c, 500, 2000));
    assert_true (consumer_wants_replay (&c, 2001, 2000));
}

static void
test_replay_done_clears_request_and_probe (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    consumer_replay_sent (&c, 10000);
    consumer_replay_done (&c);
    assert_false (c.probe);
    assert_int_equal (c.replay_sent_ms, 0);
    assert_false (consumer_wants_replay (&c, 10001, 2000));
}

static void
test_replay_done_while_still_behind_asks_again_at_once (void **state)
{
    (void) state;
    //  A reply may carry only part of the range (the source caps it): the
    //  next request goes out without waiting for a timeout.
    consumer_t c;
    consumer_init (&c, "leads", 41);
    consumer_replay_sent (&c, 10000);
    consumer_announce (&c, 100);
    assert_int_equal (consumer_offer (&c, 42), CONSUMER_ACCEPT);
    consumer_replay_done (&c);
    assert_true (consumer_wants_replay (&c, 10001, 2000));
}

// ---------------------------------------------------------------- skip_to

static void
test_skip_to_pruned_range_returns_count_lost (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 10);
    consumer_announce (&c, 40);
    //  The source kept only 21 onwards: 11..20 are gone.
    assert_int_equal (consumer_skip_to (&c, 21), 10);
    assert_int_equal (c.accepted, 20);
    assert_int_equal (c.latest, 40);
    assert_int_equal (consumer_offer (&c, 21), CONSUMER_ACCEPT);
}

static void
test_skip_to_next_or_older_loses_nothing (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 10);
    assert_int_equal (consumer_skip_to (&c, 11), 0);  // first retained is the next one
    assert_int_equal (consumer_skip_to (&c, 5), 0);
    assert_int_equal (consumer_skip_to (&c, 1), 0);
    assert_int_equal (c.accepted, 10);
}

static void
test_skip_to_counts_from_accepted_not_applied (void **state)
{
    (void) state;
    //  Events accepted in the open transaction are not lost.
    consumer_t c;
    consumer_init (&c, "leads", 10);
    assert_int_equal (consumer_offer (&c, 11), CONSUMER_ACCEPT);
    assert_int_equal (consumer_offer (&c, 12), CONSUMER_ACCEPT);
    assert_int_equal (consumer_skip_to (&c, 20), 7);  // 13..19
    assert_int_equal (c.accepted, 19);
    assert_int_equal (c.applied, 10);
}

static void
test_skip_to_raises_latest_when_behind_it (void **state)
{
    (void) state;
    //  latest must never stay below accepted, or lag would lie.
    consumer_t c;
    consumer_init (&c, "leads", 10);
    assert_int_equal (consumer_skip_to (&c, 31), 20);
    assert_int_equal (c.accepted, 30);
    assert_int_equal (c.latest, 30);
}

// ---------------------------------------------------------------- commit / rollback

static void
test_commit_moves_applied_forward_only (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    for (uint64_t seq = 42; seq <= 45; seq++)
        assert_int_equal (consumer_offer (&c, seq), CONSUMER_ACCEPT);
    consumer_commit (&c, 44);
    assert_int_equal (c.applied, 44);
    assert_int_equal (c.accepted, 45);
    //  service.c commits 0 for a source without events in the batch.
    consumer_commit (&c, 0);
    consumer_commit (&c, 43);
    assert_int_equal (c.applied, 44);
}

static void
test_rollback_returns_accepted_to_applied (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    for (uint64_t seq = 42; seq <= 45; seq++)
        assert_int_equal (consumer_offer (&c, seq), CONSUMER_ACCEPT);
    consumer_commit (&c, 43);
    consumer_rollback (&c);
    assert_int_equal (c.accepted, 43);
    assert_int_equal (c.applied, 43);
    assert_int_equal (c.latest, 45);
    //  The rolled-back events are no longer duplicates: they must be
    //  applied again when they come back.
    assert_int_equal (consumer_offer (&c, 44), CONSUMER_ACCEPT);
}

static void
test_rollback_makes_a_probe_due_at_once (void **state)
{
    (void) state;
    //  The dropped events will not be published again: only a replay brings
    //  them back, even if one was in flight (its reply may be lost).
    consumer_t c;
    s_caught_up (&c);
    consumer_replay_sent (&c, 10000);
    consumer_rollback (&c);
    assert_true (c.probe);
    assert_int_equal (c.replay_sent_ms, 0);
    assert_true (consumer_wants_replay (&c, 10001, 2000));
}

// ---------------------------------------------------------------- lag

static void
test_lag_is_latest_minus_applied (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    consumer_announce (&c, 50);
    assert_int_equal (consumer_lag (&c), 9);
    assert_int_equal (consumer_offer (&c, 42), CONSUMER_ACCEPT);
    assert_int_equal (consumer_lag (&c), 9);  // accepted is not applied
    consumer_commit (&c, 42);
    assert_int_equal (consumer_lag (&c), 8);
}

static void
test_lag_never_wraps_below_zero (void **state)
{
    (void) state;
    consumer_t c;
    consumer_init (&c, "leads", 41);
    consumer_commit (&c, 60);  // applied past latest: lag is 0, not 2^64 - 19
    assert_int_equal (consumer_lag (&c), 0);
}

// ---------------------------------------------------------------- property

//  xorshift64*: a fixed, seedable generator so that a failure reproduces.
static uint64_t
s_rand (uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static uint64_t
s_below (uint64_t *s, uint64_t n)
{
    return s_rand (s) % n;
}

typedef struct {
    uint64_t seq;
    uint64_t published;  // the source's latest when this copy went out
} live_t;

typedef struct {
    size_t verdicts[3];  // by consumer_verdict_t
    size_t requests, replies, rollbacks;
} sim_stats_t;

//  One simulated run: a source publishes 1..total; the live stream loses,
//  repeats and reorders them; heartbeats announce the source's latest; the
//  consumer asks for replays as consumer_wants_replay says, some requests or
//  replies are lost, replies are capped and repeat old events; transactions
//  commit or roll back at random. The consumer's applied log is what a
//  database would hold: on rollback it loses what was not committed.
//  What happened is counted into stats, to show the runs were not trivial.
static void
s_simulate (uint64_t seed, uint64_t total, sim_stats_t *stats)
{
    uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    live_t *live = malloc ((size_t) total * 3 * sizeof *live);
    uint64_t *log = malloc ((size_t) (total + 1) * sizeof *log);
    assert_non_null (live);
    assert_non_null (log);

    //  The live stream: each event goes out once, is lost (20%), repeated
    //  (10%), and old events come back late (5%); then neighbours swap.
    size_t live_n = 0;
    for (uint64_t seq = 1; seq <= total; seq++) {
        if (s_below (&rng, 100) >= 20)
            live[live_n++] = (live_t){seq, seq};
        if (s_below (&rng, 100) < 10)
            live[live_n++] = (live_t){seq, seq};
        if (seq > 4 && s_below (&rng, 100) < 5)
            live[live_n++] = (live_t){seq - 1 - s_below (&rng, 4), seq};
    }
    for (size_t i = 0; i + 1 < live_n; i++)
        if (s_below (&rng, 100) < 15) {
            size_t j = i + 1 + (size_t) s_below (&rng, live_n - i - 1 < 4 ? live_n - i - 1 : 4);
            live_t tmp = live[i];
            live[i] = live[j];
            live[j] = tmp;
        }
    //  A copy is sent at the source's latest at that time, never earlier.
    for (size_t i = 1; i < live_n; i++)
        if (live[i].published < live[i - 1].published)
            live[i].published = live[i - 1].published;

    consumer_t c;
    consumer_init (&c, "leads", 0);
    size_t log_n = 0, committed = 0, steps = 0;
    consumer_verdict_t verdict;
    int64_t now = 0;
    const int timeout = 200;
    uint64_t published = 0;
    size_t next_live = 0;
    //  Replies on their way: a late one may arrive after its request timed
    //  out and the next one went out, as on the wire.
    struct {
        int64_t at;
        uint64_t from;
    } replies[16];
    size_t replies_n = 0;

    //  Runs until the live stream is over and the consumer has caught up.
    while (next_live < live_n || c.applied < total) {
        assert_true (++steps < 1000000);  // it must converge
        now += 1 + (int64_t) s_below (&rng, 30);
        if (next_live < live_n) {
            live_t ev = live[next_live++];
            published = ev.published;
            stats->verdicts[verdict = consumer_offer (&c, ev.seq)]++;
            if (verdict == CONSUMER_ACCEPT)
                log[log_n++] = ev.seq;
        }
        else
            published = total;
        if (s_below (&rng, 100) < 10)
            consumer_announce (&c, published);  // heartbeat
        if (consumer_wants_replay (&c, now, timeout)) {
            consumer_replay_sent (&c, now);
            stats->requests++;
            //  10% of requests or replies are lost: only the timeout helps.
            if (s_below (&rng, 100) >= 10 && replies_n < 16) {
                replies[replies_n].at = now + (int64_t) s_below (&rng, 2 * timeout);
                replies[replies_n++].from = c.accepted + 1;
            }
        }
        for (size_t r = 0; r < replies_n;) {
            if (now < replies[r].at) {
                r++;
                continue;
            }
            //  The reply: events from the requested one (sometimes a few
            //  older ones too), capped at 50, then the source's latest.
            uint64_t from = replies[r].from;
            if (from > 3 && s_below (&rng, 100) < 20)
                from -= s_below (&rng, 3);
            consumer_announce (&c, published);
            for (uint64_t seq = from; seq <= published && seq < from + 50; seq++) {
                stats->verdicts[verdict = consumer_offer (&c, seq)]++;
                if (verdict == CONSUMER_ACCEPT)
                    log[log_n++] = seq;
            }
            consumer_replay_done (&c);
            stats->replies++;
            replies[r] = replies[--replies_n];
        }
        //  Transactions: commit what was accepted, or (rarely) roll back.
        uint64_t dice = s_below (&rng, 100);
        if (dice < 15 || (next_live >= live_n && dice < 50)) {
            consumer_commit (&c, c.accepted);
            committed = log_n;
        }
        else if (dice < 17) {
            consumer_rollback (&c);
            stats->rollbacks++;
            log_n = committed;
        }
        assert_true (c.accepted >= c.applied);
        assert_true (c.latest >= c.accepted);
        assert_int_equal (c.applied, committed ? log[committed - 1] : 0);
    }

    //  The property: the applied log is exactly 1..total, in order, once each.
    if (log_n != total)
        fail_msg ("seed %llu: %zu events applied, expected %llu", (unsigned long long) seed, log_n,
                  (unsigned long long) total);
    for (size_t i = 0; i < log_n; i++)
        if (log[i] != i + 1)
            fail_msg ("seed %llu: log[%zu] is %llu, expected %zu", (unsigned long long) seed, i,
                      (unsigned long long) log[i], i + 1);
    assert_int_equal (c.accepted, total);
    assert_int_equal (consumer_lag (&c), 0);
    free (live);
    free (log);
}

static void
test_shuffled_stream_with_replays_applies_each_event_once_in_order (void **state)
{
    (void) state;
    sim_stats_t stats = {{0}};
    for (uint64_t seed = 1; seed <= 300; seed++)
        s_simulate (seed, 50 + seed % 400, &stats);
    //  Every path was taken, many times; more requests than replies means
    //  some were lost and retried after their timeout.
    assert_true (stats.verdicts[CONSUMER_ACCEPT] > 300 * 50);
    assert_true (stats.verdicts[CONSUMER_DUPLICATE] > 1000);
    assert_true (stats.verdicts[CONSUMER_GAP] > 1000);
    assert_true (stats.replies > 1000);
    assert_true (stats.requests > stats.replies);
    assert_true (stats.rollbacks > 300);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_init_starts_all_marks_at_committed_offset),
        cmocka_unit_test (test_init_makes_a_probe_due),
        cmocka_unit_test (test_init_truncates_a_long_source_name),
        cmocka_unit_test (test_init_may_take_its_own_source_field),
        cmocka_unit_test (test_offer_next_sequence_is_accepted),
        cmocka_unit_test (test_offer_repeat_is_duplicate_and_changes_nothing),
        cmocka_unit_test (test_offer_sequence_zero_is_never_accepted),
        cmocka_unit_test (test_offer_ahead_is_gap_and_moves_latest),
        cmocka_unit_test (test_offer_gap_behind_latest_keeps_latest),
        cmocka_unit_test (test_offer_next_is_accepted_after_a_gap),
        cmocka_unit_test (test_announce_moves_latest_forward_only),
        cmocka_unit_test (test_wants_replay_not_when_caught_up_and_probed),
        cmocka_unit_test (test_wants_replay_when_behind),
        cmocka_unit_test (test_wants_replay_not_while_a_request_is_in_flight),
        cmocka_unit_test (test_wants_replay_again_when_request_timed_out),
        cmocka_unit_test (test_replay_sent_at_time_zero_still_counts_as_in_flight),
        cmocka_unit_test (test_replay_done_clears_request_and_probe),
        cmocka_unit_test (test_replay_done_while_still_behind_asks_again_at_once),
        cmocka_unit_test (test_skip_to_pruned_range_returns_count_lost),
        cmocka_unit_test (test_skip_to_next_or_older_loses_nothing),
        cmocka_unit_test (test_skip_to_counts_from_accepted_not_applied),
        cmocka_unit_test (test_skip_to_raises_latest_when_behind_it),
        cmocka_unit_test (test_commit_moves_applied_forward_only),
        cmocka_unit_test (test_rollback_returns_accepted_to_applied),
        cmocka_unit_test (test_rollback_makes_a_probe_due_at_once),
        cmocka_unit_test (test_lag_is_latest_minus_applied),
        cmocka_unit_test (test_lag_never_wraps_below_zero),
        cmocka_unit_test (test_shuffled_stream_with_replays_applies_each_event_once_in_order),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
