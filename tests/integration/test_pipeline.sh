# crmctl pipeline check: the shipped definitions load; a broken one is
# refused with exit status 1 and one "FILE:LINE: problem" line on stderr.
# No services and no database: the command only reads files.

PIPELINES=$CRM_ROOT/deploy/pipelines

# check ARGS...: runs `crmctl pipeline check ARGS...`; sets OUT, ERR, RC.
check() {
  RC=0
  crmctl pipeline check "$@" >"$T_DIR/check.out" 2>"$T_DIR/check.err" || RC=$?
  OUT=$(cat "$T_DIR/check.out")
  ERR=$(cat "$T_DIR/check.err")
  note "pipeline check $* -> $RC: $OUT$ERR"
}

# variant SHIPPED OLD NEW: $T_DIR/bad.yaml = the shipped file with the first
# line matching OLD (fixed string) replaced by NEW; staff.yaml beside it.
# Prints that line's number.
variant() {
  local line
  line=$(grep -nF -m1 -- "$2" "$PIPELINES/$1" | cut -d: -f1)
  [[ -n $line ]] || fail "'$2' is not in $1"
  awk -v n="$line" -v new="$3" 'NR == n { print new; next } { print }' "$PIPELINES/$1" >"$T_DIR/bad.yaml"
  cp "$PIPELINES/staff.yaml" "$T_DIR/staff.yaml"
  printf '%s\n' "$line"
}

# expect_refused LINE WORDS...: the last check failed with exit 1, nothing
# on stdout, and exactly one line "$T_DIR/bad.yaml:LINE: ..." holding WORDS.
expect_refused() {
  local line=$1 w
  shift
  assert_eq "$RC" 1 "exit status"
  assert_eq "$OUT" "" "stdout"
  assert_eq "$(wc -l <"$T_DIR/check.err")" 1 "lines on stderr"
  assert_contains "$ERR" "$T_DIR/bad.yaml:$line: " "the error's file and line"
  [[ $ERR == "$T_DIR/bad.yaml:$line: "* ]] || fail "the error does not start with the file and line: $ERR"
  for w in "$@"; do assert_contains "$ERR" "$w" "the error"; done
}

test_shipped_files_pass() {
  check "$PIPELINES/lead_funnel.yaml"
  assert_eq "$RC" 0 "exit status for lead_funnel.yaml ($ERR)"
  assert_eq "$OUT" "$PIPELINES/lead_funnel.yaml: ok (pipeline lead_funnel «Воронка лидов»: 5 stages, 1 fields, 6 rules)" "ok line"
  assert_eq "$ERR" "" "stderr"

  check "$PIPELINES/new_client.yaml" --staff "$PIPELINES/staff.yaml"
  assert_eq "$RC" 0 "exit status for new_client.yaml ($ERR)"
  assert_eq "$OUT" "$PIPELINES/new_client.yaml: ok (pipeline new_client «Новый клиент»: 11 stages, 8 fields, 14 rules)" "ok line"

  CRM_TIME_ZONE= check --staff "$PIPELINES/staff.yaml"   # (the runner sets UTC)
  assert_eq "$RC" 0 "exit status for the staff file alone ($ERR)"
  assert_eq "$OUT" "$PIPELINES/staff.yaml: ok (staff: 6 people, time zone Europe/Moscow, lead assignment round_robin)" "staff ok line"

  # The services' variables apply: a test's short durations, another zone.
  CRM_DURATIONS=call_reminder=15s CRM_TIME_ZONE=Europe/Berlin check "$PIPELINES/lead_funnel.yaml"
  assert_eq "$RC" 0 "exit status with CRM_DURATIONS and CRM_TIME_ZONE ($ERR)"
  CRM_TIME_ZONE=Europe/Berlin CRM_STAFF_FILE=$PIPELINES/staff.yaml check
  assert_contains "$OUT" "time zone Europe/Berlin" "CRM_TIME_ZONE over the file's zone"
}

test_variables_are_checked_too() {
  CRM_DURATIONS=call_remindr=15s check "$PIPELINES/lead_funnel.yaml"
  assert_eq "$RC" 1 "exit status with an unknown name in CRM_DURATIONS"
  assert_contains "$ERR" "CRM_DURATIONS: unknown duration 'call_remindr' (durations: call_reminder)" "error"
  CRM_TIME_ZONE=Europe/Moskow check "$PIPELINES/lead_funnel.yaml"
  assert_eq "$RC" 1 "exit status with an unknown CRM_TIME_ZONE"
  assert_contains "$ERR" "$PIPELINES/staff.yaml:" "the staff file named"
  assert_contains "$ERR" "CRM_TIME_ZONE: time zone 'Europe/Moskow' is unknown" "error"
  # No staff.yaml beside the file and none given.
  cp "$PIPELINES/lead_funnel.yaml" "$T_DIR/alone.yaml"
  check "$T_DIR/alone.yaml"
  assert_eq "$RC" 1 "exit status without a staff file"
  assert_contains "$ERR" "$T_DIR/staff.yaml:1: cannot read it" "error"
  check
  assert_eq "$RC" 2 "exit status with nothing to check"
}

test_syntax_error() {
  local line
  line=$(variant lead_funnel.yaml "record: lead" "record: lead: deal")
  check "$T_DIR/bad.yaml"
  expect_refused "$line" "YAML syntax error"
}

test_unknown_stage_in_rule() {
  local line
  line=$(variant lead_funnel.yaml "on: {enter: in_progress}" "    on: {enter: in_progres}")
  check "$T_DIR/bad.yaml"
  expect_refused "$line" "rule 'proposal': unknown stage 'in_progres' (stages: new, in_progress, answer_given, converted, junk)"
}

test_bad_duration() {
  local line
  line=$(variant lead_funnel.yaml "call_reminder: 15m" "  call_reminder: 15 min")
  check "$T_DIR/bad.yaml"
  expect_refused "$line" "'15 min' is not a duration"
  line=$(variant new_client.yaml "after: payment_chase" "      - timer: {id: payment-chase, after: payment_chace}")
  check "$T_DIR/bad.yaml"
  expect_refused "$line" "rule 'payment-chase-start'" "bad duration 'payment_chace'" "durations: payment_chase"
}

test_role_nobody_holds() {
  local line
  line=$(variant new_client.yaml "responsible: accountant" "          responsible: acountant")
  check "$T_DIR/bad.yaml"
  expect_refused "$line" "rule 'invoice-task'" "role 'acountant' is held by nobody in $T_DIR/staff.yaml" \
    "(roles: responsible, manager, accountant, driver, designer, production)"
  # The same role exists once the staff file gives it to someone.
  sed -i 's/roles: \[accountant\]/roles: [accountant, acountant]/' "$T_DIR/staff.yaml"
  check "$T_DIR/bad.yaml"
  assert_eq "$RC" 0 "exit status once someone holds the role ($ERR)"
}

test_unknown_key_in_staff() {
  cp "$PIPELINES/staff.yaml" "$T_DIR/staff.yaml"
  local line
  line=$(grep -n -m1 'roles: \[driver\]' "$T_DIR/staff.yaml" | cut -d: -f1)
  sed -i 's/roles: \[driver\]/role: [driver]/' "$T_DIR/staff.yaml"
  check --staff "$T_DIR/staff.yaml"
  assert_eq "$RC" 1 "exit status"
  assert_eq "$ERR" "$T_DIR/staff.yaml:$line: person 'sidorov': unknown key 'role' (allowed: login, name, roles, channels)" "error"
}

# A service stops at start, before touching its database, on a definition
# with a mistake: exit status 2 and the loader's FILE:LINE line in its log.
test_service_stops_on_bad_definition() {
  local line rc=0
  line=$(variant new_client.yaml "moves: [awaiting_payment]" "    moves: [awaiting_paymant]")
  CRM_DEALS_PIPELINE=$T_DIR/bad.yaml CRM_STAFF_FILE=$T_DIR/staff.yaml \
    timeout 30 "$BIN/crm-deals" >"$T_DIR/deals.log" 2>&1 || rc=$?
  assert_eq "$rc" 2 "crm-deals exit status"
  assert_contains "$(cat "$T_DIR/deals.log")" "bad pipeline definition" "the log"
  assert_contains "$(cat "$T_DIR/deals.log")" "bad.yaml:$line: " "the log names file and line"
  assert_contains "$(cat "$T_DIR/deals.log")" "awaiting_paymant" "the log names the unknown stage"

  rc=0
  CRM_DURATIONS=payment_chas=5s timeout 30 "$BIN/crm-deals" >"$T_DIR/deals-durations.out" 2>&1 || rc=$?
  assert_eq "$rc" 2 "crm-deals exit status with an unknown duration in CRM_DURATIONS"
  assert_contains "$(cat "$T_DIR/deals-durations.out")" "payment_chas" "the log names the unknown duration"

  rc=0
  CRM_TIME_ZONE=Europe/Mosow timeout 30 "$BIN/crm-deals" >"$T_DIR/deals-zone.out" 2>&1 || rc=$?
  assert_eq "$rc" 2 "crm-deals exit status with an unknown time zone"
  assert_contains "$(cat "$T_DIR/deals-zone.out")" "Europe/Mosow" "the log names the zone"
}
