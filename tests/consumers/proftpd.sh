#!/bin/sh
# proftpd.sh - the real proftpd (mod_auth_pam) with contrib/pam.d/proftpd,
# logged in to with Python's ftplib and lftp by a paper-sheet user
# (window=5), in a private mount namespace on a 127.0.0.1 high port.
. "$OTP_SRC/tests/lib.sh"
NS=$T_TMP
. "$OTP_SRC/tests/consumers/ns.sh.inc"
. "$OTP_SRC/tests/consumers/ftp.sh.inc"
ns_test_init
ftp_setup
stanza proftpd 1
PORT=$(free_port)
# The two settings the stanza's comment names, as it gives them.
auth=$(sed -n 's/^# proftpd.conf: *//p' "$OTP_SRC/contrib/pam.d/proftpd" | sed 's/, /\n/')
cat > "$NS/proftpd.conf" <<EOC
ServerType standalone
DefaultServer on
DefaultAddress 127.0.0.1
SocketBindTight on
Port $PORT
UseIPv6 off
User nobody
Group nogroup
PassivePorts $((PORT + 1)) $((PORT + 20))
PidFile $NS/proftpd.pid
ScoreboardFile $NS/proftpd.scoreboard
DelayTable none
WtmpLog off
UseReverseDNS off
RequireValidShell off
TransferLog none
$auth
EOC
ns_start proftpd "$(ns_pkg proftpd-core usr/sbin/proftpd)" -n -q -c "$NS/proftpd.conf"
ftp_run proftpd "$PORT"
