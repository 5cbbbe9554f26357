#!/bin/sh
# hardening.sh - the module and the programs are built hardened: Debian's
# hardening-check (PIE, stack protector, fortify, RELRO, BIND_NOW, stack
# clash, control flow) on each, plus a non-executable stack.
. "$OTP_SRC/tests/lib.sh"

SAN=${OTP_SANITIZE:-0}
if ! command -v hardening-check > /dev/null 2>&1; then
	notok "hardening-check is installed (Debian package devscripts)"
	done_testing
	exit 1
fi

bins="pam_otp.so otpcalc otpkey"
[ -e "$OTP_BUILD/apop-proxy" ] && bins="$bins apop-proxy"

# prop BIN LINE: one TAP line for one "Property: verdict" line of hardening-check.
prop() {
	b=$1 name=${2%%:*} verdict=${2#*: }
	case "$name:$verdict" in
	*:yes*)
		ok "$b: $name" ;;
	"Position Independent Executable:no, regular shared library"*)
		ok "$b: $name # SKIP a shared library, position-independent by nature (-fPIC)" ;;
	"Stack clash protection:unknown"*)
		# Its probe looks for stack probes, which only functions with large
		# or variable frames get; -fstack-clash-protection is in HARDEN_C.
		ok "$b: $name # SKIP hardening-check cannot tell on x86-64 without large frames" ;;
	"Control flow integrity:no"*)
		# -fcf-protection marks our objects (checked below), but Debian 12's
		# crt1.o and crti.o carry no IBT/SHSTK property, so the linker must
		# drop the mark from every program built on it.
		ok "$b: $name # SKIP Debian 12's crt files lack the CET property the linker needs" ;;
	"Fortify Source functions:"*)
		if [ "$SAN" = 1 ]; then
			ok "$b: $name # SKIP ASan intercepts the string functions fortify would check"
		else
			notok "$b: $name ($verdict)"
		fi ;;
	*)
		notok "$b: $name ($verdict)" ;;
	esac
}

for b in $bins; do
	f="$OTP_BUILD/$b"
	if [ ! -e "$f" ]; then
		notok "$b is built"
		continue
	fi
	hardening-check "$f" > "$T_TMP/hc" 2>&1
	grep -c ': ' "$T_TMP/hc" > /dev/null || { notok "$b: hardening-check ran"; cat "$T_TMP/hc"; continue; }
	grep '^ ' "$T_TMP/hc" | sed 's/^ *//' > "$T_TMP/props"
	while IFS= read -r line; do prop "$b" "$line"; done < "$T_TMP/props"
	check "$b: stack not executable" sh -c "readelf -lW '$f' | grep -q 'GNU_STACK.* RW '"
	check "$b: no RPATH or RUNPATH" sh -c "! readelf -dW '$f' | grep -Eq 'RPATH|RUNPATH'"
done

# What -fcf-protection did: every object of ours carries IBT and SHSTK.
nobj=0 nmark=0
for o in $(find "$OTP_BUILD/obj" -name '*.o'); do
	nobj=$((nobj + 1))
	readelf -nW "$o" 2>/dev/null | grep -q 'x86 feature: IBT, SHSTK' && nmark=$((nmark + 1))
done
check "every object compiled with IBT and SHSTK marks ($nmark/$nobj)" [ "$nobj" -gt 0 -a "$nmark" -eq "$nobj" ]

done_testing
