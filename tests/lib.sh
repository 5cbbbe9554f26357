# lib.sh - helpers for the script tests: TAP output, temporary state, golden checks.
# Source it; then call ok/notok or the expect_* helpers; finish with done_testing.
# Needs OTP_BUILD (the build directory) and OTP_SRC (the source tree).
set -u

: "${OTP_BUILD:?OTP_BUILD must name the build directory}"
: "${OTP_SRC:?OTP_SRC must name the source tree}"
T_N=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/otp-test.XXXXXX")
chmod 700 "$T_TMP"
trap 'rm -rf "$T_TMP"' EXIT
trap 'exit 130' INT TERM

# The programs under test, and the layout the PAM-driving tests share: a
# key database and a private PAM service directory, both under T_TMP.
MOD="$OTP_BUILD/pam_otp.so"
OTPKEY="$OTP_BUILD/otpkey"
OTPCALC="$OTP_BUILD/otpcalc"
DRIVE="$OTP_BUILD/tests/tools/pamdrive"
DB="$T_TMP/db/otpkeys.db"
CONF="$T_TMP/pam.d"
PASS="This is a test."
mkdir -p "$CONF"
echo "auth required pam_deny.so" > "$CONF/other"

ok()    { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
notok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
diag()  { printf '# %s\n' "$@"; }

# check DESC COND...: ok if the command COND succeeds.
check() {
	desc=$1; shift
	if "$@"; then ok "$desc"; else notok "$desc"; fi
}

# expect_out DESC STDIN EXPECTED CMD...: CMD exits 0, prints exactly EXPECTED
# on stdout (STDIN fed to it; a trailing newline on output is ignored).
expect_out() {
	desc=$1 input=$2 want=$3; shift 3
	got=$(printf '%s' "$input" | timeout 60 "$@" 2>"$T_TMP/stderr")
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
		ok "$desc"
	else
		notok "$desc"
		diag "exit $rc" "want: $want" "got:  $got" "stderr: $(cat "$T_TMP/stderr")"
	fi
}

# expect_status DESC STDIN RC PATTERN CMD...: CMD exits with RC ("fail": any
# failure, 1..123, not a timeout or a signal), prints nothing on stdout, and
# its stderr is one line matching the grep -E PATTERN.
expect_status() {
	desc=$1 input=$2 want_rc=$3 pat=$4; shift 4
	got=$(printf '%s' "$input" | timeout 60 "$@" 2>"$T_TMP/stderr")
	rc=$?
	lines=$(grep -c '' "$T_TMP/stderr")
	if [ "$want_rc" = fail ]; then
		[ "$rc" -ne 0 ] && [ "$rc" -lt 124 ]
	else
		[ "$rc" -eq "$want_rc" ]
	fi && [ -z "$got" ] && [ "$lines" -eq 1 ] && grep -Eq -- "$pat" "$T_TMP/stderr"
	if [ $? -eq 0 ]; then
		ok "$desc"
	else
		notok "$desc"
		diag "exit $rc (want $want_rc)" "stdout: $got" "stderr ($lines lines): $(cat "$T_TMP/stderr")"
	fi
}

# expect_fail DESC STDIN PATTERN CMD...: expect_status with any failure.
expect_fail() {
	desc=$1 input=$2 pat=$3; shift 3
	expect_status "$desc" "$input" fail "$pat" "$@"
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}
