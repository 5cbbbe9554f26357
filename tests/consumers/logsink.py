# logsink.py - a syslog socket for the namespaces' /dev/log: each datagram is
# appended to a file as rsyslog writes /var/log/auth.log ("Mmm dd hh:mm:ss
# localhost TAG[PID]: MESSAGE"), with its facility.priority in front of the
# host name: "Dec  1 21:00:00 <authpriv.notice> localhost sshd[42]: ...".
# Usage: logsink.py SOCKET FILE SECONDS (it stops by itself after SECONDS).
import re, socket, sys, time

FAC = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
       "cron", "authpriv", "ftp"] + ["local%d" % i for i in range(8)]
PRI = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
path, out, limit = sys.argv[1], open(sys.argv[2], "ab", 0), time.time() + float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
while time.time() < limit:
    try:
        d = s.recv(65536).rstrip(b"\0\n").decode("utf-8", "replace")
    except socket.timeout:
        continue
    m = re.match(r"<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) ?(.*)", d, re.S)
    if m:
        p = int(m.group(1))
        fac = FAC[p >> 3] if (p >> 3) < len(FAC) else str(p >> 3)
        d = "%s <%s.%s> localhost %s" % (m.group(2), fac, PRI[p & 7], m.group(3))
    out.write((d.replace("\n", " ") + "\n").encode())
