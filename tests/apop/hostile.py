#!/usr/bin/env python3
"""hostile.py - a lying session for apop-proxy's monitor (run by monstand, the channel on fd 3).

  hostile.py CASE [ARG...]    prints what the monitor answered, one line each:
      "challenge TEXT", "ok ...", "fail CODE [close]", "EOF" (the monitor ended the
      session without an answer), "TIMEOUT"
  The cases, and what an honest session would never send in them, are below.
"""
import array
import hashlib
import os
import socket
import struct
import sys

RQ_USER, RQ_PASS, RQ_APOP, RQ_SASL_OTP, RQ_SASL_RESP, RQ_SASL_PLAIN, RQ_ABORT = range(1, 8)
RP_CHALLENGE, RP_OK, RP_FAIL = 100, 101, 102
CODES = ["-", "AUTH", "USER", "NEED_TLS", "AUTHZ", "REINIT", "TEMP", "BE_DOWN", "BE_IN_USE",
         "BE_DELAY", "BE_PERM", "BE_AUTH", "BE_TEMP", "LIMIT"]
STAMP = os.environ["STAMP"].encode()

chan = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=3)
chan.settimeout(60)


def out(text):
    print(text, flush=True)


def send(t, payload=b"", raw=None, fds=None):
    data = raw if raw is not None else struct.pack("<II", t, len(payload)) + payload
    try:
        if fds:
            chan.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        else:
            chan.send(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def use_backend(fd):
    """The backend descriptor of a real login: STAT through it, as the relay would."""
    b = socket.socket(fileno=fd)
    b.setblocking(True)
    b.settimeout(30)
    b.sendall(b"STAT\r\n")
    line = b.makefile("rb").readline().strip().decode()
    b.sendall(b"QUIT\r\n")
    b.close()
    return line


def recv():
    try:
        data, fds, _, _ = socket.recv_fds(chan, 4096, 2)
    except socket.timeout:
        return "TIMEOUT"
    except ConnectionResetError:
        return "EOF"
    if not data:
        return "EOF"
    t, n = struct.unpack("<II", data[:8])
    p = data[8:]
    if t == RP_CHALLENGE:
        return "challenge " + p.decode()
    if t == RP_FAIL:
        code, close = struct.unpack("<II", p)
        return "fail %s%s" % (CODES[code] if code < len(CODES) else code, " close" if close else "")
    if t == RP_OK and len(fds) == 1:
        flags, remaining = struct.unpack("<II", p[:8])
        return "ok flags=%d backend: %s" % (flags, use_backend(fds[0]))
    return "unexpected %d" % t


def ask(t, payload=b"", **kw):
    if not send(t, payload, **kw):
        return "EOF"
    return recv()


def digest(stamp, secret):
    return hashlib.md5(stamp + secret.encode()).hexdigest().encode()


def apop(user, secret, stamp=STAMP):
    return ask(RQ_APOP, user.encode() + b"\0" + digest(stamp, secret))


def main(case, args):
    if case == "honest":            # APOP done right: the backend, and nothing after it
        out(apop(args[0], args[1]))
        out(ask(RQ_USER, args[0].encode()))
    elif case == "pass-first":      # PASS with no USER before it
        out(ask(RQ_PASS, b"\1" + b"BOND FOGY DRAB NE RISE MART"))
    elif case == "type":            # a type that is no request: a reply's, the old "backend said yes"
        out(ask(int(args[0]), struct.pack("<II", 1, 1)))
    elif case == "response-first":  # an OTP mechanism response with no AUTH OTP begun
        out(ask(RQ_SASL_RESP, b"hex:5bf075d9959d036f"))
    elif case == "too-long":        # a message over the channel's limit
        out(ask(RQ_USER, b"a" * 4000))
    elif case == "truncated":       # a header that promises more than comes
        out(ask(0, raw=struct.pack("<II", RQ_USER, 40) + b"alice"))
    elif case == "runt":            # less than a header
        out(ask(0, raw=b"\1\0"))
    elif case == "user-long":       # a user name over OTP_USER_MAX
        out(ask(RQ_USER, b"a" * 65))
    elif case == "user-nul":        # a NUL inside a user name
        out(ask(RQ_USER, b"al\0ice"))
    elif case == "apop-unsplit":    # APOP without the NUL between name and digest
        out(ask(RQ_APOP, b"alice" + digest(STAMP, "x")))
    elif case == "fd":              # a request carrying a descriptor
        out(ask(RQ_USER, b"alice", fds=[0]))
    elif case == "stamp":           # a digest over a timestamp of its own choosing, then the real one
        out(apop(args[0], args[1], stamp=b"<1.2.3@forged>"))
        out(apop(args[0], args[1]))
    elif case == "tries":           # N guesses at once, without waiting for the answers
        for _ in range(int(args[1])):
            if not send(RQ_APOP, args[0].encode() + b"\0" + digest(STAMP, "wrong guess")):
                break
        while True:
            r = recv()
            out(r)
            if r in ("EOF", "TIMEOUT"):
                break
    elif case == "plain-clear":     # PLAIN claiming no TLS, which an honest session never sends
        out(ask(RQ_SASL_PLAIN, b"\0" + b"\0alice\0secret"))
    elif case == "authz":           # the OTP mechanism for one user on behalf of another
        out(ask(RQ_SASL_OTP, b"bob\0alice"))
    elif case == "flood":           # more requests than a connection is allowed
        for _ in range(40):
            r = ask(RQ_USER, b"alice")
            if not r.startswith("challenge"):
                out(r)
                break
        else:
            out("all answered")
        out(recv())
    elif case == "sasl":            # the OTP mechanism honestly: the challenge, then a response
        out(ask(RQ_SASL_OTP, b"\0" + args[0].encode()))
        out(ask(RQ_SASL_RESP, args[1].encode()))
    else:
        sys.exit("unknown case " + case)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
