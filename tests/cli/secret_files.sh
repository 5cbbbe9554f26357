#!/bin/sh
# secret_files.sh - what otpkey writes that holds a secret (QR images, sheets,
# PDFs) is made new with mode 0600, or replaced only with -f and then by a new
# file; otpkey and otpcalc leave no core and are not dumpable, with otpkey's
# memory locked, at the moment they hold a pass phrase.
. "$OTP_SRC/tests/lib.sh"

K="$OTPKEY"
KDB="$T_TMP/keys.db"
DRV="$OTP_SRC/tests/consumers/ptydrive.py"
NOBODY=65534
NL='
'
printf '%s\n%s\n' "$PASS" "$PASS" | "$K" --db "$KDB" init -s test -n 100 alice > /dev/null 2>&1

# plant PATH: a file someone else owns, open to all, where a secret will go.
plant() { rm -rf "$1"; printf 'planted\n' > "$1"; chown "$NOBODY" "$1"; chmod 666 "$1"; }
untouched() { [ "$(stat -c '%u %a' "$1")" = "$NOBODY 666" ] && [ "$(cat "$1")" = planted ]; }
# replaced PATH OLDINODE: a new file of root's, mode 0600, not the planted one.
replaced() {
	[ "$(stat -c '%u %a %F' "$1")" = "0 600 regular file" ] && [ "$(stat -c %i "$1")" != "$2" ] &&
	[ "$(cat "$1")" != planted ]
}
no_temp() { ! ls -a "$T_TMP" | grep -q '^\..*\.[A-Za-z0-9]\{6\}$'; }

# case_of WHAT PATH STDIN CMD...: with PATH planted, CMD must refuse it and
# leave it untouched; CMD $FARG (-f) must replace it with a new file.
case_of() {
	what=$1 path=$2 input=$3; shift 3
	plant "$path"
	ino=$(stat -c %i "$path")
	printf '%s' "$input" | timeout 60 "$@" > "$T_TMP/out" 2> "$T_TMP/err"
	rc=$?
	check "$what: a planted file (nobody's, 0666) is refused (exit $rc)" \
		sh -c '[ "$1" -eq 1 ] && grep -q "already exists (use -f to replace it)" "$2"' sh "$rc" "$T_TMP/err"
	check "$what: ... and left untouched" untouched "$path"
	printf '%s' "$input" | timeout 60 "$@" $FARG > "$T_TMP/out" 2> "$T_TMP/err"
	check "$what: with -f it is replaced by a new root file, mode 0600" replaced "$path" "$ino"
	check "$what: ... and no temporary file is left" no_temp
}

# The token's images and page: -f also means "replace the token"; no code
# is given, so nothing is stored, but the files are written before the code.
FARG=-f
case_of "--png" "$T_TMP/q.png" '' "$K" --db "$KDB" init --totp --png "$T_TMP/q.png" bob
check "--png: the new file is the QR code" \
	sh -c 'zbarimg -q --raw "$1" 2>/dev/null | grep -q "^otpauth://totp/"' sh "$T_TMP/q.png"
case_of "--svg" "$T_TMP/q.svg" '' "$K" --db "$KDB" init --totp --svg "$T_TMP/q.svg" bob
case_of "token --pdf" "$T_TMP/t.pdf" '' "$K" --db "$KDB" init --totp --pdf "$T_TMP/t.pdf" bob
case_of "sheet --pdf" "$T_TMP/s.pdf" "$PASS$NL" "$K" --db "$KDB" sheet --pdf "$T_TMP/s.pdf" alice
case_of "sheet -o" "$T_TMP/s.txt" "$PASS$NL" "$K" --db "$KDB" sheet -o "$T_TMP/s.txt" alice
check "sheet -o: the new file is the sheet" grep -q '^ *99: ' "$T_TMP/s.txt"

# A refused file refuses the key too: init --sheet stores nothing.
plant "$T_TMP/c.pdf"
"$K" --db "$KDB" init --sheet --pdf "$T_TMP/c.pdf" carol > /dev/null 2>&1
check "init --sheet with a refused --pdf stores no key (nobody would have its sheet)" \
	sh -c '"$1" --db "$2" info carol 2>&1 | grep -q "no key for this user"' sh "$K" "$KDB"

# Symbolic links: never followed; with -f the link itself is replaced.
printf 'target\n' > "$T_TMP/target"
ln -sf "$T_TMP/target" "$T_TMP/link.txt"
printf '%s\n' "$PASS" | "$K" --db "$KDB" sheet -o "$T_TMP/link.txt" alice > /dev/null 2>&1
check "a symbolic link at the path is refused" test "$(cat "$T_TMP/target")" = target
printf '%s\n' "$PASS" | "$K" --db "$KDB" sheet -f -o "$T_TMP/link.txt" alice > /dev/null 2>&1
check "with -f the link is replaced by a file, its target untouched" \
	sh -c '[ ! -L "$1" ] && [ -f "$1" ] && [ "$(cat "$2")" = target ]' sh "$T_TMP/link.txt" "$T_TMP/target"
mkdir "$T_TMP/dir.pdf"
printf '%s\n' "$PASS" | "$K" --db "$KDB" sheet -f --pdf "$T_TMP/dir.pdf" alice > /dev/null 2>&1
check "with -f a directory at the path is still refused" \
	sh -c '[ $1 -eq 1 ] && [ -d "$2" ]' sh $? "$T_TMP/dir.pdf"
check "... and its temporary file removed" no_temp
printf '%s\n' "$PASS" | "$K" --db "$KDB" sheet --pdf "$T_TMP/new.pdf" alice > /dev/null 2>&1
check "a new file is made 0600 whatever the umask" test "$(stat -c %a "$T_TMP/new.pdf")" = 600

# ---- no core, not dumpable, memory locked: SIGQUIT at the "Again" prompt ----

D="$T_TMP/cores"
mkdir -m 777 "$D"
pattern=$(cat /proc/sys/kernel/core_pattern)
# drive_quit PROMPT1 PROMPT2 CMD...: on a terminal, type the pass phrase at
# PROMPT1, then at PROMPT2 record the process's limits, locked memory and
# /proc owner and send it SIGQUIT; in D with core files allowed.
drive_quit() {
	p1=$1 p2=$2; shift 2
	rm -f "$D"/core* "$D"/limits "$D"/vmlck "$D"/owner
	printf 'expect %s\nsend %s\nexpect %s\nshell %s\nsignal QUIT\n' "$p1" "$PASS" "$p2" \
		'cat /proc/$PTYDRIVE_PID/limits > '"$D"'/limits; awk "/^VmLck/ {print \$2}" /proc/$PTYDRIVE_PID/status > '"$D"'/vmlck; stat -c %u /proc/$PTYDRIVE_PID/status > '"$D"'/owner' |
		(cd "$D" && ulimit -c unlimited 2>/dev/null; timeout 60 python3 "$DRV" "$D/transcript" "$@") \
		> /dev/null 2> "$D/drive.err"
}
core_none() { ! ls "$D" | grep -q '^core' && ! grep -q 'dumped core' "$D/drive.err"; }
limits0() { grep -Eq '^Max core file size +0 +0 ' "$D/limits"; }

drive_quit 'New secret pass phrase:' 'Again, to check:' "$K" --db "$T_TMP/q.db" init -s quit dora
check "otpkey: SIGQUIT at the Again prompt ends it (status $?)" grep -q 'Again, to check' "$D/transcript"
check "otpkey: ... and leaves no core (core_pattern $pattern)" core_none
check "otpkey: its core limit is 0, soft and hard" limits0
# ASan's runtime turns mlock and mlockall into no-ops that succeed.
if [ "${OTP_SANITIZE:-0}" = 1 ]; then
	ok "# SKIP memory locking: the sanitizer runtime ignores mlockall"
else
	check "otpkey: its memory is locked ($(cat "$D/vmlck") kB)" test "$(cat "$D/vmlck")" -gt 0
fi
check "otpkey: nothing stored" test ! -e "$T_TMP/q.db"
drive_quit 'Secret pass phrase:' 'New secret pass phrase:' "$OTPCALC" -t init-word 99 test
check "otpcalc: SIGQUIT at the new pass phrase prompt leaves no core" core_none
check "otpcalc: its core limit is 0, soft and hard" limits0

# Not dumpable: run by an ordinary user, its /proc files are root's.
if command -v setpriv >/dev/null 2>&1; then
	chmod 777 "$D"
	drive_quit 'New secret pass phrase:' 'Again, to check:' setpriv --reuid="$NOBODY" --regid="$NOBODY" \
		--clear-groups "$K" --db /proc/otp-test-none/k.db init -s quit dora
	check "otpkey run by nobody is not dumpable (its /proc is root's, not $NOBODY's)" \
		test "$(cat "$D/owner")" = 0
	check "otpkey run by nobody: no core either" core_none
	if [ "${OTP_SANITIZE:-0}" = 1 ]; then
		ok "# SKIP memory locking: the sanitizer runtime ignores mlockall"
	else
		grep -a 'cannot lock memory' "$D/transcript" > /dev/null
		check "otpkey run by nobody says it cannot lock its memory" test $? -eq 0
	fi
	drive_quit 'Secret pass phrase:' 'New secret pass phrase:' setpriv --reuid="$NOBODY" \
		--regid="$NOBODY" --clear-groups "$OTPCALC" -t init-word 99 test
	check "otpcalc run by nobody is not dumpable" test "$(cat "$D/owner")" = 0
	check "otpcalc run by nobody: no core" core_none
else
	for i in 1 2 3 4 5; do ok "# SKIP setpriv (util-linux) missing"; done
fi

done_testing
