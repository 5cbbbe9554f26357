#!/bin/sh
# powercut.sh - power loss, not just a killed process: real logins and
# inserts run under a shim (tests/shim/powercut.c) that keeps, for every
# file of the key store, only what its last fsync/fdatasync made durable;
# at a random instant everything is killed and the files are replaced by
# those copies, as a power cut leaves them, and the next "boot" begins (a
# new boot id).  After each cut: the store opens and every record is
# whole, no acknowledged login is undone (the stored count is at or below
# every sequence number acknowledged), every acknowledged response is
# refused when replayed, and every acknowledged insert is there.
# POWERCUT_INSERT=0 (powercut_ahead.sh): a third user's logins instead of the
# inserter, so that the log holds only records replaced by ones of the same
# size, which are written into the base ahead of the checkpoint.
. "$OTP_SRC/tests/lib.sh"

DBS=$OTP_BUILD/tests/tools/dbstress
PLW=$OTP_BUILD/tests/tools/plwriter
SHIM=$OTP_BUILD/tests/powercut.so
# The sanitizer build (make check SANITIZE=1) looks for memory errors on
# the same paths with fewer cuts; the plain build makes the 300 the claim.
# Its programs start slower, so the cut comes later.
if [ "${OTP_SANITIZE:-0}" = 1 ]; then WANT=100 LATER=250; else WANT=300 LATER=0; fi
ROUNDS=${POWERCUT_ROUNDS:-$WANT}
BUDGET=${POWERCUT_SECONDS:-900}
D=$T_TMP/store
DB=$D/otpkeys.db
SH=$T_TMP/shadow
mkdir -m 700 "$D" "$SH"
export POWERCUT_DIR="$D" POWERCUT_SHADOW="$SH" POWERCUT_BOOT="$T_TMP/boot"
# The shim comes before the sanitizer's runtime in a SANITIZE=1 build.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"

newboot() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)/\1-\2-\3-\4-/' > "$POWERCUT_BOOT"; }
shim() { LD_PRELOAD=$SHIM "$@"; }

# What a power cut leaves: each file as of its last sync, or nothing.
cut() {
	for f in "$D"/* "$D"/.[!.]*; do
		[ -e "$f" ] || continue
		b=$(basename "$f")
		if [ -e "$SH/$b" ]; then cp "$SH/$b" "$f"; else rm -f "$f"; fi
	done
	for f in "$SH"/*; do
		b=$(basename "$f")
		case $b in *.tmp) rm -f "$f"; continue ;; esac
		[ -e "$D/$b" ] || cp "$f" "$D/$b"
	done
	newboot
}

newboot
INSERT=${POWERCUT_INSERT:-1}
for u in alpha beta gamma; do
	printf '%s\n%s\n' "$PASS" "$PASS" | shim "$OTPKEY" --db "$DB" init -n 9999 -s "${u}1" "$u" \
		> /dev/null 2>&1 || { notok "enrol $u"; done_testing; exit 1; }
done
: > "$T_TMP/acked"
: > "$T_TMP/inserted"
rounds=0 good=0 cuts_mid=0 replays=0
start=$(date +%s)
while [ "$rounds" -lt "$ROUNDS" ] && [ $(( $(date +%s) - start )) -lt "$BUDGET" ]; do
	r=$rounds
	# Two logins of alpha at once (concurrent challenges, group commit), one
	# of beta, and an inserter growing the file (checkpoints that copy it),
	# or, with POWERCUT_INSERT=0, one of gamma.
	# (Not through shim(): $! must be the writer itself, not a subshell around it.)
	LD_PRELOAD=$SHIM "$PLW" login "$DB" alpha "$PASS" 100000 > "$T_TMP/a1" 2>/dev/null & p1=$!
	LD_PRELOAD=$SHIM "$PLW" login "$DB" alpha "$PASS" 100000 > "$T_TMP/a2" 2>/dev/null & p2=$!
	LD_PRELOAD=$SHIM "$PLW" login "$DB" beta "$PASS" 100000 > "$T_TMP/b" 2>/dev/null & p3=$!
	: > "$T_TMP/g"
	if [ "$INSERT" = 1 ]; then
		LD_PRELOAD=$SHIM "$DBS" insert "$DB" "r${r}x" 1000000 > "$T_TMP/i" 2>/dev/null & p4=$!
	else
		: > "$T_TMP/i"
		LD_PRELOAD=$SHIM "$PLW" login "$DB" gamma "$PASS" 100000 > "$T_TMP/g" 2>/dev/null & p4=$!
	fi
	ms=$(( LATER + $(od -An -N2 -tu2 /dev/urandom) % 150 ))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 $p1 $p2 $p3 $p4 2>/dev/null
	wait $p1 $p2 $p3 $p4 2>/dev/null
	rounds=$((rounds + 1))
	cut
	grep -q '^ok' "$T_TMP/a1" "$T_TMP/a2" "$T_TMP/b" "$T_TMP/g" 2>/dev/null && cuts_mid=$((cuts_mid + 1))

	# Every acknowledged login so far (its count must hold), and each
	# writer's last one of this round to replay; the acknowledged inserts.
	for f in "$T_TMP/a1" "$T_TMP/a2" "$T_TMP/b" "$T_TMP/g"; do
		case $f in */b) u=beta ;; */g) u=gamma ;; *) u=alpha ;; esac
		awk -v u="$u" '$1 == "ok" { last = $0; print u, $2, $3, 0 }
			END { if (last != "") { split(last, w); print u, w[2], w[3], 1 } }' "$f"
	done > "$T_TMP/round"
	grep -c ' 1$' "$T_TMP/round" > "$T_TMP/n" || true
	replays=$((replays + $(cat "$T_TMP/n")))
	grep ' 0$' "$T_TMP/round" >> "$T_TMP/acked"
	cat "$T_TMP/acked" > "$T_TMP/check"
	grep ' 1$' "$T_TMP/round" >> "$T_TMP/check"
	cat "$T_TMP/i" >> "$T_TMP/inserted"
	shim "$PLW" check "$DB" "$T_TMP/check" "$T_TMP/inserted" > "$T_TMP/wrong" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		diag "round $r: $(head -n 3 "$T_TMP/wrong" | paste -sd';')"
		break
	fi
	good=$((good + 1))
done

diag "$rounds power cuts in $(( $(date +%s) - start ))s; $cuts_mid after an acknowledged login;" \
     "$(wc -l < "$T_TMP/acked") logins acknowledged, $replays replayed;" \
     "$(wc -l < "$T_TMP/inserted") users inserted"
check "ran at least $WANT power cuts" [ "$rounds" -ge "$WANT" ]
check "after every cut the store opens, every record whole, no acknowledged login undone, every acknowledged response refused when replayed, every acknowledged insert there ($good/$rounds)" \
	[ "$good" -eq "$rounds" ]
check "most cuts landed after some acknowledged login" [ "$cuts_mid" -ge $((rounds / 2)) ]

done_testing
