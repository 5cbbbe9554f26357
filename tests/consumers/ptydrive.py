# ptydrive.py - run a command on a pseudo-terminal and hold a dialogue with it, as
# a person at a terminal would.  The dialogue is read from standard input,
# one step a line:
#   expect REGEX   wait (at most 20 s, or PTYDRIVE_WAIT) for output matching the Python REGEX
#   send TEXT      type TEXT and Return
#   eof            wait (at most 20 s) for the command to finish
#   hangup         hang up the terminal (SIGHUP to the command), then as eof
#   shell CMD      run sh -c CMD with PTYDRIVE_PID set to the command's pid; give up
#                  (status 126) unless it succeeds
#   signal NAME    send the command signal NAME (QUIT, INT, ...), then as eof
# Everything the terminal shows goes to TRANSCRIPT (what is typed with echo
# off never appears there).  Exit status: the command's, or 125 when an
# expected text never came, 124 when the command did not finish in time; the
# command is then killed by its pid.
# Usage: ptydrive.py TRANSCRIPT CMD...
import os, pty, re, select, signal, subprocess, sys, time

STEP = float(os.environ.get("PTYDRIVE_WAIT", "20"))
transcript = open(sys.argv[1], "ab", 0)
steps = [l.rstrip("\n").split(" ", 1) for l in sys.stdin if l.strip()]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
buf = b""
eof = False

def read_some(deadline):
    global buf, eof
    r, _, _ = select.select([fd], [], [], max(0.0, min(0.2, deadline - time.time())))
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d:
            eof = True
            return
        transcript.write(d)
        buf += d

def give_up(status, why):
    sys.stderr.write("ptydrive.py: %s\n" % why)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.exit(status)

for step in steps:
    op, arg = step[0], step[1] if len(step) > 1 else ""
    if op == "expect":
        rx = re.compile(arg.encode())
        deadline = time.time() + STEP
        while not rx.search(buf):
            if eof or time.time() > deadline:
                give_up(125, "no /%s/ within %d s (got %r)" % (arg, STEP, buf[-300:]))
            read_some(deadline)
        buf = buf[rx.search(buf).end():]
    elif op == "send":
        time.sleep(0.05)
        os.write(fd, arg.encode() + b"\r")
    elif op == "shell":
        env = dict(os.environ, PTYDRIVE_PID=str(pid))
        if subprocess.call(["sh", "-c", arg], env=env, timeout=STEP) != 0:
            give_up(126, "shell step failed: %s" % arg)
    elif op in ("eof", "hangup", "signal"):
        if op == "hangup":
            os.kill(pid, signal.SIGHUP)
        elif op == "signal":
            os.kill(pid, getattr(signal, "SIG" + arg))
        deadline = time.time() + STEP
        while not eof and time.time() < deadline:
            read_some(deadline)
    else:
        give_up(2, "unknown step %r" % op)

deadline = time.time() + STEP
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        while not eof:
            read_some(time.time() + 0.2)
            if not select.select([fd], [], [], 0)[0]:
                break
        if os.WIFSIGNALED(status) and os.WCOREDUMP(status):
            sys.stderr.write("ptydrive.py: the command dumped core\n")
        sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    read_some(deadline)
give_up(124, "the command did not finish within %d s" % STEP)
