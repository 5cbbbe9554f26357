#!/bin/sh
# otpkey_import.sh - "otpkey import" of OPIE's opiekeys and S/Key's skey directory and skeykeys file.
. "$OTP_SRC/tests/lib.sh"

K="$OTP_BUILD/otpkey"
D="$OTP_SRC/tests/cli/data"
NL='
'
P='This is a test.'

# expect_import DESC DB WANT_OUT WANT_ERR SOURCE_DIR CMD_ARGS...: the import
# exits 1 (something was skipped), prints WANT_OUT, and exactly the lines
# WANT_ERR on stderr once SOURCE_DIR/ is taken off the paths.
expect_import() {
	desc=$1 db=$2 want=$3 want_err=$4 dir=$5; shift 5
	got=$(timeout 60 "$K" --db "$db" import "$@" </dev/null 2>"$T_TMP/stderr")
	rc=$?
	err=$(sed "s|$dir/||" "$T_TMP/stderr")
	if [ "$rc" -eq 1 ] && [ "$got" = "$want" ] && [ "$err" = "$want_err" ]; then
		ok "$desc"
	else
		notok "$desc"
		diag "exit $rc" "stdout: $got" "stderr: $err"
	fi
}

# sheet_98 DB USER: the pass phrase P verifies and the sheet starts at 98.
sheet_98() {
	printf '%s\n' "$P" | timeout 60 "$K" --db "$1" sheet -c 1 "$2" 2>/dev/null |
		grep -qE '^  98: [A-Z]+( [A-Z]+){5}$'
}

# first_line DB USER: the challenge "otpkey info" shows.
first_line() {
	timeout 60 "$K" --db "$1" info "$2" </dev/null 2>/dev/null | head -n 1
}

# ---- OPIE ----

DB="$T_TMP/opie.db"
expect_import "import --opie: good entries in, bad lines named and skipped" "$DB" \
	'imported 4 users, skipped 8' \
"otpkey: otpkey-opiekeys:4: disabled entry (no key)
otpkey: otpkey-opiekeys:5: bad key (want 16 hex digits)
otpkey: otpkey-opiekeys:6: bad sequence number
otpkey: otpkey-opiekeys:7: bad seed
otpkey: otpkey-opiekeys:8: bad user name
otpkey: otpkey-opiekeys:9: a second entry for this user (the first one counts)
otpkey: otpkey-opiekeys:10: too few fields
otpkey: otpkey-opiekeys:14: bad key (want 16 hex digits)" "$D" --opie "$D/otpkey-opiekeys"
check "OPIE's alice: the challenge OPIE would show (seq-1, seed in lower case)" \
	test "$(first_line "$DB" alice)" = 'otp-md5 98 test ext'
check "OPIE's bob: zero-padded 0500 gives 499" \
	test "$(first_line "$DB" bob)" = 'otp-md5 499 ke45678 ext'
check "OPIE's ivan: a CRLF line is read" test "$(first_line "$DB" ivan)" = 'otp-md5 9 ke66666 ext'
check "OPIE's hank has no response left: no challenge" \
	sh -c 'case "$1" in none:*) exit 0;; esac; exit 1' sh "$(first_line "$DB" hank)"
check "OPIE's alice: her pass phrase still verifies (her calculator keeps working)" sheet_98 "$DB" alice
expect_fail "the key imported is the last accepted one, not a later one" "This is a tesT.$NL" \
	'alice: pass phrase does not match' "$K" --db "$DB" sheet alice
expect_fail "a sheet for a used-up imported key is refused" "$P$NL" 'hank: no responses left' \
	"$K" --db "$DB" sheet hank
for u in carol dave erin frank gina judy; do
	expect_fail "the skipped line of $u imported nothing" '' "$u: no key for this user" \
		"$K" --db "$DB" info "$u"
done
expect_out "list after the OPIE import" '' \
"alice    md5    98 test             -
bob      md5   499 ke45678          -
hank     md5     0 ke55555          used-up
ivan     md5     9 ke66666          -" "$K" --db "$DB" list

# Existing users: kept unless -f.
printf '%s\n%s\n' "$P" "$P" | timeout 60 "$K" --db "$DB" init -f -s other -n 50 alice >/dev/null 2>&1
expect_import "import again: existing users are skipped" "$DB" 'imported 0 users, skipped 12' \
"otpkey: otpkey-opiekeys:1: alice already has a key (use -f to replace it)
otpkey: otpkey-opiekeys:3: bob already has a key (use -f to replace it)
otpkey: otpkey-opiekeys:4: disabled entry (no key)
otpkey: otpkey-opiekeys:5: bad key (want 16 hex digits)
otpkey: otpkey-opiekeys:6: bad sequence number
otpkey: otpkey-opiekeys:7: bad seed
otpkey: otpkey-opiekeys:8: bad user name
otpkey: otpkey-opiekeys:9: a second entry for this user (the first one counts)
otpkey: otpkey-opiekeys:10: too few fields
otpkey: otpkey-opiekeys:12: hank already has a key (use -f to replace it)
otpkey: otpkey-opiekeys:13: ivan already has a key (use -f to replace it)
otpkey: otpkey-opiekeys:14: bad key (want 16 hex digits)" "$D" --opie "$D/otpkey-opiekeys"
check "... and alice keeps the key she has" test "$(first_line "$DB" alice)" = 'otp-md5 49 other ext'
timeout 60 "$K" --db "$DB" import -f --opie "$D/otpkey-opiekeys" </dev/null >"$T_TMP/out" 2>/dev/null
check "import -f replaces existing users" test "$(cat "$T_TMP/out")" = 'imported 4 users, skipped 8'
check "... alice is back on her OPIE key" test "$(first_line "$DB" alice)" = 'otp-md5 98 test ext'

printf 'solo 0100 TeSt 50fe1962c4965880 Apr 04,1999 12:00:00\n' > "$T_TMP/one"
expect_out "a clean import exits 0" '' 'imported 1 users, skipped 0' \
	"$K" --db "$T_TMP/clean.db" import --opie "$T_TMP/one"
check "... into a database made 0600" sh -c '[ "$(stat -c %a "$1")" = 600 ]' sh "$T_TMP/clean.db"
chmod o+w "$T_TMP/clean.db"
expect_fail "import into a world-writable database is refused" '' 'clean\.db: the key store is open to group or others.*fix with chmod 600' \
	"$K" --db "$T_TMP/clean.db" import -f --opie "$T_TMP/one"
chmod o-w "$T_TMP/clean.db"

# ---- S/Key: the older one-line /etc/skeykeys ----

DB="$T_TMP/skeykeys.db"
expect_import "import --skey FILE: the one-line format" "$DB" 'imported 4 users, skipped 3' \
"otpkey: otpkey-skeykeys:6: unsupported hash algorithm
otpkey: otpkey-skeykeys:7: bad sequence number
otpkey: otpkey-skeykeys:9: too few fields" "$D" --skey "$D/otpkey-skeykeys"
check "skeykeys alice: md5" test "$(first_line "$DB" alice)" = 'otp-md5 98 test ext'
check "skeykeys bob: no algorithm means md4" test "$(first_line "$DB" bob)" = 'otp-md4 98 test ext'
check "skeykeys carol: sha1" test "$(first_line "$DB" carol)" = 'otp-sha1 98 test ext'
check "skeykeys gina: no date is fine" test "$(first_line "$DB" gina)" = 'otp-md5 98 test ext'
check "skeykeys carol: her pass phrase still verifies" sheet_98 "$DB" carol
expect_fail "a line S/Key zeroed with # is not imported" '' 'dave: no key for this user' \
	"$K" --db "$DB" info dave

# ---- S/Key: OpenBSD's /etc/skey directory ----

DB="$T_TMP/skey.db"
cp -R "$D/otpkey-skey" "$T_TMP/skey"
mkdir "$T_TMP/skey/sub"
ln -s alice "$T_TMP/skey/link"
expect_import "import --skey DIR: one file per user" "$DB" 'imported 3 users, skipped 6' \
"otpkey: carol:1: user name differs from the file name
otpkey: dave:3: bad sequence number
otpkey: erin:5: missing field
otpkey: gina:6: unexpected text after the key
otpkey: link: a symbolic link
otpkey: sub: not a regular file" "$T_TMP/skey" --skey "$T_TMP/skey"
check "skey alice: md5" test "$(first_line "$DB" alice)" = 'otp-md5 98 test ext'
check "skey bob: sha1, 0099" test "$(first_line "$DB" bob)" = 'otp-sha1 98 test ext'
check "skey hank: seed in lower case" test "$(first_line "$DB" hank)" = 'otp-md5 41 ke12345 ext'
check "skey alice: her pass phrase still verifies" sheet_98 "$DB" alice
expect_fail "an empty skey file (no key) is not imported" '' 'frank: no key for this user' \
	"$K" --db "$DB" info frank
expect_fail "a dot file is not imported" '' 'nobody: no key for this user' \
	"$K" --db "$DB" info nobody

# ---- usage and errors ----

expect_fail "import needs a source" '' 'import: give one of --opie FILE or --skey PATH' \
	"$K" --db "$DB" import
expect_fail "import takes one source" '' 'import: give one of --opie FILE or --skey PATH' \
	"$K" --db "$DB" import --opie "$T_TMP/one" --skey "$T_TMP/skey"
expect_fail "import of a missing file fails" '' 'nosuch: No such file or directory' \
	"$K" --db "$DB" import --opie "$T_TMP/nosuch"
expect_fail "import --opie of a directory fails" '' 'skey: not a regular file' \
	"$K" --db "$DB" import --opie "$T_TMP/skey"
expect_fail "import takes no user" '' 'import: unexpected argument alice' \
	"$K" --db "$DB" import --opie "$T_TMP/one" alice
got=$(timeout 60 "$K" --db "$DB" import </dev/null 2>/dev/null)
check "import usage errors exit 2" test "$?" -eq 2

done_testing
