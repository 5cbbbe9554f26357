#!/bin/sh
# otpkey.sh - golden-output tests of otpkey's commands, each with a negative twin (imports: otpkey_import.sh).
. "$OTP_SRC/tests/lib.sh"

K="$OTP_BUILD/otpkey"
DB="$T_TMP/keys.db"
# KQ: otpkey under a timeout with no input, for the pipelines in check.
KQ="$T_TMP/otpkey-q"
printf '#!/bin/sh\nexec timeout 60 "%s" "$@" </dev/null\n' "$K" >"$KQ"
chmod 755 "$KQ"
NL='
'
P='This is a test.'
P2="$P$NL$P$NL"

# expect_fail_out DESC STDIN STDOUT PATTERN CMD...: like expect_fail, but CMD
# prints exactly STDOUT first (the challenge of init --remote).
expect_fail_out() {
	desc=$1 input=$2 want=$3 pat=$4; shift 4
	got=$(printf '%s' "$input" | timeout 60 "$@" 2>"$T_TMP/stderr")
	rc=$?
	lines=$(grep -c '' "$T_TMP/stderr")
	if [ "$rc" -eq 1 ] && [ "$got" = "$want" ] && [ "$lines" -eq 1 ] &&
	   grep -Eq -- "$pat" "$T_TMP/stderr"; then
		ok "$desc"
	else
		notok "$desc"
		diag "exit $rc" "stdout: $got" "stderr ($lines lines): $(cat "$T_TMP/stderr")"
	fi
}

# run_to FILE STDIN CMD...: runs CMD with its stdout in FILE; returns its status.
run_to() {
	out=$1 input=$2; shift 2
	printf '%s' "$input" | timeout 60 "$@" >"$out" 2>"$T_TMP/stderr"
}

# first_line USER [DB]: what "otpkey info" prints first.
first_line() {
	timeout 60 "$K" --db "${2:-$DB}" info "$1" </dev/null 2>/dev/null | head -n 1
}

# sheet_ok FILE COUNT: a sheet of COUNT entries, at most 60 lines of at most 80 columns.
sheet_ok() {
	[ "$(grep -c '' "$1")" -le 60 ] &&
	[ "$(awk 'length > 80' "$1" | wc -l)" -eq 0 ] &&
	[ "$(grep -oE '[0-9]+: [A-Z]+( [A-Z]+){5}' "$1" | wc -l)" -eq "$2" ] &&
	grep -q 'Strike out each line once used' "$1"
}

# ---- global options ----

run_to "$T_TMP/help" '' "$K" --help
check "--help exits 0 and shows the usage" grep -q '^usage: otpkey \[--db PATH\] COMMAND' "$T_TMP/help"
check "--help lists every command" sh -c 'for c in init sheet info list remove disable enable unlock audit import; do
	grep -q "^  $c" "$1" || exit 1; done' sh "$T_TMP/help"
expect_status "an unknown global option is a usage error" '' 2 '^otpkey: bad option --nope' \
	"$K" --nope list
run_to "$T_TMP/help" '' "$K" init -h
check "a command's -h shows the usage too" grep -q '^usage: otpkey' "$T_TMP/help"
expect_status "an option missing its value is a usage error" '' 2 '^otpkey: init: option -n needs a value' \
	"$K" --db "$DB" init -n
expect_status "an unknown command option is a usage error" '' 2 '^otpkey: init: bad option -z' \
	"$K" --db "$DB" init -z alice
expect_out "--version prints the version" '' 'otpkey 0.1' "$K" --version
expect_status "no command is a usage error" '' 2 '^otpkey: no command given' "$K" --db "$DB"
expect_status "an unknown command is a usage error" '' 2 '^otpkey: unknown command frob' \
	"$K" --db "$DB" frob
expect_status "--db with an empty path is a usage error" '' 2 '^otpkey: --db needs a path' \
	"$K" --db '' list

# ---- the database path: --db, then OTP_DB ----

expect_status "info on a missing database fails" '' 1 'keys\.db: key database does not exist' \
	"$K" --db "$DB" info alice
expect_status "list on a missing database fails" '' 1 'key database does not exist' \
	"$K" --db "$DB" list
expect_status "audit on a missing database fails" '' 1 'key database does not exist' \
	"$K" --db "$DB" audit
check "a failed command does not create the database" test ! -e "$DB"
expect_out "init with OTP_DB creates that database" "$P2" 'otp-md5 9 envseed ext' \
	env OTP_DB="$T_TMP/env.db" "$K" init -s envseed -n 10 zed
check "the database OTP_DB named was made" test -f "$T_TMP/env.db"
expect_out "info reads the database OTP_DB names" '' "remaining: 9" \
	sh -c 'OTP_DB="$1" "$2" info zed | sed -n 2p' sh "$T_TMP/env.db" "$KQ"
expect_status "--db overrides OTP_DB" '' 1 'keys\.db: key database does not exist' \
	env OTP_DB="$T_TMP/env.db" "$K" --db "$DB" info zed

# ---- init at the console ----

expect_out "init reads the pass phrase twice and prints the next challenge" "$P2" \
	'otp-md5 99 test ext' "$K" --db "$DB" init -s TeSt -n 100 alice
check "the database is mode 0600" sh -c '[ "$(stat -c %a "$1")" = 600 ]' sh "$DB"
expect_out "info: the first line is the challenge a login shows" '' 'otp-md5 99 test ext' \
	sh -c '"$1" --db "$2" info alice | head -n 1' sh "$KQ" "$DB"
expect_status "init refuses an existing user without -f" "$P2" 1 \
	'^otpkey: alice: already has a key \(use -f to replace it\)$' "$K" --db "$DB" init alice
check "the refused init left alice's key alone" test "$(first_line alice)" = 'otp-md5 99 test ext'
expect_status "init refuses two different pass phrases" "$P${NL}This is a tesT.$NL" 1 \
	'the pass phrases differ' "$K" --db "$DB" init bob
expect_status "init with one line of input fails" "$P$NL" 1 'no second pass phrase given' \
	"$K" --db "$DB" init bob
expect_status "init with no input fails" '' 1 'no pass phrase given' "$K" --db "$DB" init bob
expect_status "init refuses a pass phrase under 10 characters" "shortpass${NL}shortpass$NL" 1 \
	'pass phrase too short' "$K" --db "$DB" init bob
expect_status "init refuses the seed as pass phrase" "ABCDEFGHIJ12${NL}ABCDEFGHIJ12$NL" 1 \
	'pass phrase must not be the same as the seed' "$K" --db "$DB" init -s abcdefghij12 bob
L256=$(printf '%0256d' 0)
expect_status "init refuses a pass phrase over 255 characters" "$L256$NL$L256$NL" 1 \
	'pass phrase too long' "$K" --db "$DB" init bob
expect_status "none of the refused inits stored bob" '' 1 '^otpkey: bob: no key for this user$' \
	"$K" --db "$DB" info bob
L64=1234567890123456789012345678901234567890123456789012345678901234
run_to "$T_TMP/out" "$L64$NL$L64$NL" "$K" --db "$DB" init -s long64 -n 20 long
check "init accepts a 64-character pass phrase" test "$(cat "$T_TMP/out")" = 'otp-md5 19 long64 ext'
check "... and warns that it is longer than 63" grep -q 'warning: pass phrase longer than 63' "$T_TMP/stderr"
run_to "$T_TMP/out" "$P2" "$K" --db "$DB" init -n 12 rnd
check "init makes a random OPIE-like seed" \
	grep -Eq '^otp-md5 11 [a-z]{2}[0-9]{6} ext$' "$T_TMP/out"
expect_out "init -a sha1" "$P2" 'otp-sha1 99 test ext' "$K" --db "$DB" init -a sha1 -s TeSt -n 100 sha
expect_status "init -a rejects an unknown algorithm" "$P2" 2 'unknown algorithm sha256' \
	"$K" --db "$DB" init -a sha256 bob
expect_status "init -a is case sensitive (RFC 2289 s6)" "$P2" 2 'unknown algorithm MD5' \
	"$K" --db "$DB" init -a MD5 bob
expect_out "init -n 2 gives one response" "$P2" 'otp-md5 1 test ext' \
	"$K" --db "$DB" init -s TeSt -n 2 two
expect_status "init -n 1 is refused (no challenge below 1)" "$P2" 2 'SEQ must be a number from 2 to 9999' \
	"$K" --db "$DB" init -n 1 bob
expect_status "init -n 10000 is refused" "$P2" 2 'SEQ must be a number from 2 to 9999' \
	"$K" --db "$DB" init -n 10000 bob
expect_status "init -n x is refused" "$P2" 2 'SEQ must be a number' "$K" --db "$DB" init -n 12x bob
expect_status "init -s refuses a seed with a dash" "$P2" 2 'seed must be 1 to 16 letters and digits' \
	"$K" --db "$DB" init -s ab-12 bob
expect_status "init -s refuses a 17-character seed" "$P2" 2 'seed must be 1 to 16' \
	"$K" --db "$DB" init -s abcdefghijklmnopq bob
expect_status "init needs a user" "$P2" 2 'init: give one USER' "$K" --db "$DB" init
expect_status "init takes one user" "$P2" 2 'init: give one USER' "$K" --db "$DB" init a b
expect_status "init -c needs --sheet" "$P2" 2 'init: -c goes with --sheet' \
	"$K" --db "$DB" init -c 5 bob

# Re-keying: -f, and the seed or the pass phrase must change (RFC 2289 s8).
expect_status "init -f refuses the same seed and pass phrase" "$P2" 1 \
	'alice: the new key repeats the old pass phrase and seed' \
	"$K" --db "$DB" init -f -s TeSt -n 200 alice
expect_out "init -f with a new pass phrase re-keys" "Another pass phrase${NL}Another pass phrase$NL" \
	'otp-md5 199 test ext' "$K" --db "$DB" init -f -s TeSt -n 200 alice
expect_out "init -f with a new seed re-keys" "$P2" 'otp-md5 99 test2 ext' \
	"$K" --db "$DB" init -f -s TeSt2 -n 100 alice
expect_out "init -f back to the first key works" "$P2" 'otp-md5 99 test ext' \
	"$K" --db "$DB" init -f -s TeSt -n 100 alice

# ---- user names ----

for u in 'bad:name' 'a/b' 'sp ace' "$(printf 'x%.0s' $(seq 65))"; do
	expect_status "init refuses the user name '$u'" "$P2" 1 '^otpkey: bad user name' \
		"$K" --db "$DB" init "$u"
	expect_status "info refuses the user name '$u'" '' 1 '^otpkey: bad user name' \
		"$K" --db "$DB" info "$u"
done
expect_status "a user name starting with - is taken as an option" '' 2 'info: give one USER' \
	"$K" --db "$DB" info -x
expect_status "sheet refuses a bad user name" "$P$NL" 1 '^otpkey: bad user name' \
	"$K" --db "$DB" sheet 'a:b'
expect_status "remove refuses a bad user name" '' 1 '^otpkey: bad user name' \
	"$K" --db "$DB" remove 'a:b'

# ---- init --remote ----

expect_out "init --remote prints the challenge, then stores the response" \
	"50FE 1962 C496 5880$NL" "otp-md5 99 test${NL}otp-md5 98 test ext" \
	"$K" --db "$DB" init --remote -s TeSt -n 99 bob
run_to "$T_TMP/out" "$P$NL" "$K" --db "$DB" sheet -c 1 bob
check "... the stored response verifies against the pass phrase" \
	grep -q '^  98: [A-Z]' "$T_TMP/out"
expect_out "init --remote takes six words in any case" "bail tuft  bits gang chef thy$NL" \
	"otp-md5 99 test${NL}otp-md5 98 test ext" "$K" --db "$DB" init --remote -s TeSt -n 99 w1
expect_out "init --remote takes word:" "word:BAIL TUFT BITS GANG CHEF THY$NL" \
	"otp-md5 99 test${NL}otp-md5 98 test ext" "$K" --db "$DB" init --remote -s TeSt -n 99 w2
expect_out "init --remote takes hex:" "hex:50fe1962c4965880$NL" \
	"otp-sha1 99 test${NL}otp-sha1 98 test ext" "$K" --db "$DB" init --remote -a sha1 -s TeSt -n 99 w3
expect_fail_out "init --remote refuses words with a bad checksum" "BAIL TUFT BITS GANG CHEF TIE$NL" \
	'otp-md5 99 test' 'bad response: six-word response has a bad checksum' \
	"$K" --db "$DB" init --remote -s TeSt -n 99 w4
expect_fail_out "init --remote refuses 15 hex digits" "50fe1962c496588$NL" 'otp-md5 99 test' \
	'bad response' "$K" --db "$DB" init --remote -s TeSt -n 99 w4
expect_fail_out "init --remote refuses an init-hex response" \
	"init-hex:50fe1962c4965880:md5 99 x:50fe1962c4965880$NL" 'otp-md5 99 test' \
	'bad response: unsupported extended response type' \
	"$K" --db "$DB" init --remote -s TeSt -n 99 w4
expect_fail_out "init --remote with no response fails" '' 'otp-md5 99 test' 'no response given' \
	"$K" --db "$DB" init --remote -s TeSt -n 99 w4
expect_status "none of the refused remote inits stored w4" '' 1 'w4: no key for this user' \
	"$K" --db "$DB" info w4
expect_status "init --remote refuses an existing user before printing anything" \
	"50FE 1962 C496 5880$NL" 1 'bob: already has a key' "$K" --db "$DB" init --remote bob
# A response that is six words and hex at once is read as six words (RFC 2289 s6):
# "A A ABE ABE ABED DEAD" is 00000000801476e1 as words, aaabeabeabeddead as hex.
expect_out "init --remote: an ambiguous response" "A A ABE ABE ABED DEAD$NL" \
	"otp-md5 5 amb${NL}otp-md5 4 amb ext" "$K" --db "$DB" init --remote -s amb -n 5 amb
expect_fail_out "... was stored as its six-word reading" "hex:00000000801476e1$NL" \
	'otp-md5 5 amb' 'amb: the new key repeats the old pass phrase and seed' \
	"$K" --db "$DB" init --remote -f -s amb -n 5 amb
expect_out "... not as its hex reading" "hex:aaabeabeabeddead$NL" \
	"otp-md5 5 amb${NL}otp-md5 4 amb ext" "$K" --db "$DB" init --remote -f -s amb -n 5 amb
# Above the old count too: the old chain's next OTP is the old last one hashed once more.
o6=$(printf '%s\n' "$P" | "$OTP_BUILD/otpcalc" 6 amb)
o5=$(printf '%s\n' "$P" | "$OTP_BUILD/otpcalc" 5 amb)
expect_out "init --remote -f at 5 from a pass phrase" "$o5$NL" \
	"otp-md5 5 amb${NL}otp-md5 4 amb ext" "$K" --db "$DB" init --remote -f -s amb -n 5 amb
expect_fail_out "init --remote -f with the same seed and pass phrase above the old count is refused" \
	"$o6$NL" 'otp-md5 6 amb' 'amb: the new key repeats the old pass phrase and seed' \
	"$K" --db "$DB" init --remote -f -s amb -n 6 amb
n6=$(printf 'Another pass phrase\n' | "$OTP_BUILD/otpcalc" 6 amb)
expect_out "... and with a new pass phrase it is taken" "$n6$NL" \
	"otp-md5 6 amb${NL}otp-md5 5 amb ext" "$K" --db "$DB" init --remote -f -s amb -n 6 amb
expect_status "--remote and --sheet exclude each other" '' 2 'exclude each other' \
	"$K" --db "$DB" init --remote --sheet w5

# ---- init --sheet ----

run_to "$T_TMP/sheet" '' "$K" --db "$DB" init --sheet -n 120 carol
check "init --sheet prints a sheet of 100 on one page" sheet_ok "$T_TMP/sheet" 100
check "... in two columns, the next challenge first" grep -Eq '^ 119: [A-Z ]+ +69: [A-Z]' "$T_TMP/sheet"
check "... ending with the 100th response" grep -Eq ' 20: [A-Z]+( [A-Z]+){5}$' "$T_TMP/sheet"
check "... with the user, host, algorithm, seed and range in its header" sh -c '
	grep -q "^User: carol$" "$1" && grep -q "^Host: $(hostname)" "$1" &&
	grep -Eq "^Algorithm: md5   Seed: [a-z]{2}[0-9]{6}   Printed: [0-9]{4}-[0-9]{2}-[0-9]{2}$" "$1" &&
	grep -q "^Responses 119 down to 20" "$1"' sh "$T_TMP/sheet"
check "... and no pass phrase (only the sheet's 100 responses are printed)" \
	sh -c '! grep -Eq "[0-9a-f]{40}" "$1"' sh "$T_TMP/sheet"
check "info shows carol's next challenge" \
	sh -c 'first_seed=$(sed -n "s/.*Seed: \([a-z0-9]*\) .*/\1/p" "$1");
	[ "$2" = "otp-md5 119 $first_seed ext" ]' sh "$T_TMP/sheet" "$(first_line carol)"
expect_status "init --sheet refuses an existing user" '' 1 'carol: already has a key' \
	"$K" --db "$DB" init --sheet carol
run_to "$T_TMP/sheet" '' "$K" --db "$DB" init --sheet -c 7 -a sha1 -s sheet7 dan
check "init --sheet -c 7: one column of 7" sh -c '
	[ "$(grep -cE "^ *[0-9]+: [A-Z]+( [A-Z]+){5}$" "$1")" -eq 7 ] &&
	grep -Eq "^ 498: " "$1" && grep -Eq "^ 492: " "$1"' sh "$T_TMP/sheet"
run_to "$T_TMP/sheet" '' "$K" --db "$DB" init --sheet -n 4 eve
check "init --sheet -n 4: the sheet holds the 3 responses there are" sheet_ok "$T_TMP/sheet" 3
expect_status "init --sheet -c 0 is refused" '' 2 'COUNT must be a number from 1 to 100' \
	"$K" --db "$DB" init --sheet -c 0 frank
expect_status "init --sheet -c 101 is refused (one page)" '' 2 'COUNT must be a number from 1 to 100' \
	"$K" --db "$DB" init --sheet -c 101 frank

# ---- sheet ----

run_to "$T_TMP/sheet" "$P$NL" "$K" --db "$DB" sheet -c 3 alice
check "sheet with the right pass phrase: RFC 2289 md5 count 99 first" \
	sh -c 'grep -q "^  99: BAIL TUFT BITS GANG CHEF THY$" "$1" && grep -q "^  97: " "$1" &&
	! grep -q "^  96: " "$1"' sh "$T_TMP/sheet"
# The sheet against the calculator: the same responses, in the order of use.
if [ -x "$OTP_BUILD/otpcalc" ]; then
	printf '%s\n' "$P" | timeout 60 "$OTP_BUILD/otpcalc" -n 3 99 test 2>/dev/null |
		sort -rn >"$T_TMP/calc"
	grep -E '^ +[0-9]+: ' "$T_TMP/sheet" | sed 's/^ *//' >"$T_TMP/mine"
	check "the sheet says what otpcalc says" cmp -s "$T_TMP/calc" "$T_TMP/mine"
	printf '%s\n' "$P" | timeout 60 "$OTP_BUILD/otpcalc" 499 bob1 >"$T_TMP/resp" 2>/dev/null
	expect_out "init --remote with otpcalc's response" "$(cat "$T_TMP/resp")$NL" \
		"otp-md5 499 bob1${NL}otp-md5 498 bob1 ext" "$K" --db "$DB" init --remote -s bob1 calc
	run_to "$T_TMP/out" "$P$NL" "$K" --db "$DB" sheet -c 1 calc
	check "... and the pass phrase behind it verifies" grep -q '^ 498: [A-Z]' "$T_TMP/out"
else
	ok "# SKIP otpcalc not built"
	ok "# SKIP otpcalc not built"
	ok "# SKIP otpcalc not built"
fi
expect_status "sheet with a wrong pass phrase is refused" "This is a tesT.$NL" 1 \
	'^otpkey: alice: pass phrase does not match$' "$K" --db "$DB" sheet alice
run_to "$T_TMP/sheet" "$P$NL" "$K" --db "$DB" sheet -c 1 sha
check "sheet of a sha1 key" grep -q '^  99: GAFF WAIT SKID GIG SKY EYED$' "$T_TMP/sheet"
run_to "$T_TMP/sheet" "$P$NL" "$K" --db "$DB" sheet two
check "sheet stops at the responses left: RFC 2289 md5 count 1" \
	sh -c '[ "$(grep -cE "^ +[0-9]+: " "$1")" -eq 1 ] &&
	grep -q "^   1: EASE OIL FUM CURE AWRY AVIS$" "$1"' sh "$T_TMP/sheet"
expect_status "sheet without a pass phrase fails" '' 1 'no pass phrase given' \
	"$K" --db "$DB" sheet alice
expect_status "sheet of an unknown user fails" "$P$NL" 1 'nobody: no key for this user' \
	"$K" --db "$DB" sheet nobody
expect_status "sheet -c 101 is refused" "$P$NL" 2 'COUNT must be a number from 1 to 100' \
	"$K" --db "$DB" sheet -c 101 alice
expect_status "sheet -c abc is refused" "$P$NL" 2 'COUNT must be a number' \
	"$K" --db "$DB" sheet -c abc alice

# ---- info ----

expect_out "info shows the full state" '' "otp-md5 99 test ext
remaining: 99
last success: never
last failure: never
failures: 0
disabled: no
apop: not set
locked until: no
pending challenge: no" sh -c '"$1" --db "$2" info alice | grep -v "^created: "' sh "$KQ" "$DB"
check "info shows when the key was made" \
	sh -c '"$1" --db "$2" info alice | grep -Eq "^created: [0-9]{4}-[0-9]{2}-[0-9]{2} "' sh "$KQ" "$DB"
expect_status "info of an unknown user fails" '' 1 '^otpkey: nobody: no key for this user$' \
	"$K" --db "$DB" info nobody
expect_status "info takes one user" '' 2 'info: give one USER' "$K" --db "$DB" info a b

# ---- disable, enable, unlock ----

expect_out "disable is quiet" '' '' "$K" --db "$DB" disable alice
check "info shows the user disabled" \
	sh -c '"$1" --db "$2" info alice | grep -qx "disabled: yes"' sh "$KQ" "$DB"
check "list flags the user disabled" \
	sh -c '"$1" --db "$2" list | grep -Eq "^alice +md5 +99 test +disabled$"' sh "$KQ" "$DB"
expect_out "a re-key keeps the disabled mark" "Another pass phrase${NL}Another pass phrase$NL" \
	'disabled: yes' sh -c '"$1" --db "$2" init -f -s TeSt -n 100 alice >/dev/null &&
	"$3" --db "$2" info alice | grep "^disabled:"' sh "$K" "$DB" "$KQ"
expect_out "enable is quiet" '' '' "$K" --db "$DB" enable alice
check "info shows the user enabled" \
	sh -c '"$1" --db "$2" info alice | grep -qx "disabled: no"' sh "$KQ" "$DB"
expect_status "disable of an unknown user fails" '' 1 'nobody: no key for this user' \
	"$K" --db "$DB" disable nobody
expect_status "enable of an unknown user fails" '' 1 'nobody: no key for this user' \
	"$K" --db "$DB" enable nobody
expect_out "unlock is quiet" '' '' "$K" --db "$DB" unlock alice
check "after unlock: no failures, no lockout, no pending challenge" \
	sh -c '"$1" --db "$2" info alice | grep -qx "failures: 0" &&
	"$1" --db "$2" info alice | grep -qx "locked until: no" &&
	"$1" --db "$2" info alice | grep -qx "pending challenge: no"' sh "$KQ" "$DB"
expect_status "unlock of an unknown user fails" '' 1 'nobody: no key for this user' \
	"$K" --db "$DB" unlock nobody
expect_status "unlock needs a user" '' 2 'unlock: give one USER' "$K" --db "$DB" unlock

# ---- list, remove ----

L="$T_TMP/list.db"
printf '%s' "$P2" | timeout 60 "$K" --db "$L" init -s TeSt -n 100 zoe >/dev/null 2>&1
printf '%s' "$P2" | timeout 60 "$K" --db "$L" init -a sha1 -s seed2 -n 20 adam >/dev/null 2>&1
printf '%s' "$P2" | timeout 60 "$K" --db "$L" init -s seed3 -n 2 mia >/dev/null 2>&1
"$KQ" --db "$L" disable mia
expect_out "list: one line per user, sorted by name" '' \
"adam     sha1   19 seed2            -
mia      md5     1 seed3            disabled
zoe      md5    99 test             -" "$K" --db "$L" list
expect_status "list takes no arguments" '' 2 'list: takes no arguments' "$K" --db "$L" list zoe
expect_out "remove is quiet" '' '' "$K" --db "$L" remove mia
expect_out "list no longer shows the removed user" '' \
"adam     sha1   19 seed2            -
zoe      md5    99 test             -" "$K" --db "$L" list
expect_status "remove of an unknown user fails" '' 1 '^otpkey: mia: no key for this user$' \
	"$K" --db "$L" remove mia
expect_status "remove on a missing database fails" '' 1 'key database does not exist' \
	"$K" --db "$T_TMP/none.db" remove mia

# ---- audit ----

expect_out "audit: nobody under 10, exit 0" '' '' "$K" --db "$L" audit
run_to "$T_TMP/out" '' "$K" --db "$L" audit -l 20
check "audit -l 20 names the user and exits 1" \
	sh -c '[ "$2" -eq 1 ] && [ "$(cat "$1")" = "adam: 19 responses left" ]' sh "$T_TMP/out" "$?"
run_to "$T_TMP/out" '' "$K" --db "$L" audit -l 100
check "audit -l 100 names both, sorted" \
	sh -c '[ "$2" -eq 1 ] && [ "$(cat "$1")" = "adam: 19 responses left
zoe: 99 responses left" ]' sh "$T_TMP/out" "$?"
expect_out "audit -l 19: nobody below 19" '' '' "$K" --db "$L" audit -l 19
expect_status "audit -l 0 is refused" '' 2 'LIMIT must be a number from 1 to 10000' \
	"$K" --db "$L" audit -l 0
expect_status "audit takes no user" '' 2 'audit: unexpected argument adam' "$K" --db "$L" audit adam

# ---- unsafe permissions ----

chmod o+w "$L"
expect_status "a world-writable database is refused (info)" '' 1 \
	'list\.db: unsafe owner or mode: the key store must be' "$K" --db "$L" info zoe
expect_status "a world-writable database is refused (init)" "$P2" 1 'unsafe owner or mode' \
	"$K" --db "$L" init -s x -n 9 newbie
expect_status "a world-writable database is refused (remove)" '' 1 'unsafe owner or mode' \
	"$K" --db "$L" remove zoe
chmod o-w "$L"
expect_out "the same database is used again once safe" '' 'otp-md5 99 test ext' \
	sh -c '"$1" --db "$2" info zoe | head -n 1' sh "$KQ" "$L"
mkdir "$T_TMP/open"
chmod 777 "$T_TMP/open"
expect_status "a database in a world-writable directory is refused" "$P2" 1 'unsafe owner or mode' \
	"$K" --db "$T_TMP/open/keys.db" init -s x -n 9 zoe
check "... and nothing was created there" test ! -e "$T_TMP/open/keys.db"

done_testing
