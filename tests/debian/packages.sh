#!/bin/sh
# packages.sh - the Debian packages: built once from a copy of the tree,
# lintian-clean, with dpkg-buildflags on every compiler and linker line
# (blhc); then installed, enabled with pam-auth-update, removed and purged
# in a throw-away root (an overlay over / in a private mount namespace,
# entered with chroot), through the real dpkg, pam-auth-update and libpam.
# The host's /etc/pam.d, accounts and dpkg database are checked unchanged.
. "$OTP_SRC/tests/lib.sh"

PKGS="otp-tools libpam-otp apop-proxy"
PAM_AUTH_ERR=7

# checko DESC COND...: check, showing the last command's output on failure.
checko() {
	desc=$1; shift
	if "$@"; then ok "$desc"; else notok "$desc"; sed 's/^/#   /' "$T_TMP/out" | head -n 20; fi
}

skip_all() {
	ok "Debian packages # SKIP $1"
	done_testing
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (dpkg, mount namespaces)"
# The packages are built without sanitizers whatever SANITIZE says: the
# plain run covers them, and the sanitizer run need not build them twice.
[ "${OTP_SANITIZE:-0}" = 1 ] && skip_all "the packages do not depend on SANITIZE"
for t in dpkg-buildpackage lintian blhc unshare nsenter; do
	command -v "$t" > /dev/null 2>&1 || skip_all "$t is not installed"
done
grep -qw overlay /proc/filesystems || modprobe overlay 2> /dev/null ||
	skip_all "no overlayfs for the throw-away root"

# ---- the host, before -----------------------------------------------------
# What the test must not change.  dpkg's status is kept apart: another
# engineer's apt may change it meanwhile, but never with our packages.
host_state() {
	sha256sum /etc/pam.d/* /etc/passwd /etc/group /etc/shadow /etc/gshadow \
		/var/lib/pam/* 2>&1
	ls -la /usr/share/pam-configs /etc/systemd/system/multi-user.target.wants 2>&1
	ls -ld /var/lib/otp /etc/apop-proxy.conf /usr/sbin/otpkey /lib/*/security/pam_otp.so 2>&1
}
host_state > "$T_TMP/host.before"
cp /var/lib/dpkg/status "$T_TMP/status.before"
if git -C "$OTP_SRC" rev-parse --git-dir > /dev/null 2>&1; then
	git -C "$OTP_SRC" status --porcelain > "$T_TMP/git.before"
fi

# ---- build once, from a copy -------------------------------------------------
SRC="$T_TMP/pkg/otp"
mkdir -p "$SRC"
if [ -e "$T_TMP/git.before" ]; then
	# Tracked and new files, as they are in the work tree; build output and
	# whatever .gitignore names stay behind.
	(cd "$OTP_SRC" && git ls-files -z -co --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2> /dev/null) | tar -xf - -C "$SRC"
else
	(cd "$OTP_SRC" && tar --exclude='./build*' -cf - .) | tar -xf - -C "$SRC"
fi
check "the tree copied for the package build" test -x "$SRC/debian/rules"

# What the Makefile says the build needs must be in Build-Depends too.
want=$(make -s -C "$SRC" --no-print-directory --eval 'print-deps: ; @echo $(DEPS_BUILD)' print-deps)
have=$(sed -n '/^Build-Depends:/,/^[^ ]/p' "$SRC/debian/control" | sed 's/^Build-Depends://' |
	tr ',' '\n' | sed 's/[[:space:]]*(.*//; s/^[[:space:]]*//' | grep -v : | grep .)
missing=
for p in $want; do
	[ "$p" = build-essential ] && continue
	echo "$have" | grep -qx -- "$p" || missing="$missing $p"
done
check "every package of the Makefile's DEPS_BUILD is in Build-Depends${missing:+ (missing:$missing)}" \
	test -z "$missing"

start=$(date +%s)
# The outer make's MAKEFLAGS (SANITIZE=..., its jobserver) must not reach
# the package's own make.
(cd "$SRC" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	DEB_BUILD_OPTIONS=parallel=2 timeout 900 dpkg-buildpackage -us -uc -b) \
	> "$T_TMP/build.log" 2>&1
rc=$?
check "dpkg-buildpackage -us -uc -b succeeds ($(($(date +%s) - start)) s)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { tail -n 40 "$T_TMP/build.log" | sed 's/^/# /'; done_testing; exit 1; }
CHANGES=$(ls "$T_TMP"/pkg/otp_*.changes 2> /dev/null | head -n 1)
for p in $PKGS; do
	deb=$(ls "$T_TMP"/pkg/"${p}"_*.deb 2> /dev/null | head -n 1)
	check "package $p built" test -n "$deb"
done

if [ -e "$T_TMP/git.before" ]; then
	git -C "$OTP_SRC" status --porcelain > "$T_TMP/git.after"
	check "the work tree is left as it was" cmp -s "$T_TMP/git.before" "$T_TMP/git.after"
fi

# ---- flags and lintian ---------------------------------------------------------
blhc --bindnow "$T_TMP/build.log" > "$T_TMP/blhc.out" 2>&1
rc=$?
check "blhc: dpkg-buildflags (hardening=+all) on every compiler and linker line" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T_TMP/blhc.out" | head -n 20
# -Werror=format-security comes from dpkg-buildflags; a bare -Werror must not.
check "the package build does not use -Werror" \
	sh -c "! grep -E '^(cc|gcc) .* -Werror( |\$)' '$T_TMP/build.log' | grep -q ."
check "the package build compiles with dpkg-buildflags' CPPFLAGS" \
	grep -q -- '-Wdate-time' "$T_TMP/build.log"

lintian --fail-on error --display-info --pedantic "$CHANGES" > "$T_TMP/lintian.out" 2>&1
rc=$?
check "lintian: no errors" test "$rc" -eq 0 -a "$(grep -c '^E:' "$T_TMP/lintian.out")" -eq 0
grep -E '^(E|W):' "$T_TMP/lintian.out" | sed 's/^/# /'
# Each warning is explained in the README, under its tag name.
for tag in $(sed -n 's/^W: [^:]*: \([^ ]*\).*/\1/p' "$T_TMP/lintian.out" | sort -u); do
	check "lintian warning $tag is explained in the README" grep -q -- "$tag" "$OTP_SRC/README.md"
done

# ---- the throw-away root ---------------------------------------------------------
# A mount namespace kept alive by one sleep (stopped by its pid at the end);
# in it, a tmpfs holds the overlay's upper layer over the host's /.
NSPID=
M="$T_TMP/root"
LAYER="$T_TMP/layer"
mkdir -p "$M" "$LAYER"
stop_ns() {
	if [ -n "$NSPID" ]; then
		kill "$NSPID" 2> /dev/null
		wait "$NSPID" 2> /dev/null
		NSPID=
	fi
}
# --one-file-system: never into a mount, whatever happened to the namespace.
trap 'stop_ns; rm -rf --one-file-system "$T_TMP"' EXIT
unshare -m --propagation private sleep 900 &
NSPID=$!
ns() { nsenter -t "$NSPID" -m "$@"; }
# in_root CMD...: CMD in the throw-away root; its output in $T_TMP/out.
in_root() {
	timeout 300 nsenter -t "$NSPID" -m chroot "$M" env -i PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@" > "$T_TMP/out" 2>&1 < /dev/null
}
# root_sh SCRIPT: a shell script in the throw-away root.
root_sh() { in_root sh -c "$1"; }
out_has() { grep -q -- "$1" "$T_TMP/out"; }

own_ns() { [ "$(readlink "/proc/$NSPID/ns/mnt" 2> /dev/null)" != "$(readlink /proc/self/ns/mnt)" ]; }
i=0
until own_ns || [ "$i" -ge 50 ]; do
	i=$((i + 1))
	sleep 0.1
done
# Nothing is mounted unless the namespace is really another one.
own_ns && kill -0 "$NSPID" 2> /dev/null && ns mount -t tmpfs -o mode=700 otp-layer "$LAYER" &&
	ns mkdir -p "$LAYER/upper" "$LAYER/work" &&
	ns mount -t overlay otp-root -o "lowerdir=/,upperdir=$LAYER/upper,workdir=$LAYER/work" "$M" &&
	ns mount -t proc proc "$M/proc" &&
	ns mount --rbind /dev "$M/dev"
rc=$?
check "a throw-away root: overlay over / in a private mount namespace" test "$rc" -eq 0
if [ "$rc" -ne 0 ]; then
	done_testing
	exit 1
fi
check "the overlay is not visible outside its namespace" \
	sh -c "! grep -q ' $M ' /proc/self/mounts"

# No service may start in it (none can: no systemd runs there), and the
# man-db trigger would only cost time.
root_sh 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d &&
	rm -f /var/lib/man-db/auto-update && mkdir -p /root/debs'
for p in $PKGS; do
	ns cp "$T_TMP"/pkg/"${p}"_*.deb "$M/root/debs/$p.deb"
done
ns cp "$DRIVE" "$M/usr/local/sbin/pamdrive"

# ---- install ----------------------------------------------------------------------
in_root dpkg -i /root/debs/otp-tools.deb /root/debs/libpam-otp.deb /root/debs/apop-proxy.deb
rc=$?
checko "dpkg -i installs the three packages" test "$rc" -eq 0
for p in $PKGS; do
	check "$p is installed" in_root dpkg-query -W -f='${db:Status-Abbrev}' "$p"
	check "$p: status ii" out_has '^ii'
done

mode() { in_root stat -c '%a %U:%G' "$1"; cat "$T_TMP/out"; }
mod=$(in_root sh -c 'ls /lib/*/security/pam_otp.so'; cat "$T_TMP/out")
for f in "$mod 644" "/usr/sbin/otpkey 755" "/usr/bin/otpcalc 755" "/usr/sbin/apop-proxy 755" \
	"/usr/share/pam-configs/otp 644" "/lib/systemd/system/apop-proxy.service 644" \
	"/var/lib/otp 700" "/var/lib/otp/otpkeys.db 600"; do
	path=${f% *} want=${f##* }
	check "$path: mode $want, root:root" test "$(mode "$path")" = "$want root:root"
done
root_sh 'dpkg -L otp-tools libpam-otp apop-proxy | while read -r f; do [ -e "$f" ] && find "$f" -maxdepth 0 -perm /6000; done'
check "no setuid or setgid file in the packages" test ! -s "$T_TMP/out"
check "the key database is created empty" root_sh 'otpkey list | grep -q . && exit 1; exit 0'

check "the profile is off after install (Default: no)" \
	root_sh '! grep -q pam_otp /etc/pam.d/common-auth'

root_sh 'getent passwd apop-proxy'
IFS=: read -r _ _ uid _ _ home shell < "$T_TMP/out"
check "apop-proxy: a system user ($uid, $home, $shell)" \
	test "${uid:-1000}" -lt 1000 -a "$home" = /nonexistent -a "$shell" = /usr/sbin/nologin
check "apop-proxy.service runs /usr/sbin/apop-proxy" \
	root_sh 'grep -q "^ExecStart=/usr/sbin/apop-proxy " /lib/systemd/system/apop-proxy.service'
if in_root sh -c 'command -v systemd-analyze'; then
	in_root systemd-analyze verify /lib/systemd/system/apop-proxy.service
	checko "systemd-analyze verify accepts apop-proxy.service" test $? -eq 0 -a ! -s "$T_TMP/out"
fi
check "apop-proxy.service is enabled" \
	root_sh 'test -L /etc/systemd/system/multi-user.target.wants/apop-proxy.service'
root_sh 'mkdir -p -m 755 /run/apop-proxy/empty && umask 077 && echo secret > /etc/apop-proxy.master &&
	sed "s/^listen .*/listen 127.0.0.1 11110/; /^listen ::/d" \
		/usr/share/doc/apop-proxy/examples/apop-proxy.conf > /etc/apop-proxy.conf &&
	apop-proxy -t -f /etc/apop-proxy.conf'
checko "apop-proxy -t accepts the example configuration with the package's user" test $? -eq 0

# ---- pam-auth-update and logins -----------------------------------------------------
in_root pam-auth-update --enable otp
checko "pam-auth-update --enable otp" test $? -eq 0
root_sh 'sed -n "/^# and here are more per-package modules/,/^# end of pam-auth-update config/p" /etc/pam.d/common-auth'
check "common-auth: pam_otp.so nullok in the Additional block, after the password" \
	out_has '^auth[[:space:]]*required[[:space:]]*pam_otp.so nullok'
root_sh 'grep -c pam_otp /etc/pam.d/common-auth'
check "common-auth: pam_otp.so only once" test "$(cat "$T_TMP/out")" = 1

root_sh 'printf "@include common-auth\n" > /etc/pam.d/otp-check &&
	useradd -M -s /bin/sh nokey && useradd -M -s /bin/sh alice &&
	printf "nokey:nokey-pw-1\nalice:alice-pw-1\n" | chpasswd'
checko "throw-away users with passwords in the throw-away shadow" test $? -eq 0

# login USER ANSWER...: one authentication through the root's PAM stack.
login() { in_root pamdrive /etc/pam.d otp-check "$@"; }
prompts() { grep -c '^PROMPT' "$T_TMP/out"; }

# Nobody is enrolled yet: the database exists, so nullok applies to all.
login nokey nokey-pw-1
checko "a user without a key logs in with the password alone" test $? -eq 0
check "... and is not asked for a one-time password" test "$(prompts)" -eq 1
login nokey wrong-pw
checko "a user without a key and a wrong password is refused" test $? -eq "$PAM_AUTH_ERR"

printf '%s\n%s\n' "$PASS" "$PASS" > "$T_TMP/pass"
ns cp "$T_TMP/pass" "$M/root/pass"
root_sh 'otpkey init alice < /root/pass && rm /root/pass'
checko "otpkey init in the throw-away root" test $? -eq 0
login alice alice-pw-1 "@$PASS"
rc=$?
# The prompts, in order, on one line: the password first, then the challenge.
grep '^PROMPT' "$T_TMP/out" | tr '\n' '|' > "$T_TMP/prompts"
checko "an enrolled user is asked for the challenge after the password" \
	grep -Eq '^PROMPT: Password: \|PROMPT: otp-md5 [0-9]+ [a-z0-9]+ ext, Response: \|$' "$T_TMP/prompts"
checko "... and logs in with password and response" test "$rc" -eq 0
login alice alice-pw-1 "BOND FOGY DRAB NE RISE MART"
checko "an enrolled user with a wrong response is refused" test $? -eq "$PAM_AUTH_ERR"
login alice wrong-pw
check "an enrolled user with a wrong password is refused before the challenge" \
	test $? -eq "$PAM_AUTH_ERR" -a "$(prompts)" -eq 1
login nokey nokey-pw-1
checko "a user without a key still logs in once others are enrolled" test $? -eq 0

# pam_otp_lines: the non-comment lines of common-* naming the module, in $T_TMP/out.
pam_otp_lines() { root_sh 'grep -H "^[^#]*pam_otp" /etc/pam.d/common-*'; }

# ---- remove -----------------------------------------------------------------------
root_sh 'echo "auth required pam_otp.so" > /etc/pam.d/otp-hand'
in_root dpkg -r libpam-otp
checko "removal is refused while a hand-written stanza names pam_otp.so" test $? -ne 0
checko "... and says which" out_has '/etc/pam.d/otp-hand:1'
in_root dpkg-query -W -f='${db:Status-Status}' libpam-otp
checko "... leaving libpam-otp installed" out_has '^installed$'
pam_otp_lines
checko "... and common-auth as it was" out_has 'common-auth:auth[[:space:]]*required[[:space:]]*pam_otp.so nullok'
root_sh 'rm /etc/pam.d/otp-hand'

in_root dpkg -r libpam-otp
checko "dpkg -r libpam-otp" test $? -eq 0
pam_otp_lines
check "remove leaves no pam_otp line in common-*" test ! -s "$T_TMP/out"
check "remove takes the profile away" root_sh '! test -e /usr/share/pam-configs/otp'
check "remove keeps the key store" root_sh 'test -s /var/lib/otp/otpkeys.db'
login nokey nokey-pw-1
checko "after remove, logins work with the password" test $? -eq 0 -a "$(prompts)" -eq 1

in_root dpkg -i /root/debs/libpam-otp.deb
checko "reinstall" test $? -eq 0
pam_otp_lines
check "reinstall does not enable the profile by itself" test ! -s "$T_TMP/out"
in_root pam-auth-update --enable otp
login alice alice-pw-1 "@$PASS"
checko "enabled again, the enrolled user logs in with the next response" test $? -eq 0

# ---- purge ---------------------------------------------------------------------------
in_root dpkg -P libpam-otp
checko "dpkg -P libpam-otp" test $? -eq 0
checko "purge says where the key database was kept" out_has 'kept the key database /var/lib/otp/otpkeys.db'
pam_otp_lines
check "purge leaves no pam_otp line in common-*" test ! -s "$T_TMP/out"
in_root otpkey list
checko "purge keeps the key database and its users" out_has '^alice '
login nokey nokey-pw-1
checko "after purge, logins work with the password" test $? -eq 0

in_root dpkg -P apop-proxy
checko "dpkg -P apop-proxy" test $? -eq 0
check "purge says the master password file is kept" \
	out_has 'kept the backend master password file /etc/apop-proxy.master'
check "purge removes /etc/apop-proxy.conf" root_sh '! test -e /etc/apop-proxy.conf'
check "purge removes the unit's enablement" \
	root_sh '! test -e /etc/systemd/system/multi-user.target.wants/apop-proxy.service'
in_root dpkg -P otp-tools
checko "dpkg -P otp-tools" test $? -eq 0
check "the key store outlives every package" root_sh 'test -s /var/lib/otp/otpkeys.db'
root_sh 'grep -l "^[^#]*pam_otp" /etc/pam.d/*'
check "no PAM file names pam_otp at the end" test ! -s "$T_TMP/out"

# ---- the host, after -------------------------------------------------------------------
stop_ns
host_state > "$T_TMP/host.after"
check "the host's /etc/pam.d, accounts, pam-auth-update state and files are unchanged" \
	cmp -s "$T_TMP/host.before" "$T_TMP/host.after"
diff "$T_TMP/host.before" "$T_TMP/host.after" | head -n 10 | sed 's/^/# /'
if cmp -s "$T_TMP/status.before" /var/lib/dpkg/status; then
	ok "the host's dpkg status is unchanged"
else
	diff "$T_TMP/status.before" /var/lib/dpkg/status > "$T_TMP/status.diff"
	check "the host's dpkg status (changed meanwhile by apt) names none of our packages" \
		sh -c "! grep -Eq '^[<>] Package: (otp-tools|libpam-otp|apop-proxy)\$' '$T_TMP/status.diff'"
fi

done_testing
