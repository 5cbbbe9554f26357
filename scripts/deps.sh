#!/bin/sh
# deps.sh - install the Debian 12 packages the build, tests and demo need, when missing.
# Usage: scripts/deps.sh PACKAGE... [--unpack DIR PACKAGE...]
#   Packages before --unpack are installed.  Those after it are for packages
#   that conflict with each other (vsftpd and proftpd-core both provide
#   ftp-server): when not installed, each is fetched with apt-get download and
#   unpacked into DIR/PACKAGE, and what it depends on is installed instead.
# Does nothing when everything is there; exits non-zero with one line saying
# why when it cannot install.
set -eu

die() { echo "deps: $*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

want=""
unpack_dir=""
unpack=""
while [ $# -gt 0 ]; do
	case $1 in
	--unpack) [ $# -ge 2 ] || die "--unpack needs a directory"; unpack_dir=$2; shift 2 ;;
	*) if [ -n "$unpack_dir" ]; then unpack="$unpack $1"; else want="$want $1"; fi; shift ;;
	esac
done

# Every apt-get waits for the dpkg lock another install holds rather than failing.
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# A package to unpack: its files go to DIR/PACKAGE, its Depends (the first
# of each set of alternatives, versions dropped) to DIR/PACKAGE/.depends.
for p in $unpack; do
	installed "$p" && continue
	d=$unpack_dir/$p
	if [ ! -f "$d/.depends" ]; then
		echo "deps: unpacking $p into $d (not installed: it conflicts with another package the tests run)"
		rm -rf "$d" "$d.deb" "$d.tmp"
		mkdir -p "$d.deb"
		(cd "$d.deb" && apt_get download -q "$p" >/dev/null) ||
			die "apt-get download $p failed (see apt's messages above)"
		deb=$(ls "$d.deb"/*.deb)
		dpkg-deb -x "$deb" "$d.tmp" || die "could not unpack $deb"
		dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' |
			grep . > "$d.tmp/.depends" || true
		mv "$d.tmp" "$d"
		rm -rf "$d.deb"
	fi
	want="$want $(tr '\n' ' ' < "$d/.depends")"
done

missing=""
for p in $want; do
	case "$missing " in *" $p "*) continue ;; esac
	installed "$p" || missing="$missing $p"
done

# Packages such as dovecot and sshd start their system service when
# installed; the tests run their own instances, so no service may start
# while we install.  invoke-rc.d and deb-systemd-invoke ask only the fixed
# path below, and a machine's own policy there may allow starts, so ours
# (deny everything) takes its place for the install: the machine's file is
# moved aside and moved back on every exit, and a run killed before it could
# move it back is repaired by the next one.  Runs hold a lock on the
# directory, so two of them never swap the files under each other.
# OTP_DEPS_ROOT prefixes that path for tests/deps/deps.sh only.
sbin=${OTP_DEPS_ROOT:-}/usr/sbin
policy=$sbin/policy-rc.d
saved=$policy.otp-deps-saved
aside() { [ -e "$1" ] || [ -L "$1" ]; }
restore() {
	if aside "$saved"; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
if [ -z "$missing" ] && ! aside "$saved"; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	die "missing Debian packages:$missing (run 'make deps' as root, or apt-get install them)"
fi
exec 9< "$sbin"
flock -w 600 9 || die "another deps.sh held $sbin for 600 s"
if aside "$saved"; then
	echo "deps: putting back $policy, left aside by an interrupted run"
	restore
fi
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if aside "$policy"; then
	mv "$policy" "$saved"
fi
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
printf '#!/bin/sh\n# deps.sh: no service starts during its install\nexit 101\n' > "$policy.tmp"
chmod 755 "$policy.tmp"
mv -f "$policy.tmp" "$policy"

export DEBIAN_FRONTEND=noninteractive
# --no-remove: never take away a package the machine has to make room.
# shellcheck disable=SC2086
if ! apt_get install -y -q --no-install-recommends --no-remove $missing; then
	apt_get update -q || die "apt-get update failed (see apt's messages above)"
	# shellcheck disable=SC2086
	apt_get install -y -q --no-install-recommends --no-remove $missing ||
		die "apt-get could not install:$missing (see apt's messages above)"
fi
