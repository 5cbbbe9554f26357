#!/bin/sh
# enumerate.sh - can an observer tell enrolled users from unknown names?  A
# mixed population (md5, sha1 and md4 keys at many sequence numbers and seed
# forms; TOTP-only, HOTP-only and key-plus-token users; disabled, locked-out
# and exhausted ones) and as many unknown names log in through the real
# libpam with a wrong answer.  From the prompts alone, simple classifiers
# (the prompt's form, algorithm, sequence range, seed form, all of them
# together, and whether a sequence number repeats), trained on one half of
# the names and tried on the other, must do no better than 60 %; and the
# median times to the prompt and to the verdict of unknown names must be
# within 0.9-1.1 of the enrolled users', measured in the same run (five
# interleaved passes; the median of their ratios).
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/pam/pam.sh.inc"

service otp max_failures=3
service lock1 max_failures=1 lockout=3600
: > "$T_TMP/enrolled"
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
sheet() { # USER ALG SEQ [SEED]: a random key nobody knows (the sheet is thrown away)
	"$OTPKEY" --db "$DB" init --sheet -c 1 -a "$2" -n "$3" ${4:+-s "$4"} "$1" > /dev/null 2>&1 &&
		echo "$1" >> "$T_TMP/enrolled"
}
md4=md4
printf 'x\n' | "$OTPCALC" -a md4 5 x > /dev/null 2>&1 || md4=md5   # no MD4 provider: md5 instead

i=0
while [ $i -lt 40 ]; do sheet "m$i" md5 $((20 + $(rnd) % 480)); i=$((i + 1)); done
i=0
while [ $i -lt 15 ]; do sheet "s$i" sha1 $((20 + $(rnd) % 480)); i=$((i + 1)); done
i=0
while [ $i -lt 10 ]; do sheet "f$i" "$md4" $((20 + $(rnd) % 480)); i=$((i + 1)); done
i=0
while [ $i -lt 10 ]; do sheet "c$i" md5 $((20 + $(rnd) % 480)) "host$(( $(rnd) % 90 + 10 ))"; i=$((i + 1)); done
# Tokens: TOTP-only, HOTP-only, and TOTP beside a key, through pam_oath's users file.
i=0
while [ $i -lt 10 ]; do sheet "b$i" md5 $((20 + $(rnd) % 480)); i=$((i + 1)); done
: > "$T_TMP/oath"
i=0
while [ $i -lt 10 ]; do
	echo "HOTP/T30 t$i - 3132333435363738393031323334353637383930" >> "$T_TMP/oath"
	echo "HOTP/T30 b$i - 3132333435363738393031323334353637383930" >> "$T_TMP/oath"
	echo "t$i" >> "$T_TMP/enrolled"
	i=$((i + 1))
done
i=0
while [ $i -lt 5 ]; do
	echo "HOTP h$i - 3132333435363738393031323334353637383930" >> "$T_TMP/oath"
	echo "h$i" >> "$T_TMP/enrolled"
	i=$((i + 1))
done
"$OTPKEY" --db "$DB" import --pam-oath "$T_TMP/oath" > /dev/null 2>&1
# Refused users: disabled, locked out, used up (an OPIE key at its last count).
i=0
while [ $i -lt 5 ]; do
	sheet "d$i" md5 $((20 + $(rnd) % 480)) && "$OTPKEY" --db "$DB" disable "d$i" > /dev/null
	sheet "l$i" md5 $((20 + $(rnd) % 480)) && drive lock1 "l$i" "WRONG WORD"
	printf 'x%d 0001 %-16s 0123456789abcdef  Nov 26,2026 10:00:00\n' $i "ex$i" >> "$T_TMP/opiekeys"
	echo "x$i" >> "$T_TMP/enrolled"
	i=$((i + 1))
done
"$OTPKEY" --db "$DB" import --opie "$T_TMP/opiekeys" > /dev/null 2>&1
n_enrolled=$(wc -l < "$T_TMP/enrolled")
check "a mixed population of at least 100 enrolled users ($n_enrolled)" [ "$n_enrolled" -ge 100 ]
check "the locked-out users are locked" sh -c '"$1" --db "$2" info l0 | grep -q "^locked until: [0-9]"' \
	sh "$OTPKEY" "$DB"

: > "$T_TMP/unknown"
i=0
while [ $i -lt 120 ]; do echo "n$(rnd)x$i" >> "$T_TMP/unknown"; i=$((i + 1)); done

# Every name five times, interleaved at random, each with a well-formed wrong answer.
wrong=$(printf 'not the pass phrase\n' | "$OTPCALC" 77 wrong)
for pass in 1 2 3 4 5; do
	{ sed 's/$/ 1/' "$T_TMP/enrolled"; sed 's/$/ 0/' "$T_TMP/unknown"; } |
		while read -r name real; do echo "$(rnd) $name $real"; done | sort -n > "$T_TMP/order"
	awk '{ print $2 }' "$T_TMP/order" | xargs timeout 600 "$DRIVE" -t "$CONF" otp "$wrong" \
		>> "$T_TMP/times.$pass"
done
cat "$T_TMP"/times.? > "$T_TMP/times"
check "every login was refused" sh -c '! awk "\$4 != 7" "$1" | grep -q .' sh "$T_TMP/times"

timeout 120 python3 - "$T_TMP/enrolled" "$T_TMP"/times.? > "$T_TMP/verdict" <<'PY'
import random, re, statistics, sys
enrolled = set(open(sys.argv[1]).read().split())
prompts = {}
for line in open(sys.argv[2]):
    name, _, _, _, prompt = line.rstrip("\n").split(" ", 4)
    prompts[name] = prompt

def features(p):
    m = re.match(r"otp-(\w+) (\d+) (\S+) ext, Response(?: or (\w+) code)?: $", p)
    if m:
        alg, seq, seed, tok = m.group(1), int(m.group(2)), m.group(3), m.group(4) or "-"
        shape = "".join("D" if c.isdigit() else "L" for c in seed)
        return {"form": "key+" + tok, "alg": alg, "seq": seq // 50, "seed": shape, "exact": (alg, seq)}
    m = re.match(r"(\w+) code: $", p)
    return {"form": m.group(1) if m else "?", "alg": "-", "seq": -1, "seed": "-", "exact": None}

names = sorted(prompts)
feat = {n: features(prompts[n]) for n in names}
exact = {}
for n in names:
    exact[feat[n]["exact"]] = exact.get(feat[n]["exact"], 0) + 1
for n in names:
    f = feat[n]
    f["repeats"] = f["exact"] is not None and exact[f["exact"]] > 1
    f["all"] = (f["form"], f["alg"], f["seq"], f["seed"])
truth = {n: n in enrolled for n in names}
rng = random.Random(2289)
worst = 0.0
for key in ("form", "alg", "seq", "seed", "repeats", "all"):
    accs = []
    for _ in range(200):
        rng.shuffle(names)
        train, test = names[: len(names) // 2], names[len(names) // 2 :]
        votes = {}
        for n in train:
            v = votes.setdefault(feat[n][key], [0, 0])
            v[truth[n]] += 1
        prior = sum(truth[n] for n in train) * 2 >= len(train)
        right = 0
        for n in test:
            v = votes.get(feat[n][key])
            guess = prior if v is None or v[0] == v[1] else v[1] > v[0]
            right += guess == truth[n]
        accs.append(right / len(test))
    acc = statistics.mean(accs)
    worst = max(worst, acc)
    print("classifier %-8s %.3f" % (key, acc))
print("classify %.3f" % worst)
# Each pass's medians, unknown against enrolled; then the median of the
# passes' ratios, so that a burst of load on the machine during one pass
# (it is shared) does not decide the outcome.
ratios = ([], [])
for path in sys.argv[2:]:
    t = {True: ([], []), False: ([], [])}
    for line in open(path):
        name, prompt_us, verdict_us = line.split()[:3]
        t[name in enrolled][0].append(float(prompt_us))
        t[name in enrolled][1].append(float(verdict_us))
    for i in (0, 1):
        ratios[i].append(statistics.median(t[False][i]) / statistics.median(t[True][i]))
for i, what in ((0, "prompt"), (1, "verdict")):
    print("%s %.3f (per pass: %s)" % (what, statistics.median(ratios[i]),
          " ".join("%.2f" % r for r in ratios[i])))
PY
diag "$(cat "$T_TMP/verdict")"
classify=$(sed -n 's/^classify //p' "$T_TMP/verdict")
prompt=$(sed -n 's/^prompt \([0-9.]*\).*/\1/p' "$T_TMP/verdict")
verdict=$(sed -n 's/^verdict \([0-9.]*\).*/\1/p' "$T_TMP/verdict")
check "no simple classifier tells them apart from the prompts better than 60 % ($classify)" \
	awk -v a="$classify" 'BEGIN { exit !(a != "" && a <= 0.60) }'
check "time to the prompt, unknown / enrolled, within 0.9-1.1 ($prompt)" \
	awk -v r="$prompt" 'BEGIN { exit !(r != "" && r >= 0.9 && r <= 1.1) }'
check "time to the verdict, unknown / enrolled, within 0.9-1.1 ($verdict)" \
	awk -v r="$verdict" 'BEGIN { exit !(r != "" && r >= 0.9 && r <= 1.1) }'

# The log (otpkeys(5)): a failed login writes about as much for an unknown
# name as for a user, so the log fills, and checkpoints come, as often.
"$OTPKEY" --db "$DB" init --sheet -c 1 -n 99 ls > /dev/null 2>&1
"$OTPKEY" --db "$DB" checkpoint
drive otp ls "WRONG WORD WRONG WORD WRONG WORD"
drive otp nosuchname "WRONG WORD WRONG WORD WRONG WORD"
python3 - "$DB.wal" > "$T_TMP/logsizes" <<'PY'
import struct, sys
log = open(sys.argv[1], "rb").read()
off, gen = 0, None
while off + 24 <= len(log) and log[off:off + 4] == b"OTPW":
    g, typ, _, kl, vl = struct.unpack_from("<IBBHI", log, off + 4)
    if gen is None:
        gen = g
    if g != gen:
        break
    n = (16 + kl + vl + 7) // 8 * 8 + 8
    print(typ, n)
    off += n
PY
diag "log entries (type bytes): $(tr '\n' ' ' < "$T_TMP/logsizes")"
user_n=$(awk '$1 == 1 { n = $2 } END { print n }' "$T_TMP/logsizes")
none_n=$(awk '$1 == 3 { n = $2 } END { print n }' "$T_TMP/logsizes")
check "an unknown name's login logs within 0.8-1.25 of a user's bytes ($none_n against $user_n)" \
	awk -v a="$none_n" -v b="$user_n" 'BEGIN { exit !(a > 0 && b > 0 && a >= 0.8 * b && a <= 1.25 * b) }'

done_testing
