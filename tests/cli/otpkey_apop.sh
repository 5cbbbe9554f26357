#!/bin/sh
# otpkey_apop.sh - otpkey apop: set, check and clear a user's APOP secret (golden outputs,
# a negative case for each positive one).
. "$OTP_SRC/tests/lib.sh"

K="$OTP_BUILD/otpkey"
DB="$T_TMP/keys.db"
NL='
'
P='This is a test.'
S='tanstaaf tanstaaf'

apop_state() { timeout 60 "$K" --db "$DB" info "$1" </dev/null | grep '^apop: '; }

printf '%s\n%s\n' "$P" "$P" | timeout 60 "$K" --db "$DB" init -n 100 -s test alice >/dev/null 2>&1
check "alice enrolled" test "$(apop_state alice)" = "apop: not set"

expect_out "apop sets a secret typed twice" "$S$NL$S$NL" "" "$K" --db "$DB" apop alice
check "info says it is set" test "$(apop_state alice)" = "apop: set"
check "info never shows the secret" sh -c '! "$1" --db "$2" info alice </dev/null | grep -q tanstaaf' \
	sh "$K" "$DB"
check "the secret is kept in the key store (its log, then its GDBM file)" \
	sh -c 'cat "$1" "$1.wal" | grep -aq "tanstaaf tanstaaf"' sh "$DB"

expect_fail "two different secrets are refused" "$S$NL${S}x$NL" '^otpkey: the APOP secrets differ$' \
	"$K" --db "$DB" apop alice
expect_fail "a secret under 10 characters is refused" "short$NL""short$NL" \
	'^otpkey: an APOP secret must have 10 to 63 characters$' "$K" --db "$DB" apop alice
long=$(printf 'a%.0s' $(seq 64))
expect_fail "a secret over 63 characters is refused" "$long$NL$long$NL" \
	'^otpkey: an APOP secret must have 10 to 63 characters$' "$K" --db "$DB" apop alice
ok63=$(printf 'b%.0s' $(seq 63))
expect_out "a 63-character secret is fine" "$ok63$NL$ok63$NL" "" "$K" --db "$DB" apop alice
tab=$(printf 'tab\there tab')
expect_fail "a control character is refused" "$tab$NL$tab$NL" \
	'^otpkey: an APOP secret must be printable ASCII$' "$K" --db "$DB" apop alice
expect_fail "no input: nothing set" "" '^otpkey: no APOP secret given$' "$K" --db "$DB" apop alice
expect_fail "a user without a key cannot get an APOP secret" "$S$NL$S$NL" \
	'^otpkey: bob: no key for this user$' "$K" --db "$DB" apop bob
expect_fail "apop needs a user" "" 'apop: give one USER' "$K" --db "$DB" apop
expect_fail "a malformed user name is refused" "$S$NL$S$NL" '^otpkey: bad user name' \
	"$K" --db "$DB" apop 'a:b'
check "after the refusals the secret is still set" test "$(apop_state alice)" = "apop: set"

# A re-key keeps the APOP secret; only apop -d clears it.
printf '%s\n%s\n' "Another pass phrase" "Another pass phrase" |
	timeout 60 "$K" --db "$DB" init -f -n 50 -s other alice >/dev/null 2>&1
check "init -f keeps the APOP secret" test "$(apop_state alice)" = "apop: set"
expect_out "apop -d clears it" "" "" "$K" --db "$DB" apop -d alice
check "info says it is not set" test "$(apop_state alice)" = "apop: not set"
check "and the database no longer holds it" sh -c '! grep -q "bbbbbbbbbbbbbbbb" "$1"' sh "$DB"
expect_fail "apop -d of an unknown user fails" "" '^otpkey: bob: no key for this user$' \
	"$K" --db "$DB" apop -d bob
expect_fail "apop -d takes exactly one user" "" 'apop: give one USER' "$K" --db "$DB" apop -d alice bob

done_testing
