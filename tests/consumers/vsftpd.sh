#!/bin/sh
# vsftpd.sh - the real vsftpd with contrib/pam.d/vsftpd, logged in to with
# Python's ftplib and lftp by a paper-sheet user (window=5), in a private
# mount namespace on a 127.0.0.1 high port; and a user listed in ftpusers.
. "$OTP_SRC/tests/lib.sh"
NS=$T_TMP
. "$OTP_SRC/tests/consumers/ns.sh.inc"
. "$OTP_SRC/tests/consumers/ftp.sh.inc"
ns_test_init
ftp_setup
stanza vsftpd 1
PORT=$(free_port)
cat > "$NS/vsftpd.conf" <<EOC
listen=YES
listen_address=127.0.0.1
listen_port=$PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
pam_service_name=vsftpd
secure_chroot_dir=/run/vsftpd/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=$((PORT + 1))
pasv_max_port=$((PORT + 20))
syslog_enable=YES
xferlog_enable=NO
EOC
ns_start vsftpd "$(ns_pkg vsftpd usr/sbin/vsftpd)" "$NS/vsftpd.conf"
ftp_run vsftpd "$PORT"
