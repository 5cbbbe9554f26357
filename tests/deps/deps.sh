#!/bin/sh
# deps.sh - scripts/deps.sh against stubbed apt-get and dpkg-query, with its
# policy-rc.d under a throw-away root: packages present or missing, the
# machine's policy-rc.d present (allowing starts) or absent, apt failing,
# an interrupted run, packages to unpack.
. "$OTP_SRC/tests/lib.sh"

DEPS="$OTP_SRC/scripts/deps.sh"
ROOT="$T_TMP/root"
POLICY="$ROOT/usr/sbin/policy-rc.d"
STATE="$T_TMP/state"
STUBS="$T_TMP/stubs"
mkdir -p "$ROOT/usr/sbin" "$STATE" "$STUBS"
chmod 755 "$T_TMP" "$STATE" "$STUBS"

# dpkg-query -W -f=FORMAT PACKAGE: installed when listed in STATE/installed.
cat > "$STUBS/dpkg-query" <<'EOF'
#!/bin/sh
for last; do :; done
grep -qx "$last" "$STUB_STATE/installed" 2>/dev/null || exit 1
echo "install ok installed"
EOF
# apt-get: logs its command line and what policy-rc.d answers for a start
# while it runs; fails when STATE/fail-install or fail-update exists;
# "install" marks its packages installed, "download" builds a small .deb.
cat > "$STUBS/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >> "$STUB_STATE/log"
p="$OTP_DEPS_ROOT/usr/sbin/policy-rc.d"
if [ -x "$p" ]; then "$p" ssh start; echo "policy says $?" >> "$STUB_STATE/log"; fi
[ -f "$STUB_STATE/sleep" ] && sleep "$(cat "$STUB_STATE/sleep")"
for a; do
	case $a in
	update) [ -f "$STUB_STATE/fail-update" ] && { echo "E: stub update fails" >&2; exit 100; }; exit 0 ;;
	install) [ -f "$STUB_STATE/fail-install" ] && { echo "E: stub install fails" >&2; exit 100; } ;;
	download) shift $#; set -- download ;;
	esac
done
case " $* " in
*" install "*)
	for a; do case $a in -*|install|*=*) ;; *) echo "$a" >> "$STUB_STATE/installed" ;; esac; done ;;
*" download "*)
	pkg=$(tail -n 1 "$STUB_STATE/log" | sed 's/.* //')
	mkdir -p tree/DEBIAN tree/usr/sbin
	printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: stub\nDepends: libfoo1 (>= 1.2), libbar2 | libbaz3, debconf\n' "$pkg" > tree/DEBIAN/control
	echo "$pkg" > tree/usr/sbin/"$pkg"
	dpkg-deb -b tree "${pkg}_1.0_all.deb" >/dev/null && rm -rf tree ;;
esac
EOF
chmod 755 "$STUBS/dpkg-query" "$STUBS/apt-get"

# run [ARGS...]: deps.sh with the stubs first on PATH; output in T_TMP/out, err.
run() {
	OTP_DEPS_ROOT=$ROOT STUB_STATE=$STATE PATH="$STUBS:$PATH" \
		timeout 60 sh "$DEPS" "$@" > "$T_TMP/out" 2> "$T_TMP/err"
}
reset() {
	rm -rf "${STATE:?}"/* "$ROOT/usr/sbin"/* "$T_TMP/pkg"
	printf 'libc6\nsed\n' > "$STATE/installed"
}
# A machine's own policy that lets every service start.
allowing_policy() { printf '#!/bin/sh\n# site policy\nexit 0\n' > "$POLICY"; chmod 750 "$POLICY"; }
policy_sum() { { stat -c %a "$POLICY"; cat "$POLICY"; } | cksum; }
no_leftovers() { test -z "$(ls -A "$ROOT/usr/sbin" | grep -v '^policy-rc.d$')"; }
last_err_is() { test "$(grep -c '' "$T_TMP/err")" -ge 1 && tail -n 1 "$T_TMP/err" | grep -Eq "$1"; }

reset
run libc6 sed
check "all present: exits 0" test $? -eq 0
check "all present: apt-get never runs" test ! -e "$STATE/log"
check "all present: prints nothing" test ! -s "$T_TMP/out" -a ! -s "$T_TMP/err"
check "all present: no policy-rc.d is made" test ! -e "$POLICY"

reset
run libc6 libfoo1 sed libbar2
check "missing, no policy-rc.d: exits 0" test $? -eq 0
check "missing, no policy-rc.d: installs just the missing ones" \
	grep -qx 'apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends --no-remove libfoo1 libbar2' "$STATE/log"
check "missing, no policy-rc.d: starts are denied during the install" grep -qx 'policy says 101' "$STATE/log"
check "missing, no policy-rc.d: none is left behind" test ! -e "$POLICY"
check "missing, no policy-rc.d: says what it installs" grep -qx 'deps: installing libfoo1 libbar2' "$T_TMP/out"
check "missing, no policy-rc.d: nothing else in the directory" no_leftovers

reset
allowing_policy
before=$(policy_sum)
run libfoo1
check "missing, a policy-rc.d allowing starts: exits 0" test $? -eq 0
check "missing, a policy-rc.d allowing starts: starts are still denied during the install" \
	sh -c "grep -qx 'policy says 101' '$STATE/log' && ! grep -qx 'policy says 0' '$STATE/log'"
check "missing, a policy-rc.d allowing starts: it is put back as it was (content and mode)" \
	test "$(policy_sum)" = "$before"
check "missing, a policy-rc.d allowing starts: nothing else in the directory" no_leftovers

reset
allowing_policy
before=$(policy_sum)
run libfoo1 libc6
check "all present, a policy-rc.d: exits 0 and leaves it alone" test $? -eq 0 -a "$(policy_sum)" = "$before"

reset
touch "$STATE/fail-install"
run libfoo1
rc=$?
check "apt failing: exits non-zero" test "$rc" -ne 0 -a "$rc" -lt 124
check "apt failing: tries apt-get update and installs again" \
	test "$(grep -c ' install ' "$STATE/log")" -eq 2 -a "$(grep -c ' update' "$STATE/log")" -eq 1
check "apt failing: ends with one line saying what could not be installed" \
	last_err_is '^deps: apt-get could not install: libfoo1 \(see apt.s messages above\)$'
check "apt failing, no policy-rc.d: none is left behind" test ! -e "$POLICY"

reset
allowing_policy
before=$(policy_sum)
touch "$STATE/fail-install" "$STATE/fail-update"
run libfoo1
rc=$?
check "apt-get update failing: exits non-zero" test "$rc" -ne 0 -a "$rc" -lt 124
check "apt-get update failing: one line saying so" last_err_is '^deps: apt-get update failed'
check "apt failing, a policy-rc.d: it is put back as it was" test "$(policy_sum)" = "$before"
check "apt failing, a policy-rc.d: nothing else in the directory" no_leftovers

# A run stopped with SIGTERM in the middle of its install.
reset
allowing_policy
before=$(policy_sum)
echo 2 > "$STATE/sleep"
OTP_DEPS_ROOT=$ROOT STUB_STATE=$STATE PATH="$STUBS:$PATH" \
	timeout 60 sh "$DEPS" libfoo1 > "$T_TMP/out" 2> "$T_TMP/err" &
pid=$!
i=0
while ! grep -q 'policy says' "$STATE/log" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$pid"
wait "$pid"
rc=$?
check "stopped with SIGTERM mid-install: exits non-zero" test "$rc" -ne 0
check "stopped with SIGTERM mid-install: the machine's policy-rc.d is put back" test "$(policy_sum)" = "$before"

# What a run killed with SIGKILL would leave: the site's file aside, ours in place.
reset
allowing_policy
before=$(policy_sum)
mv "$POLICY" "$POLICY.otp-deps-saved"
printf '#!/bin/sh\nexit 101\n' > "$POLICY"
run libc6
check "after an interrupted run, with nothing to install: exits 0" test $? -eq 0
check "after an interrupted run: the machine's policy-rc.d is back" test "$(policy_sum)" = "$before"
check "after an interrupted run: nothing else in the directory" no_leftovers

# Conflicting packages are unpacked; what they depend on is installed.
reset
run sed --unpack "$T_TMP/pkg" ftpd-a ftpd-b
check "unpack: exits 0" test $? -eq 0
check "unpack: each is unpacked under DIR/PACKAGE" \
	test -f "$T_TMP/pkg/ftpd-a/usr/sbin/ftpd-a" -a -f "$T_TMP/pkg/ftpd-b/usr/sbin/ftpd-b"
check "unpack: neither is installed" sh -c "! grep -q ' install .*ftpd' '$STATE/log'"
check "unpack: their Depends are installed (first alternative, versions dropped), once each" \
	grep -qx 'apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends --no-remove libfoo1 libbar2 debconf' "$STATE/log"
check "unpack: no .deb or temporary tree left" test "$(ls -A "$T_TMP/pkg")" = "ftpd-a
ftpd-b"
: > "$STATE/log"
run sed --unpack "$T_TMP/pkg" ftpd-a ftpd-b
check "unpack, second run: exits 0 and asks apt for nothing" test $? -eq 0 -a ! -s "$STATE/log"
rm -rf "$T_TMP/pkg"
echo ftpd-a >> "$STATE/installed"
run --unpack "$T_TMP/pkg" ftpd-a
check "unpack of an installed package: nothing is fetched" test $? -eq 0 -a ! -e "$T_TMP/pkg/ftpd-a" -a ! -s "$STATE/log"

reset
OTP_DEPS_ROOT=$ROOT STUB_STATE=$STATE PATH="$STUBS:$PATH" \
	timeout 60 setpriv --reuid=nobody --regid=nogroup --clear-groups sh "$DEPS" libfoo1 \
	> "$T_TMP/out" 2> "$T_TMP/err"
rc=$?
check "missing, not root: exits 1 with one line naming the packages" \
	test "$rc" -eq 1 -a "$(grep -c '' "$T_TMP/err")" -eq 1 -a ! -s "$T_TMP/out"
check "missing, not root: the line says how to install them" last_err_is "^deps: missing Debian packages: libfoo1 \(run 'make deps' as root"
check "missing, not root: apt-get never runs" test ! -e "$STATE/log"

done_testing
