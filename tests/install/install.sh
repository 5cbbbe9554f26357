#!/bin/sh
# install.sh - make install honours PREFIX and DESTDIR, with the right modes,
# and make uninstall takes it all away again.
. "$OTP_SRC/tests/lib.sh"

ROOT="$T_TMP/root"
mk() { make -s -C "$OTP_SRC" SANITIZE="${OTP_SANITIZE:-0}" PREFIX=/opt/otp DESTDIR="$ROOT" "$@" >"$T_TMP/make.out" 2>&1; }

mk install
check "make install succeeds into DESTDIR" test $? -eq 0
for f in /opt/otp/bin/otpcalc /opt/otp/sbin/otpkey /opt/otp/sbin/apop-proxy; do
	check "$f installed, mode 755" test "$(stat -c %a "$ROOT$f" 2>/dev/null)" = 755
done
for f in man1/otpcalc.1 man8/otpkey.8 man8/pam_otp.8 man5/otpkeys.5 man8/apop-proxy.8 man5/apop-proxy.conf.5; do
	check "man page $f installed, mode 644" test "$(stat -c %a "$ROOT/opt/otp/share/man/$f" 2>/dev/null)" = 644
done
unit="$ROOT/opt/otp/lib/systemd/system/apop-proxy.service"
check "apop-proxy.service installed, mode 644" test "$(stat -c %a "$unit" 2>/dev/null)" = 644
check "apop-proxy.service runs the installed apop-proxy" \
	grep -q '^ExecStart=/opt/otp/sbin/apop-proxy ' "$unit"
mod=$(find "$ROOT" -name pam_otp.so | head -n 1)
check "pam_otp.so installed into the security directory (${mod#$ROOT})" \
	sh -c "case '${mod#$ROOT}' in /lib/*/security/pam_otp.so) exit 0;; *) exit 1;; esac"
check "pam_otp.so mode 644" test "$(stat -c %a "$mod" 2>/dev/null)" = 644
mo="$ROOT/opt/otp/share/locale/ja/LC_MESSAGES/otp.mo"
check "the Japanese catalogue installed under PREFIX/share/locale, mode 644" \
	test "$(stat -c %a "$mo" 2>/dev/null)" = 644
# The installed programs look for it there (LOCALEDIR follows PREFIX):
# /opt/otp in a mount namespace of its own is the staged tree.
if unshare -m true 2>/dev/null; then
	LANG=C.UTF-8 LANGUAGE=ja unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs tmpfs /opt &&
		mkdir /opt/otp && mount --bind "$1/opt/otp" /opt/otp && exec /opt/otp/sbin/otpkey --help' \
		sh "$ROOT" > "$T_TMP/help" 2>&1
	check "the installed otpkey finds it: --help in Japanese" grep -q '^使い方: otpkey' "$T_TMP/help"
else
	ok "# SKIP no mount namespaces: the installed catalogue is not tried"
fi
check "no setuid or setgid bit on anything installed" \
	sh -c "! find '$ROOT' -perm /6000 | grep -q ."
mk uninstall
check "make uninstall leaves no file behind" sh -c "! find '$ROOT' -type f | grep -q ."
# The build is left as the test run made it: its programs look in the default LOCALEDIR again.
make -s -C "$OTP_SRC" SANITIZE="${OTP_SANITIZE:-0}" all >"$T_TMP/make.out" 2>&1
check "the build is back to its own PREFIX" test $? -eq 0

done_testing
