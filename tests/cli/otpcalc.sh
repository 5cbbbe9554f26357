#!/bin/sh
# otpcalc.sh - golden-output tests of otpcalc against RFC 2289 App. C and the RFC 2243 appendix, each with a negative twin.
. "$OTP_SRC/tests/lib.sh"

C="$OTP_BUILD/otpcalc"
NL='
'
P='This is a test.'
LONG64=1234567890123456789012345678901234567890123456789012345678901234
LONG63=123456789012345678901234567890123456789012345678901234567890123

# expect_other DESC STDIN UNWANTED CMD...: CMD exits 0 and prints something
# other than UNWANTED (the negative twin of an expect_out).
expect_other() {
	desc=$1 input=$2 unwanted=$3; shift 3
	got=$(printf '%s' "$input" | timeout 60 "$@" 2>"$T_TMP/stderr")
	rc=$?
	if [ "$rc" -eq 0 ] && [ -n "$got" ] && [ "$got" != "$unwanted" ]; then
		ok "$desc"
	else
		notok "$desc"
		diag "exit $rc" "must differ from: $unwanted" "got: $got"
	fi
}

# expect_warn DESC STDIN EXPECTED PATTERN CMD...: like expect_out, and stderr
# is exactly one line matching PATTERN.
expect_warn() {
	desc=$1 input=$2 want=$3 pat=$4; shift 4
	got=$(printf '%s' "$input" | timeout 60 "$@" 2>"$T_TMP/stderr")
	rc=$?
	lines=$(grep -c '' "$T_TMP/stderr")
	if [ "$rc" -eq 0 ] && [ "$got" = "$want" ] && [ "$lines" -eq 1 ] &&
	   grep -Eq -- "$pat" "$T_TMP/stderr"; then
		ok "$desc"
	else
		notok "$desc"
		diag "exit $rc" "want: $want" "got:  $got" "stderr: $(cat "$T_TMP/stderr")"
	fi
}

# expect_quiet DESC STDIN CMD...: CMD exits 0, prints something, and nothing on stderr.
expect_quiet() {
	desc=$1 input=$2; shift 2
	got=$(printf '%s' "$input" | timeout 60 "$@" 2>"$T_TMP/stderr")
	rc=$?
	if [ "$rc" -eq 0 ] && [ -n "$got" ] && [ ! -s "$T_TMP/stderr" ]; then
		ok "$desc"
	else
		notok "$desc"
		diag "exit $rc" "got: $got" "stderr: $(cat "$T_TMP/stderr")"
	fi
}

# expect_usage DESC CMD...: exit status 2, nothing on stdout, on stderr one
# "otpcalc: " line saying what is wrong and then the usage.
expect_usage() {
	desc=$1; shift
	got=$(timeout 60 "$@" </dev/null 2>"$T_TMP/stderr")
	rc=$?
	if [ "$rc" -eq 2 ] && [ -z "$got" ] && head -n 1 "$T_TMP/stderr" | grep -q '^otpcalc: ' &&
	   sed -n 2p "$T_TMP/stderr" | grep -q '^usage: otpcalc'; then
		ok "$desc"
	else
		notok "$desc"
		diag "exit $rc" "stdout: $got" "stderr: $(cat "$T_TMP/stderr")"
	fi
}

lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }

# ---- RFC 2289 Appendix C: 27 vectors, words and hex, each with a twin ----
# The twin changes one character of the pass phrase: the answer must change.
while IFS='|' read -r alg pass seed cnt hex words; do
	expect_out "$alg $seed $cnt words" "$pass$NL" "$words" "$C" -a "$alg" "$cnt" "$seed"
	expect_out "$alg $seed $cnt hex" "$pass$NL" "$(lower "$hex")" "$C" -x -a "$alg" "$cnt" "$seed"
	expect_other "$alg $seed $cnt: other pass phrase, other answer" "${pass%?}#$NL" "$words" \
		"$C" -a "$alg" "$cnt" "$seed"
done <<'EOF'
md4|This is a test.|TeSt|0|D185 4218 EBBB 0B51|ROME MUG FRED SCAN LIVE LACE
md4|This is a test.|TeSt|1|6347 3EF0 1CD0 B444|CARD SAD MINI RYE COL KIN
md4|This is a test.|TeSt|99|C5E6 1277 6E6C 237A|NOTE OUT IBIS SINK NAVE MODE
md4|AbCdEfGhIjK|alpha1|0|5007 6F47 EB1A DE4E|AWAY SEN ROOK SALT LICE MAP
md4|AbCdEfGhIjK|alpha1|1|65D2 0D19 49B5 F7AB|CHEW GRIM WU HANG BUCK SAID
md4|AbCdEfGhIjK|alpha1|99|D150 C82C CE6F 62D1|ROIL FREE COG HUNK WAIT COCA
md4|OTP's are good|correct|0|849C 79D4 F6F5 5388|FOOL STEM DONE TOOL BECK NILE
md4|OTP's are good|correct|1|8C09 92FB 2508 47B1|GIST AMOS MOOT AIDS FOOD SEEM
md4|OTP's are good|correct|99|3F3B F4B4 145F D74B|TAG SLOW NOV MIN WOOL KENO
md5|This is a test.|TeSt|0|9E87 6134 D904 99DD|INCH SEA ANNE LONG AHEM TOUR
md5|This is a test.|TeSt|1|7965 E054 36F5 029F|EASE OIL FUM CURE AWRY AVIS
md5|This is a test.|TeSt|99|50FE 1962 C496 5880|BAIL TUFT BITS GANG CHEF THY
md5|AbCdEfGhIjK|alpha1|0|8706 6DD9 644B F206|FULL PEW DOWN ONCE MORT ARC
md5|AbCdEfGhIjK|alpha1|1|7CD3 4C10 40AD D14B|FACT HOOF AT FIST SITE KENT
md5|AbCdEfGhIjK|alpha1|99|5AA3 7A81 F212 146C|BODE HOP JAKE STOW JUT RAP
md5|OTP's are good|correct|0|F205 7539 43DE 4CF9|ULAN NEW ARMY FUSE SUIT EYED
md5|OTP's are good|correct|1|DDCD AC95 6F23 4937|SKIM CULT LOB SLAM POE HOWL
md5|OTP's are good|correct|99|B203 E28F A525 BE47|LONG IVY JULY AJAR BOND LEE
sha1|This is a test.|TeSt|0|BB9E 6AE1 979D 8FF4|MILT VARY MAST OK SEES WENT
sha1|This is a test.|TeSt|1|63D9 3663 9734 385B|CART OTTO HIVE ODE VAT NUT
sha1|This is a test.|TeSt|99|87FE C776 8B73 CCF9|GAFF WAIT SKID GIG SKY EYED
sha1|AbCdEfGhIjK|alpha1|0|AD85 F658 EBE3 83C9|LEST OR HEEL SCOT ROB SUIT
sha1|AbCdEfGhIjK|alpha1|1|D07C E229 B5CF 119B|RITE TAKE GELD COST TUNE RECK
sha1|AbCdEfGhIjK|alpha1|99|27BC 7103 5AAF 3DC6|MAY STAR TIN LYON VEDA STAN
sha1|OTP's are good|correct|0|D51F 3E99 BF8E 6F0B|RUST WELT KICK FELL TAIL FRAU
sha1|OTP's are good|correct|1|82AE B52D 9437 74E4|FLIT DOSE ALSO MEW DRUM DEFY
sha1|OTP's are good|correct|99|4F29 6A74 FE15 67EC|AURA ALOE HURL WING BERG WAIT
EOF

# ---- RFC 2289 Appendix C general checks ----
expect_out "parity example: words" "A_Valid_Pass_Phrase$NL" "FOWL KID MASH DEAD DUAL OAF" \
	"$C" 99 AValidSeed
expect_out "parity example: hex" "A_Valid_Pass_Phrase$NL" "85c4 3ee0 3857 765b" \
	"$C" -x 99 AValidSeed
expect_other "parity example: sha1 is another answer" "A_Valid_Pass_Phrase$NL" \
	"FOWL KID MASH DEAD DUAL OAF" "$C" -a sha1 99 AValidSeed
expect_out "seed case does not matter" "A_Valid_Pass_Phrase$NL" "FOWL KID MASH DEAD DUAL OAF" \
	"$C" 99 avalidseed
expect_other "pass phrase case does matter" "a_valid_pass_phrase$NL" \
	"FOWL KID MASH DEAD DUAL OAF" "$C" 99 AValidSeed
expect_fail "pass phrase too short (Too_short)" "Too_short$NL" '^otpcalc: pass phrase too short' \
	"$C" 99 iamvalid
expect_out "pass phrase of exactly 10 is enough" "Too_short!$NL" \
	"$(printf 'Too_short!\n' | timeout 60 "$C" 99 iamvalid 2>/dev/null)" "$C" 99 iamvalid
expect_warn "pass phrase of 64: warning, still answered" "$LONG64$NL" \
	"$(printf '%s\n' "$LONG64" | timeout 60 "$C" 99 iamvalid 2>/dev/null)" \
	'^otpcalc: warning: pass phrase longer than the recommended maximum length of 63$' \
	"$C" 99 iamvalid
expect_quiet "pass phrase of 63: no warning" "$LONG63$NL" "$C" 99 iamvalid
expect_fail "seed Length_Okay" "A_Valid_Pass_Phrase$NL" \
	'^otpcalc: seed "Length_Okay": seed must be purely alphanumeric$' "$C" 99 Length_Okay
expect_fail "seed LengthOfSeventeen" "A_Valid_Pass_Phrase$NL" \
	'^otpcalc: seed "LengthOfSeventeen": seed must be between 1 and 16' "$C" 99 LengthOfSeventeen
expect_quiet "seed LengthOfSixteen" "A_Valid_Pass_Phrase$NL" "$C" 99 LengthOfSixteen1
expect_fail "seed 'A Seed'" "A_Valid_Pass_Phrase$NL" \
	'^otpcalc: seed "A Seed": seed must be purely alphanumeric$' "$C" 99 "A Seed"
expect_fail "empty seed" "A_Valid_Pass_Phrase$NL" '^otpcalc: seed "": seed must be between' \
	"$C" 99 ""

# ---- sequence numbers ----
expect_quiet "seq 9999" "$P$NL" "$C" 9999 TeSt
expect_fail "seq 10000" "$P$NL" '^otpcalc: sequence number "10000": sequence number out of range' \
	"$C" 10000 TeSt
expect_fail "seq -1" "$P$NL" '^otpcalc: sequence number "-1": sequence number out of range' \
	"$C" -- -1 TeSt
expect_fail "seq +5" "$P$NL" '^otpcalc: sequence number "\+5"' "$C" +5 TeSt
expect_fail "seq junk" "$P$NL" '^otpcalc: sequence number "12a"' "$C" 12a TeSt
expect_fail "seq empty" "$P$NL" '^otpcalc: sequence number ""' "$C" "" TeSt
expect_fail "seq overflow" "$P$NL" '^otpcalc: sequence number "18446744073709551617"' \
	"$C" 18446744073709551617 TeSt
expect_warn "seq 9: one warning, still answered" "$P$NL" \
	"$(printf '%s\n' "$P" | timeout 60 "$C" 9 TeSt 2>/dev/null)" \
	'^otpcalc: warning: sequence number 9 is below 10' "$C" 9 TeSt
expect_quiet "seq 10: no warning" "$P$NL" "$C" 10 TeSt

# ---- algorithms ----
expect_fail "unknown algorithm md6" "$P$NL" '^otpcalc: algorithm "md6": unknown hash algorithm' \
	"$C" -a md6 99 TeSt
expect_fail "algorithm names are case sensitive (MD5)" "$P$NL" \
	'^otpcalc: algorithm "MD5": unknown hash algorithm' "$C" -a MD5 99 TeSt
expect_fail "unknown algorithm sha256" "$P$NL" '^otpcalc: algorithm "sha256"' \
	"$C" -a sha256 99 TeSt
mkdir "$T_TMP/nomodules"
if printf '%s\n' "$P" | OPENSSL_MODULES="$T_TMP/nomodules" OPENSSL_CONF=/dev/null \
	timeout 60 "$C" -a md4 0 TeSt >/dev/null 2>&1; then
	ok "md4 unavailable # SKIP this OpenSSL offers MD4 without the legacy provider"
else
	expect_fail "md4 unavailable (no legacy provider)" "$P$NL" '^otpcalc: md4 unavailable' \
		env OPENSSL_MODULES="$T_TMP/nomodules" OPENSSL_CONF=/dev/null "$C" -a md4 0 TeSt
fi

# ---- pasted challenges ----
expect_out "RFC 2243 challenge" "$P$NL" "BOND FOGY DRAB NE RISE MART" "$C" 'otp-md5 499 ke1234 ext'
expect_out "RFC 2243 challenge, hex" "$P$NL" "5bf0 75d9 959d 036f" "$C" -x 'otp-md5 499 ke1234 ext'
expect_out "challenge's algorithm wins over -a" "$P$NL" "BOND FOGY DRAB NE RISE MART" \
	"$C" -a sha1 'otp-md5 499 ke1234 ext'
expect_other "... while -a sha1 alone is another answer" "$P$NL" "BOND FOGY DRAB NE RISE MART" \
	"$C" -a sha1 499 ke1234
expect_out "sha1 challenge wins over default md5" "$P$NL" "GAFF WAIT SKID GIG SKY EYED" \
	"$C" 'otp-sha1 99 TeSt'
expect_out "pasted prompt with ', Response:'" "$P$NL" "BOND FOGY DRAB NE RISE MART" \
	"$C" '  otp-md5 499 ke1234 ext, Response:'
expect_fail "challenge without seed" "$P$NL" '^otpcalc: challenge "otp-md5 499": ' \
	"$C" 'otp-md5 499'
expect_fail "challenge with unknown algorithm" "$P$NL" \
	'^otpcalc: challenge "otp-md6 499 ke1234": unknown hash algorithm' "$C" 'otp-md6 499 ke1234'
expect_fail "challenge with seq 10000" "$P$NL" \
	'^otpcalc: challenge "otp-md5 10000 ke1234": sequence number out of range' \
	"$C" 'otp-md5 10000 ke1234'
expect_fail "challenge without otp- prefix" "$P$NL" '^otpcalc: challenge "md5 499 ke1234": malformed' \
	"$C" 'md5 499 ke1234'
expect_fail "challenge with non-numeric seq" "$P$NL" '^otpcalc: challenge .*: malformed challenge' \
	"$C" 'otp-md5 abc ke1234'
expect_fail "challenge with bad seed" "$P$NL" '^otpcalc: challenge .*: seed must be purely alphanumeric' \
	"$C" 'otp-md5 499 ke_1234'
expect_fail "challenge with 17-character seed" "$P$NL" \
	'^otpcalc: challenge .*: seed must be between 1 and 16' "$C" 'otp-md5 499 LengthOfSeventeen'

# ---- -n: one pass, ascending, equal to the single computations ----
want=$(for s in 97 98 99; do
	printf '%s: %s\n' "$s" "$(printf '%s\n' "$P" | timeout 60 "$C" "$s" TeSt 2>/dev/null)"
done)
expect_out "-n 3 equals three single computations" "$P$NL" "$want" "$C" -n 3 99 TeSt
expect_other "... and is not the same three descending" "$P$NL" \
	"$(printf '%s\n' "$want" | sort -r)" "$C" -n 3 99 TeSt
out=$(printf '%s\n' "$P" | timeout 60 "$C" -n 100 99 TeSt 2>/dev/null)
check "-n 100 99: RFC vectors 0, 1 and 99 at both ends" \
	[ "$(printf '%s\n' "$out" | sed -n '1p;2p;100p')" = "0: INCH SEA ANNE LONG AHEM TOUR
1: EASE OIL FUM CURE AWRY AVIS
99: BAIL TUFT BITS GANG CHEF THY" ]
check "-n 100 99: exactly 100 lines" [ "$(printf '%s\n' "$out" | grep -c '')" -eq 100 ]
expect_out "-n 2 -x sha1" "$P$NL" "0: bb9e 6ae1 979d 8ff4
1: 63d9 3663 9734 385b" "$C" -x -a sha1 -n 2 1 TeSt
expect_out "-n 1 is numbered" "$P$NL" "99: BAIL TUFT BITS GANG CHEF THY" "$C" -n 1 99 TeSt
expect_out "-n with a pasted challenge" "$P$NL" "498: $(printf '%s\n' "$P" |
	timeout 60 "$C" 'otp-md5 498 ke1234' 2>/dev/null)
499: BOND FOGY DRAB NE RISE MART" "$C" -n 2 'otp-md5 499 ke1234 ext'
expect_fail "-n 0" "$P$NL" '^otpcalc: count "0" out of range \(1 to 100' "$C" -n 0 99 TeSt
expect_fail "-n SEQ+2" "$P$NL" '^otpcalc: count "101" out of range \(1 to 100' "$C" -n 101 99 TeSt
expect_fail "-n junk" "$P$NL" '^otpcalc: count "3x" out of range' "$C" -n 3x 99 TeSt
expect_fail "-n -1" "$P$NL" '^otpcalc: count "-1" out of range' "$C" -n -1 99 TeSt

# ---- -t: RFC 2243 re-initialisation ----
expect_out "init-hex, RFC 2243 reference" "$P$NL$P$NL" \
	"init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712 dcb4 aa53 16c1" \
	"$C" -t init-hex 'otp-md5 499 ke1234 ext'
expect_out "init-word, RFC 2243 reference" "$P$NL$P$NL" \
	"init-word:BOND FOGY DRAB NE RISE MART:md5 499 ke1235:RED HERD NOW BEAN PA BURG" \
	"$C" -t init-word 'otp-md5 499 ke1234 ext'
expect_out "init-hex with explicit --new-seed/--new-seq and SEQ SEED" "$P$NL$P$NL" \
	"init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712 dcb4 aa53 16c1" \
	"$C" -t init-hex --new-seed KE1235 --new-seq 499 499 ke1234
expect_fail "init: same seed, same pass phrase refused (RFC 2289 s8)" "$P$NL$P$NL" \
	'^otpcalc: re-initialisation must change the seed or the pass phrase' \
	"$C" -t init-hex --new-seed ke1234 'otp-md5 499 ke1234 ext'
expect_out "init: same seed, new pass phrase" "$P${NL}A new pass phrase$NL" \
	"init-hex:5bf0 75d9 959d 036f:md5 499 ke1234:$(printf 'A new pass phrase\n' |
		timeout 60 "$C" -x 499 ke1234 2>/dev/null)" \
	"$C" -t init-hex --new-seed ke1234 'otp-md5 499 ke1234 ext'
expect_fail "init: new pass phrase equal to the seed (RFC 2243 s4.3)" "$P${NL}ThisIsASeed1$NL" \
	'^otpcalc: new pass phrase: pass phrase must not be the same as the seed' \
	"$C" -t init-hex --new-seed thisisaseed1 'otp-md5 499 ke1234 ext'
expect_out "init: new algorithm and count" "$P$NL$P$NL" \
	"init-hex:5bf0 75d9 959d 036f:sha1 100 ke1235:$(printf '%s\n' "$P" |
		timeout 60 "$C" -x -a sha1 100 ke1235 2>/dev/null)" \
	"$C" -t init-hex --new-alg sha1 --new-seq 100 'otp-md5 499 ke1234 ext'
expect_fail "init: bad --new-alg" "$P$NL$P$NL" '^otpcalc: new algorithm "sha2": unknown hash' \
	"$C" -t init-hex --new-alg sha2 'otp-md5 499 ke1234 ext'
expect_fail "init: --new-seq 1" "$P$NL$P$NL" '^otpcalc: new sequence number "1" out of range \(2 to 9999\)' \
	"$C" -t init-hex --new-seq 1 'otp-md5 499 ke1234 ext'
expect_fail "init: --new-seq 10000" "$P$NL$P$NL" '^otpcalc: new sequence number "10000" out of range' \
	"$C" -t init-hex --new-seq 10000 'otp-md5 499 ke1234 ext'
expect_fail "init: bad --new-seed" "$P$NL$P$NL" '^otpcalc: new seed "A Seed": seed must be purely' \
	"$C" -t init-hex --new-seed 'A Seed' 'otp-md5 499 ke1234 ext'
expect_fail "init: unknown type" "$P$NL$P$NL" '^otpcalc: response type "init-foo": expected init-hex or init-word' \
	"$C" -t init-foo 'otp-md5 499 ke1234 ext'
expect_fail "init: no second line" "$P$NL" '^otpcalc: no new pass phrase \(second line\) on standard input' \
	"$C" -t init-hex 'otp-md5 499 ke1234 ext'
expect_fail "init: new pass phrase too short" "$P${NL}short$NL" \
	'^otpcalc: new pass phrase: pass phrase too short' "$C" -t init-hex 'otp-md5 499 ke1234 ext'
expect_warn "init: current seq 5 warns" "$P$NL$P$NL" \
	"init-hex:$(printf '%s\n' "$P" | timeout 60 "$C" -x 5 ke1234 2>/dev/null):md5 499 ke1235:3712 dcb4 aa53 16c1" \
	'^otpcalc: warning: sequence number 5 is below 10' "$C" -t init-hex 'otp-md5 5 ke1234'

# Default new seeds: the trailing number incremented, or "1" appended.
newseed() {
	printf '%s\n%s\n' "$P" "$P" | timeout 60 "$C" -t init-hex "otp-md5 99 $1" 2>/dev/null |
		cut -d: -f3
}
check "new seed: ke1234 -> ke1235" [ "$(newseed ke1234)" = "md5 499 ke1235" ]
check "new seed: AB099 -> ab100" [ "$(newseed AB099)" = "md5 499 ab100" ]
check "new seed: ab9 -> ab10" [ "$(newseed ab9)" = "md5 499 ab10" ]
check "new seed: abc -> abc1" [ "$(newseed abc)" = "md5 499 abc1" ]
check "new seed: 999 -> 1000" [ "$(newseed 999)" = "md5 499 1000" ]
expect_fail "new seed: 16 letters cannot grow" "$P$NL$P$NL" '^otpcalc: cannot derive a new seed .*--new-seed' \
	"$C" -t init-hex 'otp-md5 99 abcdefghijklmnop'
expect_fail "new seed: 16 characters ending in 9 cannot grow" "$P$NL$P$NL" \
	'^otpcalc: cannot derive a new seed .*--new-seed' "$C" -t init-hex 'otp-md5 99 abcdefghijklmno9'
expect_out "new seed: 16 characters ending in 8 grows in place" "$P$NL$P$NL" \
	"$(printf '%s\n' "$P" | timeout 60 "$C" -x 99 abcdefghijklmno8):md5 499 abcdefghijklmno9" \
	sh -c '"$1" -t init-hex "otp-md5 99 abcdefghijklmno8" | cut -d: -f2,3' sh "$C"

# ---- where the pass phrase comes from ----
printf '%s\n' "$P" > "$T_TMP/pass"
printf '%s\r\n%s\r\n' "$P" "$P" > "$T_TMP/pass2crlf"
printf '%s' "$P" > "$T_TMP/pass-nonl"
: > "$T_TMP/empty"
expect_out "--passphrase-file, stdin unused" "" "BAIL TUFT BITS GANG CHEF THY" \
	"$C" --passphrase-file "$T_TMP/pass" 99 TeSt
expect_out "--passphrase-file beats stdin" "wrong pass phrase$NL" "BAIL TUFT BITS GANG CHEF THY" \
	"$C" --passphrase-file "$T_TMP/pass" 99 TeSt
expect_out "--passphrase-file with CRLF lines, -t" "" \
	"init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712 dcb4 aa53 16c1" \
	"$C" -t init-hex --passphrase-file "$T_TMP/pass2crlf" 'otp-md5 499 ke1234 ext'
expect_out "--passphrase-file without a final newline" "" "BAIL TUFT BITS GANG CHEF THY" \
	"$C" --passphrase-file "$T_TMP/pass-nonl" 99 TeSt
expect_fail "--passphrase-file missing" "$P$NL" "^otpcalc: $T_TMP/missing: No such file or directory\$" \
	"$C" --passphrase-file "$T_TMP/missing" 99 TeSt
expect_fail "--passphrase-file empty" "$P$NL" "^otpcalc: no pass phrase on $T_TMP/empty\$" \
	"$C" --passphrase-file "$T_TMP/empty" 99 TeSt
expect_fail "--passphrase-file a directory" "$P$NL" "^otpcalc: cannot read pass phrase from $T_TMP: " \
	"$C" --passphrase-file "$T_TMP" 99 TeSt
expect_fail "--passphrase-file -t with one line" "" '^otpcalc: no new pass phrase \(second line\) on ' \
	"$C" -t init-hex --passphrase-file "$T_TMP/pass" 'otp-md5 499 ke1234 ext'
expect_out "stdin CRLF line" "$P$(printf '\r')$NL" "BAIL TUFT BITS GANG CHEF THY" "$C" 99 TeSt
expect_out "stdin line without newline" "$P" "BAIL TUFT BITS GANG CHEF THY" "$C" 99 TeSt
expect_other "stdin: trailing space is part of the pass phrase" "$P $NL" "BAIL TUFT BITS GANG CHEF THY" \
	"$C" 99 TeSt
expect_out "stdin: only the first line counts" "$P${NL}junk$NL" "BAIL TUFT BITS GANG CHEF THY" \
	"$C" 99 TeSt
expect_fail "empty stdin" "" '^otpcalc: no pass phrase on standard input$' "$C" 99 TeSt
expect_fail "empty first line" "$NL$P$NL" '^otpcalc: pass phrase too short' "$C" 99 TeSt
L255=$(printf '%0255d' 0)
expect_warn "pass phrase of 255: accepted with a warning" "$L255$NL" \
	"$(printf '%s\n' "$L255" | timeout 60 "$C" 99 TeSt 2>/dev/null)" '^otpcalc: warning: pass phrase longer' \
	"$C" 99 TeSt
expect_fail "pass phrase of 256: too long" "${L255}0$NL" '^otpcalc: pass phrase too long' "$C" 99 TeSt
expect_fail "pass phrase of 1000: too long" "$(printf '%01000d' 0)$NL" \
	'^otpcalc: pass phrase from standard input: pass phrase too long' "$C" 99 TeSt

# ---- usage ----
expect_usage "no arguments" "$C"
expect_usage "three arguments" "$C" otp-md5 499 ke1234
expect_usage "unknown option" "$C" -q 99 TeSt
expect_usage "unknown long option" "$C" --frobnicate 99 TeSt
expect_usage "-n without argument" "$C" 99 TeSt -n
expect_usage "--new-seed without -t" "$C" --new-seed ab12 99 TeSt
expect_usage "-t with -n" "$C" -t init-hex -n 2 99 TeSt
expect_usage "-t with -x" "$C" -t init-hex -x 99 TeSt
expect_usage "--help with an argument" "$C" --help=3
expect_out "--help on stdout, exit 0" "" "usage: otpcalc [-x] [-a md4|md5|sha1] [-n COUNT] [--passphrase-file FILE] SEQ SEED" \
	sh -c '"$1" --help | head -n 1' sh "$C"
expect_out "-h too" "" "$(timeout 60 "$C" --help)" "$C" -h
expect_out "--version" "" "otpcalc" sh -c '"$1" --version | cut -d" " -f1' sh "$C"

# --help and the manual page name the same options.
man1="$OTP_SRC/otpcalc/otpcalc.1"
missing=
for opt in $(timeout 60 "$C" --help | grep -oE -- '(^|[][ ,])--?[a-z][a-z-]*' |
	     sed 's/^[][ ,]//' | sort -u); do
	roff=$(printf '%s' "$opt" | sed 's/-/\\-/g')
	grep -qF -- "$roff" "$man1" || missing="$missing $opt"
done
check "every option in --help is in otpcalc.1${missing:+ (missing:$missing)}" [ -z "$missing" ]
if command -v groff >/dev/null 2>&1; then
	check "otpcalc.1 renders without warnings" \
		[ -z "$(timeout 60 groff -ww -man -z "$man1" 2>&1)" ]
else
	ok "otpcalc.1 renders without warnings # SKIP no groff"
fi

# ---- the terminal: echo off, restored on every path, also on signals ----
# script(1) gives otpcalc a pseudo-terminal; the feeder waits for each prompt
# (printed once echo is off) before it types.
TS="$T_TMP/typescript"
wait_for() {	# wait_for PATTERN COUNT: until the typescript shows PATTERN COUNT times
	i=0
	while [ "$i" -lt 100 ]; do
		n=$(grep -c -- "$1" "$TS" 2>/dev/null)
		[ "${n:-0}" -ge "$2" ] && break
		sleep 0.1
		i=$((i + 1))
	done
}
on_tty() {	# on_tty FEEDER COMMAND: run COMMAND on a pty, FEEDER typing into it
	rm -f "$TS"
	{ "$1"; sleep 0.3; } | timeout 30 script -qfec "$2" "$TS" >/dev/null 2>&1
	tr -d '\r' < "$TS"
}
type_pass()   { wait_for 'Secret pass phrase:' 1; printf '%s\r' "$P"; }
type_init()   { type_pass; wait_for 'New secret pass phrase:' 1; printf '%s\r' "$P"
		wait_for 'again:' 1; printf '%s\r' "$P"; }
type_differ() { type_pass; wait_for 'New secret pass phrase:' 1; printf '%s\r' "$P"
		wait_for 'again:' 1; printf 'Not the same one\r'; }
type_intr()   { wait_for 'Secret pass phrase:' 1; printf 'This is\003'; }
type_term()   { wait_for 'Secret pass phrase:' 1; kill -TERM "$(cat "$T_TMP/pid")"; }
type_eof()    { wait_for 'Secret pass phrase:' 1; printf '\004'; }

if command -v script >/dev/null 2>&1; then
	Q=$(printf '%s' "$C" | sed "s/'/'\\\\''/g")
	# Prints "mode=echo" or "mode=-echo" for the terminal's echo flag.
	ECHOMODE="stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo | sed 's/^/mode=/'"
	out=$(on_tty type_pass "'$Q' 99 TeSt; echo rc=\$?; $ECHOMODE")
	check "tty: prompt on the terminal, answer printed" \
		sh -c 'printf "%s\n" "$1" | grep -q "^BAIL TUFT BITS GANG CHEF THY$"' sh "$out"
	check "tty: the pass phrase is not echoed" \
		sh -c '! printf "%s\n" "$1" | grep -q "This is a test"' sh "$out"
	check "tty: echo is on again afterwards" \
		sh -c 'printf "%s\n" "$1" | grep -q "^mode=echo$"' sh "$out"
	out=$(on_tty type_init "'$Q' -t init-hex 'otp-md5 499 ke1234 ext'; echo rc=\$?")
	check "tty: -t asks three times" \
		sh -c 'printf "%s\n" "$1" | grep -q "^init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712 dcb4 aa53 16c1$"' sh "$out"
	out=$(on_tty type_differ "'$Q' -t init-hex 'otp-md5 499 ke1234 ext'; echo rc=\$?")
	check "tty: -t refuses new pass phrases that differ" \
		sh -c 'printf "%s\n" "$1" | grep -q "^otpcalc: the new pass phrases do not match$" &&
		       printf "%s\n" "$1" | grep -q "^rc=1$" && ! printf "%s\n" "$1" | grep -q "^init-hex:"' sh "$out"
	out=$(on_tty type_intr "trap : INT; '$Q' 99 TeSt; echo rc=\$?; $ECHOMODE")
	check "tty: interrupted (SIGINT) with echo restored" \
		sh -c 'printf "%s\n" "$1" | grep -q "^rc=130$" &&
		       printf "%s\n" "$1" | grep -q "^mode=echo$"' sh "$out"
	out=$(on_tty type_term "sh -c 'echo \$\$ > \"\$1\"; exec \"\$2\" 99 TeSt' sh '$T_TMP/pid' '$Q'; echo rc=\$?; $ECHOMODE")
	check "tty: terminated (SIGTERM) with echo restored" \
		sh -c 'printf "%s\n" "$1" | grep -q "^rc=143$" &&
		       printf "%s\n" "$1" | grep -q "^mode=echo$"' sh "$out"
	out=$(on_tty type_eof "'$Q' 99 TeSt; echo rc=\$?; $ECHOMODE")
	check "tty: end of file at the prompt fails, echo restored" \
		sh -c 'printf "%s\n" "$1" | grep -q "^otpcalc: no pass phrase on the terminal$" &&
		       printf "%s\n" "$1" | grep -q "^rc=1$" &&
		       printf "%s\n" "$1" | grep -q "^mode=echo$"' sh "$out"
else
	for t in prompt echo restored init differ SIGINT SIGTERM EOF; do
		ok "tty: $t # SKIP no script(1)"
	done
fi

done_testing
