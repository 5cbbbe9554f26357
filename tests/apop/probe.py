#!/usr/bin/env python3
"""probe.py - a scriptable POP3 client for the apop-proxy tests and benchmark.

  probe.py talk PORT STEP...      one connection; prints the banner and every reply line
      STEP: text to send (Python escapes: \\r \\n \\x00; a CRLF is added unless it ends in \\n),
            apop:USER:SECRET  APOP with the digest of the banner's timestamp,
            otp:USER          USER, then PASS with otpcalc's response (pass phrase: $OTP_PASS),
            multi:TEXT        send TEXT and read a multi-line reply,
            b64:TEXT          send base64 of TEXT (Python escapes: \\0 for NUL), a SASL client message,
            dec               print the base64 after "+ " in the last reply, decoded, as "= TEXT",
            stls              STLS, then TLS with the certificate in $POP_CA (name not checked),
            sleep:SECONDS, eof (read until the server closes; prints the lines and "EOF")
  probe.py fetch PORT MODE USER SECRET OUT [CAFILE]
      MODE apop | pass | otp (SECRET unused) | stls-apop | stls-pass: log in, RETR every
      message into OUT (raw, dot-unstuffed, one after the other), QUIT
  probe.py many PORT N USER SECRET      N concurrent APOP sessions (STAT, QUIT); prints "N ok"
  probe.py slowloris PORT INTERVAL     one byte every INTERVAL seconds; prints how long it lasted
  probe.py bench PORT MODE USER SECRET SECONDS CONC MSG
      sessions (banner, login, STAT, RETR MSG, QUIT) for SECONDS with CONC workers; prints
      "sessions N seconds S"
  probe.py bigretr PORT MODE USER SECRET MSG TIMES   prints "bytes N seconds S"
"""
import base64
import hashlib
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

HOST = os.environ.get("POP_HOST", "127.0.0.1")
TIMEOUT = float(os.environ.get("POP_TIMEOUT", "30"))


class Conn:
    def __init__(self, port, host=HOST, timeout=TIMEOUT):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(timeout)
        self.s.connect((host, port))
        self.buf = b""
        self.banner = self.line()

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r")

    def send(self, data):
        self.s.sendall(data)

    def cmd(self, text):
        self.send(text.encode("latin-1") + b"\r\n")
        return self.line()

    def multi(self):
        out = []
        while True:
            l = self.line()
            if l == b".":
                return out
            out.append(l[1:] if l.startswith(b"..") else l)

    def retr_raw(self, n):
        r = self.cmd("RETR %d" % n)
        if not r.startswith(b"+OK"):
            raise RuntimeError("RETR: %r" % r)
        # Fast path for big messages: read to the terminating CRLF.CRLF.
        while not (self.buf.endswith(b"\r\n.\r\n") or self.buf == b".\r\n"):
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError
            self.buf += d
        body, self.buf = self.buf[:-3], b""
        if body.startswith(b".."):
            body = body[1:]
        return body.replace(b"\r\n..", b"\r\n.")

    def close(self):
        self.s.close()


def stamp(banner):
    m = re.search(rb"<[^>]*>", banner)
    if not m:
        raise RuntimeError("no timestamp in %r" % banner)
    return m.group(0)


def apop(c, user, secret):
    d = hashlib.md5(stamp(c.banner) + secret.encode()).hexdigest()
    return c.cmd("APOP %s %s" % (user, d))


def otp_response(challenge):
    calc = os.path.join(os.environ["OTP_BUILD"], "otpcalc")
    p = subprocess.run([calc, challenge], input=os.environ["OTP_PASS"] + "\n",
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("otpcalc: " + p.stderr)
    return p.stdout.strip()


def otp(c, user):
    r = c.cmd("USER " + user)
    if not r.startswith(b"+OK otp-"):
        return r
    return c.cmd("PASS " + otp_response(r[4:].decode()))


def show(b):
    print(b.decode("latin-1"), flush=True)


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def talk(port, steps):
    c = Conn(port)
    show(c.banner)
    last = b""
    try:
        for st in steps:
            if st == "dec":
                print("= " + base64.b64decode(last[2:]).decode("latin-1"), flush=True)
            elif st == "stls":
                last = c.cmd("STLS")
                show(last)
                ctx = ssl.create_default_context(cafile=os.environ["POP_CA"])
                ctx.check_hostname = False
                c.s = ctx.wrap_socket(c.s, server_hostname="proxy.test")
            elif st.startswith("b64:"):
                c.send(base64.b64encode(unescape(st[4:])) + b"\r\n")
                last = c.line()
                show(last)
            elif st.startswith("apop:"):
                _, user, secret = st.split(":", 2)
                show(apop(c, user, secret))
            elif st.startswith("otp:"):
                show(otp(c, st[4:]))
            elif st.startswith("sleep:"):
                time.sleep(float(st[6:]))
            elif st == "eof":
                try:
                    while True:
                        show(c.line())
                except (EOFError, ConnectionError):
                    print("EOF", flush=True)
                except socket.timeout:
                    print("TIMEOUT", flush=True)
            else:
                multi = st.startswith("multi:")
                text = st[6:] if multi else st
                data = unescape(text)
                if not data.endswith(b"\n"):
                    data += b"\r\n"
                c.send(data)
                r = last = c.line()
                show(r)
                if multi and r.startswith(b"+OK"):
                    for l in c.multi():
                        show(l)
                    print(".", flush=True)
    except (EOFError, ConnectionError):
        print("EOF", flush=True)
    except socket.timeout:
        print("TIMEOUT", flush=True)
    c.close()


def login(c, mode, user, secret, cafile=None):
    if mode.startswith("stls-"):
        r = c.cmd("STLS")
        if not r.startswith(b"+OK"):
            raise RuntimeError("STLS: %r" % r)
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False
        c.s = ctx.wrap_socket(c.s, server_hostname="proxy.test")
        mode = mode[5:]
    if mode == "apop":
        r = apop(c, user, secret)
    elif mode == "otp":
        r = otp(c, user)
    else:
        r = c.cmd("USER " + user)
        if r.startswith(b"+OK"):
            r = c.cmd("PASS " + secret)
    if not r.startswith(b"+OK"):
        raise RuntimeError("login: %r" % r)


def fetch(port, mode, user, secret, out, cafile=None):
    c = Conn(port)
    login(c, mode, user, secret, cafile)
    r = c.cmd("STAT")
    n = int(r.split()[1])
    with open(out, "wb") as f:
        for i in range(1, n + 1):
            f.write(c.retr_raw(i))
    c.cmd("QUIT")
    c.close()
    print("%d messages" % n)


def many(port, n, user, secret):
    ok = []
    errors = []
    start = threading.Barrier(n, timeout=60)

    def one():
        try:
            c = Conn(port, timeout=120)
            start.wait()
            r = apop(c, user, secret)
            if r.startswith(b"+OK") and c.cmd("STAT").startswith(b"+OK") and \
                    c.cmd("QUIT").startswith(b"+OK"):
                ok.append(1)
            else:
                errors.append(r)
            c.close()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append(repr(e))

    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("%d ok" % len(ok))
    for e in errors[:5]:
        print("error: %s" % e)


def slowloris(port, interval):
    c = Conn(port, timeout=120)
    t0 = time.time()
    try:
        for ch in b"CAPAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA":
            c.send(bytes([ch]))
            time.sleep(interval)
        print("never closed")
    except (BrokenPipeError, ConnectionError, EOFError):
        pass
    try:
        while c.s.recv(4096):
            pass
    except (ConnectionError, socket.timeout):
        pass
    print("closed after %.1f" % (time.time() - t0))


def bench(port, mode, user, secret, seconds, conc, msg):
    count = [0] * conc
    errors = []
    stop = time.time() + seconds

    def worker(k):
        while time.time() < stop:
            try:
                c = Conn(port)
                login(c, mode, user, secret)
                c.cmd("STAT")
                c.retr_raw(msg)
                c.cmd("QUIT")
                c.close()
                count[k] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
                time.sleep(0.01)

    t0 = time.time()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("sessions %d seconds %.3f errors %d" % (sum(count), time.time() - t0, len(errors)))
    for e in errors[:3]:
        print("error: %s" % e, file=sys.stderr)


def bigretr(port, mode, user, secret, msg, times):
    c = Conn(port, timeout=300)
    login(c, mode, user, secret)
    total = 0
    t0 = time.time()
    for _ in range(times):
        total += len(c.retr_raw(msg))
    dt = time.time() - t0
    c.cmd("QUIT")
    print("bytes %d seconds %.3f" % (total, dt))


def main(a):
    if a[0] == "talk":
        talk(int(a[1]), a[2:])
    elif a[0] == "fetch":
        fetch(int(a[1]), a[2], a[3], a[4], a[5], a[6] if len(a) > 6 else None)
    elif a[0] == "many":
        many(int(a[1]), int(a[2]), a[3], a[4])
    elif a[0] == "slowloris":
        slowloris(int(a[1]), float(a[2]))
    elif a[0] == "bench":
        bench(int(a[1]), a[2], a[3], a[4], float(a[5]), int(a[6]), int(a[7]))
    elif a[0] == "bigretr":
        bigretr(int(a[1]), a[2], a[3], a[4], int(a[5]), int(a[6]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
