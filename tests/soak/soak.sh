#!/bin/sh
# soak.sh - many processes against one key database for a bounded time: PAM
# logins (pamdrive answering from the pass phrase), otpkey init -f re-keys,
# init-word re-keys through the module, otpkey list/info.  Then the
# invariants: no record lost, every record decodes, each user's sequence
# only ever falls (except across a re-key, which brings a seed never seen
# before), and no response accepted twice.
. "$OTP_SRC/tests/lib.sh"

LOG="$T_TMP/log"
SECONDS_=${SOAK_SECONDS:-50}
USERS="sa sb sc sd se sf"
NUSERS=6
START=9000
mkdir -p "$CONF" "$LOG"
# No lockout: a busy or stale login is a failure, and failures must not stop the soak.
printf 'auth required %s db=%s max_failures=0\naccount required pam_permit.so\n' "$MOD" "$DB" \
	> "$CONF/otp"

rnd() { echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 )); }
pick() { set -- $USERS; i=$(( $(rnd $NUSERS) + 1 )); eval "echo \${$i}"; }
rekey() { # USER SEED: otpkey init -f
	printf '%s\n%s\n' "$PASS" "$PASS" |
		timeout 60 "$OTPKEY" --db "$DB" init -f -a md5 -n $START -s "$2" "$1" >/dev/null 2>&1
}

for u in $USERS; do
	rekey "$u" "${u}g0" || { notok "enrol $u"; done_testing; exit 1; }
	echo "$u ${u}g0" >> "$LOG/seeds.init"
done
deadline=$(( $(date +%s) + SECONDS_ ))

# A login: "accepted USER ALG SEQ SEED" for each success, "rc N" for each result.
login_worker() { # ID
	while [ "$(date +%s)" -lt "$deadline" ]; do
		u=$(pick)
		timeout 60 "$DRIVE" "$CONF" otp "$u" "@$PASS" > "$LOG/out.l$1" 2>&1 </dev/null
		rc=$?
		echo "rc $rc" >> "$LOG/rc.l$1"
		if [ "$rc" -eq 0 ]; then
			sed -n "s/^PROMPT: otp-\([a-z0-9]*\) \([0-9]*\) \([a-z0-9]*\).*/accepted $u \1 \2 \3/p" \
				"$LOG/out.l$1" >> "$LOG/accepted.l$1"
		fi
	done
}

# otpkey init -f with a seed never used before.
rekey_worker() {
	n=0
	while [ "$(date +%s)" -lt "$deadline" ]; do
		u=$(pick)
		n=$((n + 1))
		if rekey "$u" "${u}k$n"; then echo "$u ${u}k$n" >> "$LOG/seeds.k"; else echo "$u" >> "$LOG/rekey.fail"; fi
		sleep 0.2
	done
}

# An RFC 2243 init-word response through the module, computed by otpcalc -t.
initword_worker() {
	n=0
	while [ "$(date +%s)" -lt "$deadline" ]; do
		u=$(pick)
		n=$((n + 1))
		ch=$(timeout 60 "$OTPKEY" --db "$DB" info "$u" 2>/dev/null | head -n 1)
		ans=$(printf '%s\n%s\n' "$PASS" "$PASS" | timeout 60 "$OTPCALC" -t init-word \
			--new-seed "${u}w$n" --new-seq $START "$ch" 2>/dev/null) || continue
		timeout 60 "$DRIVE" "$CONF" otp "$u" "$ans" > "$LOG/out.w" 2>&1 </dev/null
		rc=$?
		echo "rc $rc" >> "$LOG/rc.w"
		if [ "$rc" -eq 0 ]; then
			sed -n "s/^PROMPT: otp-\([a-z0-9]*\) \([0-9]*\) \([a-z0-9]*\).*/accepted $u \1 \2 \3/p" \
				"$LOG/out.w" >> "$LOG/accepted.w"
			echo "$u ${u}w$n" >> "$LOG/seeds.w"
		fi
	done
}

# Snapshots of otpkey list ("SNAP" between them), and info on one user.
reader_worker() { # ID
	while [ "$(date +%s)" -lt "$deadline" ]; do
		if timeout 60 "$OTPKEY" --db "$DB" list > "$LOG/list.r$1" 2>&1; then
			{ echo SNAP; cat "$LOG/list.r$1"; } >> "$LOG/snaps.r$1"
		else
			{ echo "list failed:"; cat "$LOG/list.r$1"; } >> "$LOG/errors.r$1"
		fi
		timeout 60 "$OTPKEY" --db "$DB" info "$(pick)" > /dev/null 2>> "$LOG/errors.r$1" ||
			echo "info failed" >> "$LOG/errors.r$1"
	done
}

pids=""
for i in 1 2 3 4; do login_worker $i & pids="$pids $!"; done
rekey_worker & pids="$pids $!"
initword_worker & pids="$pids $!"
reader_worker 1 & pids="$pids $!"
reader_worker 2 & pids="$pids $!"
wait $pids

cat "$LOG"/accepted.* 2>/dev/null > "$T_TMP/accepted"
cat "$LOG"/rc.* > "$T_TMP/rcs"
cat "$LOG"/seeds.* > "$T_TMP/seeds"
nacc=$(wc -l < "$T_TMP/accepted")
nlog=$(grep -c '' "$T_TMP/rcs")
nrekey=$(grep -c '' "$LOG/seeds.k" 2>/dev/null || echo 0)
nword=$(grep -c '' "$LOG/seeds.w" 2>/dev/null || echo 0)
nsnap=$(cat "$LOG"/snaps.r* | grep -c '^SNAP$')
diag "$SECONDS_ s: $nlog logins ($nacc accepted), $nrekey otpkey re-keys," \
     "$nword init-word re-keys, $nsnap list snapshots"

check "logins ran and some were accepted ($nacc of $nlog)" [ "$nacc" -gt 0 ]
check "re-keys of both kinds ran ($nrekey otpkey, $nword init-word)" [ "$nrekey" -gt 0 -a "$nword" -gt 0 ]
odd=$(grep -v -e '^rc 0$' -e '^rc 7$' "$T_TMP/rcs" | sort | uniq -c | tr '\n' ' ')
check "every login ended in success or PAM_AUTH_ERR, none in a store error ($odd)" [ -z "$odd" ]
check "every otpkey re-key succeeded" [ ! -s "$LOG/rekey.fail" ]
cat "$LOG"/errors.r* > "$T_TMP/rerrors" 2>/dev/null
check "every otpkey list and info succeeded" [ ! -s "$T_TMP/rerrors" ]
[ -s "$T_TMP/rerrors" ] && diag "$(head -n 5 "$T_TMP/rerrors")"

# No record lost, and every record decodes.
"$OTPKEY" --db "$DB" list > "$T_TMP/final" 2>&1
check "all $NUSERS users still listed" [ "$(awk '{ print $1 }' "$T_TMP/final" | sort | tr '\n' ' ')" = "$(echo $USERS | tr ' ' '\n' | sort | tr '\n' ' ')" ]
bad=0
for u in $USERS; do "$OTPKEY" --db "$DB" info "$u" > /dev/null 2>&1 || bad=$((bad + 1)); done
check "every record decodes (otpkey info on each)" [ "$bad" -eq 0 ]

# Each response accepted at most once: one pass phrase, and every seed is new,
# so (user, alg, seq, seed) names the response.
dups=$(sort "$T_TMP/accepted" | uniq -d | head -n 3)
check "no response accepted twice" [ -z "$dups" ]
[ -n "$dups" ] && diag "accepted twice: $dups"

# Every seed observed was one given at enrolment or by a re-key.
unknown=$(cat "$LOG"/snaps.r* "$T_TMP/final" | awk '$1 != "SNAP" { print $1, $4 }' | sort -u |
	awk 'NR == FNR { s[$1 " " $2] = 1; next } !($0 in s)' "$T_TMP/seeds" - | head -n 3)
check "every seed in the store came from an enrolment or a re-key" [ -z "$unknown" ]
[ -n "$unknown" ] && diag "unknown: $unknown"

# Per reader, in time order: within one seed the sequence never rises, and a
# seed once left never comes back.
viol=$(for r in "$LOG"/snaps.r*; do
	awk '$1 == "SNAP" { next }
	{
		u = $1; seq = $3; seed = $4
		if (u in cur) {
			if (seed == cur[u] && seq > last[u])
				print "rose: " u " " seed " " last[u] " -> " seq
			if (seed != cur[u] && ((u " " seed) in left))
				print "went back: " u " to " seed
			if (seed != cur[u])
				left[u " " cur[u]] = 1
		}
		cur[u] = seed; last[u] = seq
	}' "$r"
done | head -n 5)
check "sequences only fall, except across re-keys to new seeds" [ -z "$viol" ]
[ -n "$viol" ] && diag "$viol"

# The final state is past every response accepted under its seed.
behind=$(awk 'NR == FNR { if ($1 != "SNAP") { seq[$1] = $3; seed[$1] = $4 }; next }
	$2 in seed && $5 == seed[$2] && $4 <= seq[$2] { print $2, $5, $4, "but next is", seq[$2] }' \
	"$T_TMP/final" "$T_TMP/accepted" | head -n 3)
check "no user's state is older than a response accepted on it" [ -z "$behind" ]
[ -n "$behind" ] && diag "$behind"

done_testing
