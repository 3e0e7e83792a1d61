#!/usr/bin/env python3
"""capture_golden.py - golden ONC RPC bytes from the rpcgen/libtirpc FILEREADWRITE peer.

    Interop/oncrpc/capture_golden.py [--out DIR] [--no-build] [--quick]
    Interop/oncrpc/netns.sh run -- Interop/oncrpc/capture_golden.py --clnt-create-timing

Default mode (needs no namespace, binds 127.0.0.1 only):
  1. calls: a python listener (TCP and UDP on 127.0.0.1) plays the server; build/frw_client
     --port P sends it NULL, WRITE(1, 0, "hello"), READ(1, 0, 5), a NULL with AUTH_SYS, a WRITE
     of one byte >= 0x80; the listener records every byte (TCP: record marks included) and
     answers a plausible SUCCESS reply so the client finishes.
  2. replies: build/frw_server --no-rpcbind --port P; hand-built calls (fixed xids) are sent
     over TCP (one connection per case) and UDP, and whatever comes back is recorded.
  3. stream/datagram behaviour: 2 GiB fragment header, multi-fragment records, a zero-length
     non-last fragment, oversized and undersized datagrams, xid sequences of the clients.
Writes one .hex per message into --out (default Tests/CourierONCTests/Golden) and
OBSERVATIONS.txt (every case and what happened); prints the same summary on stdout.
--quick skips the one slow case (a 2 GiB fragment header followed by silence: ~35 s).

--clnt-create-timing (run inside netns.sh: needs rpcbind): registers a silent python UDP
server for 9999 v2 with rpcbind (PMAPPROC_SET) and times the retransmissions of
frw_client's clnt_create(..., "udp") handle (libtirpc defaults, 25 s total of the stubs).

Standard library only.
"""
import argparse
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(HERE, "build")
DEFAULT_OUT = os.path.join(ROOT, "Tests", "CourierONCTests", "Golden")

PROG, VERS = 9999, 2
MAXBUF = 1000
LAST = 0x80000000

ACCEPT = {0: "SUCCESS", 1: "PROG_UNAVAIL", 2: "PROG_MISMATCH", 3: "PROC_UNAVAIL",
          4: "GARBAGE_ARGS", 5: "SYSTEM_ERR"}
REJECT = {0: "RPC_MISMATCH", 1: "AUTH_ERROR"}
AUTH_STAT = {0: "AUTH_OK", 1: "AUTH_BADCRED", 2: "AUTH_REJECTEDCRED", 3: "AUTH_BADVERF",
             4: "AUTH_REJECTEDVERF", 5: "AUTH_TOOWEAK", 6: "AUTH_INVALIDRESP", 7: "AUTH_FAILED"}
FLAVOR = {0: "AUTH_NONE", 1: "AUTH_SYS", 2: "AUTH_SHORT", 3: "AUTH_DH", 6: "RPCSEC_GSS"}
PROCS = {0: "NULL", 1: "WRITE", 2: "READ"}


# ---------------------------------------------------------------- XDR
def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def i32(v):
    return struct.pack(">i", v)


def opaque(b):
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def data_xdr(payload, length=None):
    """Data: int length; char buffer[MAX] (rpcgen: xdr_vector of xdr_char, 4 bytes a char,
    signed char sign-extended)."""
    if length is None:
        length = len(payload)
    buf = list(payload[:MAXBUF]) + [0] * (MAXBUF - min(len(payload), MAXBUF))
    return i32(length) + b"".join(i32(b - 256 if b >= 128 else b) for b in buf)


def writeargs(f, pos, payload):
    return i32(f) + i32(pos) + data_xdr(payload)


def readargs(f, pos, length):
    return i32(f) + i32(pos) + i32(length)


def auth_sys_body(stamp, machine, uid, gid, gids):
    return u32(stamp) + opaque(machine) + u32(uid) + u32(gid) + u32(len(gids)) + b"".join(u32(g) for g in gids)


def call(xid, proc, args=b"", prog=PROG, vers=VERS, rpcvers=2, cred=(0, b""), verf=(0, b"")):
    return (u32(xid) + u32(0) + u32(rpcvers) + u32(prog) + u32(vers) + u32(proc)
            + u32(cred[0]) + opaque(cred[1]) + u32(verf[0]) + opaque(verf[1]) + args)


def accepted(xid, stat=0, results=b""):
    return u32(xid) + u32(1) + u32(0) + u32(0) + u32(0) + u32(stat) + results


def record(body, sizes=None):
    """Record-marks BODY: one last fragment, or fragments of the given SIZES (the rest last)."""
    if not sizes:
        return u32(LAST | len(body)) + body
    out, off = b"", 0
    for s in sizes:
        out += u32(s) + body[off:off + s]
        off += s
    return out + u32(LAST | (len(body) - off)) + body[off:]


# ---------------------------------------------------------------- annotation
class Reader:
    def __init__(self, body, wire_of):
        self.b, self.o, self.wire_of, self.lines = body, 0, wire_of, []

    def left(self):
        return len(self.b) - self.o

    def word(self, what, fmt=None, signed=False):
        if self.left() < 4:
            self.note("(message ends here: %d byte(s) left)" % self.left())
            raise EOFError
        raw = self.b[self.o:self.o + 4]
        v = struct.unpack(">i" if signed else ">I", raw)[0]
        self.lines.append((self.wire_of(self.o), raw.hex(), what % v if fmt is None and "%" in what else (fmt(v) if fmt else what)))
        self.o += 4
        return v

    def bytes_(self, n, what):
        n4 = n + (4 - n % 4) % 4
        if self.left() < n4:
            self.note("(message ends here: %d byte(s) left of %d)" % (self.left(), n4))
            raise EOFError
        raw = self.b[self.o:self.o + n4]
        self.lines.append((self.wire_of(self.o), raw.hex() if n4 <= 16 else raw[:16].hex() + "...", what))
        self.o += n4
        return raw[:n]

    def note(self, text):
        self.lines.append((None, "", text))


def opaque_auth(r, which):
    fl = r.word("%s flavor = %%d" % which, lambda v: "%s flavor = %d (%s)" % (which, v, FLAVOR.get(v, "unknown")))
    n = r.word("%s body length = %%d" % which)
    if n > 400:
        r.note("(%s body length %d > MAX_AUTH_BYTES 400)" % (which, n))
        raise EOFError
    if fl == 1 and n > 0:
        body = r.bytes_(n, "%s body (AUTH_SYS, %d bytes), fields:" % (which, n))
        try:
            stamp, ln = struct.unpack(">II", body[:8])
            name = body[8:8 + ln]
            p = 8 + ln + (4 - ln % 4) % 4
            uid, gid, ng = struct.unpack(">III", body[p:p + 12])
            gids = struct.unpack(">%dI" % ng, body[p + 12:p + 12 + 4 * ng])
            r.note("    stamp = %d (0x%08x), machinename = %r (%d bytes), uid = %d, gid = %d, gids = %d: %s"
                   % (stamp, stamp, name.decode("latin-1"), ln, uid, gid, ng, list(gids)))
        except (struct.error, ValueError):
            r.note("    (malformed AUTH_SYS body: %s)" % body.hex())
    elif n > 0:
        r.bytes_(n, "%s body (%d bytes)" % (which, n))
    return fl


def annotate_data(r):
    n = r.word("Data.length = %d", signed=True)
    start = r.o
    vals = []
    for k in range(MAXBUF):
        if r.left() < 4:
            r.note("(message ends inside Data.buffer after %d entries)" % k)
            raise EOFError
        vals.append(struct.unpack(">i", r.b[r.o:r.o + 4])[0])
        r.o += 4
    nz = [k for k, v in enumerate(vals) if v != 0]
    shown = "".join(chr(v & 0xFF) if 32 <= (v & 0xFF) < 127 else "\\x%02x" % (v & 0xFF) for v in vals[:max(n, 0)])
    r.lines.append((r.wire_of(start), r.b[start:start + 16].hex() + "...",
                    "Data.buffer: char[1000], each char a 4-byte XDR int (4000 bytes); entries 0..%d = \"%s\"%s; "
                    "non-zero entries: %s" % (max(n, 0) - 1, shown,
                                              " (sign-extended: %s)" % [hex(v & 0xFFFFFFFF) for v in vals[:max(n, 0)] if v < 0]
                                              if any(v < 0 for v in vals[:max(n, 0)]) else "",
                                              ("%d..%d" % (nz[0], nz[-1])) if nz else "none")))


def annotate(body, wire_of, kind, proc_hint=None):
    """Field-by-field lines of one RPC message (BODY: the record without marks)."""
    r = Reader(body, wire_of)
    try:
        r.word("xid = 0x%08x")
        mt = r.word("msg_type = %d", lambda v: "msg_type = %d (%s)" % (v, {0: "CALL", 1: "REPLY"}.get(v, "?")))
        if mt == 0:
            r.word("rpcvers = %d")
            r.word("prog = %d")
            r.word("vers = %d")
            proc = r.word("proc = %d", lambda v: "proc = %d (%s)" % (v, PROCS.get(v, "?")))
            opaque_auth(r, "cred")
            opaque_auth(r, "verf")
            if proc == 1 and r.left():
                r.word("writeargs.f = %d", signed=True)
                r.word("writeargs.position = %d", signed=True)
                annotate_data(r)
            elif proc == 2 and r.left():
                r.word("readargs.f = %d", signed=True)
                r.word("readargs.position = %d", signed=True)
                r.word("readargs.length = %d", signed=True)
        else:
            rs = r.word("reply_stat", lambda v: "reply_stat = %d (%s)" % (v, {0: "MSG_ACCEPTED", 1: "MSG_DENIED"}.get(v, "?")))
            if rs == 0:
                opaque_auth(r, "verf")
                st = r.word("accept_stat", lambda v: "accept_stat = %d (%s)" % (v, ACCEPT.get(v, "?")))
                if st == 2:
                    r.word("mismatch_info.low = %d")
                    r.word("mismatch_info.high = %d")
                elif st == 0 and proc_hint == 2 and r.left():
                    annotate_data(r)
            else:
                rj = r.word("reject_stat", lambda v: "reject_stat = %d (%s)" % (v, REJECT.get(v, "?")))
                if rj == 0:
                    r.word("mismatch_info.low = %d")
                    r.word("mismatch_info.high = %d")
                else:
                    r.word("auth_stat", lambda v: "auth_stat = %d (%s)" % (v, AUTH_STAT.get(v, "?")))
        if r.left():
            r.bytes_(r.left(), "%d trailing byte(s) after the message" % r.left())
    except EOFError:
        pass
    return r.lines


def split_records(wire):
    """(body, fragments [(wire offset, header, length)], wire_of) of the first record in WIRE."""
    frags, body, off, spans = [], b"", 0, []
    while off + 4 <= len(wire):
        h = struct.unpack(">I", wire[off:off + 4])[0]
        n = h & 0x7FFFFFFF
        frags.append((off, h, n))
        spans.append((len(body), off + 4))
        body += wire[off + 4:off + 4 + n]
        off += 4 + n
        if h & LAST:
            break

    def wire_of(bo):
        best = spans[0]
        for s in spans:
            if s[0] <= bo:
                best = s
        return best[1] + (bo - best[0])
    return body, frags, wire_of


def hexlines(b, per=32):
    out = []
    for k in range(0, len(b), per):
        chunk = b[k:k + per].hex()
        out.append(" ".join(chunk[j:j + 8] for j in range(0, len(chunk), 8)))
    return out


PEER = None  # filled in main: versions of libtirpc and rpcgen


def write_golden(outdir, name, wire, transport, title, how, notes=(), proc_hint=None, request=None):
    lines = ["# %s -- %s" % (name, title), "#",
             "# Captured by: Interop/oncrpc/capture_golden.py: %s" % how,
             "# Peer:        %s" % PEER,
             "# Transport:   %s" % ("TCP: the bytes as on the wire, 4-byte record mark(s) included" if transport == "tcp"
                                    else "UDP: one datagram, exactly as sent"),
             "# Length:      %d bytes" % len(wire)]
    for n in notes:
        lines.append("# Note:        %s" % n)
    if request is not None:
        lines.append("# Request that elicited it (hand-built by the script, %d bytes, %s):" % (len(request), transport))
        for h in hexlines(request, 48):
            lines.append("#   %s" % h)
    lines += ["#", "# Field-by-field (offset in this file, bytes, meaning):"]
    if transport == "tcp":
        body, frags, wire_of = split_records(wire)
        for off, h, n in frags:
            lines.append("# %5d  %08x  record mark: %s fragment, %d bytes" % (off, h, "last" if h & LAST else "non-last", n))
    else:
        body, wire_of = wire, (lambda bo: bo)
    for off, hx, what in annotate(body, wire_of, None, proc_hint):
        if off is None:
            lines.append("#              %s" % what)
        else:
            lines.append("# %5d  %-34s %s" % (off, hx, what))
    lines.append("#")
    lines += hexlines(wire)
    path = os.path.join(outdir, name + ".hex")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- sockets
def free_port():
    """A port free for both TCP and UDP on 127.0.0.1."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


def recv_exact(s, n, deadline):
    b = b""
    while len(b) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        r, _, _ = select.select([s], [], [], left)
        if not r:
            raise TimeoutError
        chunk = s.recv(n - len(b))
        if not chunk:
            raise EOFError(b)
        b += chunk
    return b


def recv_record(s, timeout):
    """The wire bytes of one record (marks included); EOFError/TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    wire = b""
    for _ in range(10000):
        h = recv_exact(s, 4, deadline)
        hv = struct.unpack(">I", h)[0]
        wire += h + recv_exact(s, hv & 0x7FFFFFFF, deadline)
        if hv & LAST:
            return wire
    raise RuntimeError("too many fragments")


def wait_closed(s, timeout):
    """Seconds until the peer closes S (reads and drops bytes), or None on timeout."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], left)
        if r:
            try:
                if not s.recv(65536):
                    return time.monotonic() - t0
            except ConnectionResetError:
                return time.monotonic() - t0


# ---------------------------------------------------------------- part 1: client calls
class FakeServer:
    """TCP+UDP listener on 127.0.0.1: records each call, answers SUCCESS (READ: Data "hello")."""

    def __init__(self, silent=False):
        self.port = free_port()
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.silent = silent
        self.tcp_calls, self.udp_calls = [], []   # (time, wire bytes)
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    @staticmethod
    def reply_for(body):
        xid, proc = struct.unpack(">I", body[:4])[0], struct.unpack(">I", body[20:24])[0]
        return accepted(xid, 0, data_xdr(b"hello") if proc == 2 else b"")

    def loop(self):
        conns = []
        while not self.stop:
            r, _, _ = select.select([self.tcp, self.udp] + conns, [], [], 0.2)
            for s in r:
                if s is self.tcp:
                    c, _ = self.tcp.accept()
                    conns.append(c)
                elif s is self.udp:
                    d, addr = self.udp.recvfrom(65536)
                    self.udp_calls.append((time.monotonic(), d))
                    if not self.silent:
                        self.udp.sendto(self.reply_for(d), addr)
                else:
                    try:
                        wire = recv_record(s, 5)
                    except (EOFError, TimeoutError, OSError):
                        conns.remove(s)
                        s.close()
                        continue
                    self.tcp_calls.append((time.monotonic(), wire))
                    if not self.silent:
                        s.sendall(record(self.reply_for(split_records(wire)[0])))
        for c in conns:
            c.close()

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.tcp.close()
        self.udp.close()


def run_client(args, timeout=30):
    p = subprocess.run([os.path.join(BUILD, "frw_client")] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def capture_calls(outdir, obs, files):
    fake = FakeServer()
    try:
        cases = [
            ("call_null", ["null"], "NULL (procedure 0), AUTH_NONE", 0),
            ("call_write_hello", ["write:1:0:hello"], "WRITE(f=1, position=0, data=\"hello\"), AUTH_NONE", 1),
            ("call_read", ["read:1:0:5"], "READ(f=1, position=0, length=5), AUTH_NONE", 2),
            ("call_null_authsys", ["--auth-sys", "null"], "NULL with AUTH_SYS credentials (authunix_create_default)", 0),
            ("call_write_highbyte", ["write:1:0:\\xe9A"], "WRITE(f=1, position=0, data=bytes e9 41): a char >= 0x80", 1),
        ]
        for name, script, what, proc in cases:
            for tp in ("tcp", "udp"):
                store = fake.tcp_calls if tp == "tcp" else fake.udp_calls
                n0 = len(store)
                opts = [a for a in script if a.startswith("--")]
                words = [a for a in script if not a.startswith("--")]
                rc, out, err = run_client(["127.0.0.1", tp, "--port", str(fake.port)] + opts + words)
                if rc != 0 or len(store) != n0 + 1:
                    raise RuntimeError("%s %s: rc=%d calls=%d out=%s err=%s" % (name, tp, rc, len(store) - n0, out, err))
                wire = store[-1][1]
                notes = ["Sent by build/frw_client %s (rpcgen -l stubs, %s); the python listener answered "
                         "MSG_ACCEPTED/SUCCESS%s." % (" ".join(["127.0.0.1", tp, "--port", "P"] + opts + words),
                                                    "clnttcp_create" if tp == "tcp" else "clntudp_create",
                                                    " with Data(5, \"hello\")" if proc == 2 else ""),
                         "The xid varies between captures (libtirpc: getpid() ^ tv_sec ^ tv_usec at client creation; "
                         + ("TCP also XORs a per-process counter, and each call decrements the stored big-endian xid "
                            "as a native word)." if tp == "tcp" else "UDP: +1 before each call, so the first call "
                            "carries that value + 1).")]
                if "--auth-sys" in opts:
                    notes.append("AUTH_SYS body varies: stamp = time(NULL) at authunix_create_default; machinename = "
                                 "gethostname() of the capturing machine; uid/gid = geteuid()/getegid(); gids = "
                                 "getgroups() (at most 16). Recorded exactly as sent.")
                files.append(write_golden(outdir, "%s_%s" % (name, tp), wire, tp, "%s, as frw_client sends it" % what,
                                          "a python TCP/UDP listener on 127.0.0.1 recorded what frw_client sent.",
                                          notes))
                obs.append("%-28s %s  client -> %d bytes recorded; client said: %s"
                           % (name, tp, len(wire), out.splitlines()[0]))
        # xid sequences over one client handle
        for tp in ("tcp", "udp"):
            store = fake.tcp_calls if tp == "tcp" else fake.udp_calls
            n0 = len(store)
            run_client(["127.0.0.1", tp, "--port", str(fake.port), "null", "null", "null", "null"])
            if tp == "tcp":
                xids = [split_records(w)[0][:4].hex() for _, w in store[n0:]]
            else:
                xids = [w[:4].hex() for _, w in store[n0:]]
            obs.append("xid sequence     %s  4 NULL calls on one %s handle: %s" % (tp, tp, " ".join(xids)))
    finally:
        fake.close()


# ---------------------------------------------------------------- part 2: server replies
def start_server():
    port = free_port()
    p = subprocess.Popen([os.path.join(BUILD, "frw_server"), "--no-rpcbind", "--port", str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    r, _, _ = select.select([p.stdout], [], [], 10)
    line = p.stdout.readline() if r else ""
    if not line.startswith("READY"):
        p.kill()
        raise RuntimeError("frw_server did not start: %r" % line)
    return p, port, line.strip()


def stop_server(p):
    p.terminate()
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
    return p.returncode, out, err


def tcp_exchange(port, wire, timeout=5.0, linger=1.0):
    """Sends WIRE on a new connection; (reply wire or None, outcome text)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(wire)
        try:
            rep = recv_record(s, timeout)
        except EOFError as e:
            return None, "connection closed by the server without a reply%s" % (
                " (after %d bytes)" % len(e.args[0]) if e.args and e.args[0] else "")
        except TimeoutError:
            return None, "no reply within %.0f s (connection still open)" % timeout
        after = wait_closed(s, linger)
        return rep, "reply; " + ("connection then closed by the server" if after is not None
                                 else "connection left open")
    finally:
        s.close()


def udp_exchange(port, datagram, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(datagram, ("127.0.0.1", port))
        r, _, _ = select.select([s], [], [], timeout)
        if not r:
            return None, "no reply within %.0f s" % timeout
        return s.recv(65536), "reply"
    finally:
        s.close()


def describe_reply(body):
    try:
        mt, rs = struct.unpack(">II", body[4:12])
        if rs == 0:
            vl = struct.unpack(">I", body[16:20])[0]
            p = 20 + vl + (4 - vl % 4) % 4
            st = struct.unpack(">I", body[p:p + 4])[0]
            extra = ""
            if st == 2:
                extra = " low=%d high=%d" % struct.unpack(">II", body[p + 4:p + 12])
            elif st == 0 and len(body) > p + 4:
                extra = " results %d bytes" % (len(body) - p - 4)
                if len(body) - p - 4 == 4004:
                    extra += ", Data.length=%d" % struct.unpack(">i", body[p + 4:p + 8])[0]
            vf = struct.unpack(">I", body[12:16])[0]
            return "MSG_ACCEPTED verf=%s/%d %s%s" % (FLAVOR.get(vf, vf), vl, ACCEPT.get(st, st), extra)
        rj = struct.unpack(">I", body[12:16])[0]
        if rj == 0:
            return "MSG_DENIED RPC_MISMATCH low=%d high=%d" % struct.unpack(">II", body[16:24])
        a = struct.unpack(">I", body[16:20])[0]
        return "MSG_DENIED AUTH_ERROR %s" % AUTH_STAT.get(a, a)
    except struct.error:
        return "unparsable reply " + body.hex()


def reply_cases():
    good_sys = auth_sys_body(0x5f5e100, b"golden", 1000, 1000, [1000, 24])
    X = 0x600d0000
    return [
        # name, xid, call body, procedure (for annotation), title
        ("reply_null", X + 1, call(X + 1, 0), 0, "reply to NULL (AUTH_NONE)"),
        ("reply_write", X + 2, call(X + 2, 1, writeargs(1, 0, b"hello")), 1, "reply to WRITE(1, 0, \"hello\")"),
        ("reply_read_hello", X + 3, call(X + 3, 2, readargs(1, 0, 5)), 2, "reply to READ(1, 0, 5) after the WRITE: Data(5, \"hello\")"),
        ("reply_read_past_end", X + 4, call(X + 4, 2, readargs(1, 10, 5)), 2, "reply to READ(1, 10, 5): past the end of the 5-byte file, 0 bytes"),
        ("reply_system_err", X + 5, call(X + 5, 2, readargs(1, -1, 10)), 2, "reply to READ(1, -1, 10): negative position -> SYSTEM_ERR (svcerr_systemerr)"),
        ("reply_prog_unavail", X + 6, call(X + 6, 0, prog=9998), 0, "reply to NULL of program 9998 (not served): PROG_UNAVAIL"),
        ("reply_prog_mismatch", X + 7, call(X + 7, 0, vers=3), 0, "reply to NULL of 9999 version 3: PROG_MISMATCH with libtirpc's low/high"),
        ("reply_proc_unavail", X + 8, call(X + 8, 7), 7, "reply to procedure 7 of 9999 v2: PROC_UNAVAIL"),
        ("reply_garbage_args", X + 9, call(X + 9, 2, readargs(1, 0, 5)[:8]), 2, "reply to READ whose arguments stop after 8 of 12 bytes: GARBAGE_ARGS"),
        ("reply_rpc_mismatch", X + 10, call(X + 10, 0, rpcvers=3), 0, "reply to a call with rpcvers = 3 (RPC_MISMATCH expected by RFC 5531)"),
        ("reply_auth_flavor99", X + 11, call(X + 11, 0, cred=(99, b"\0\0\0\x01")), 0, "reply to NULL with credential flavor 99 (unknown), 4-byte body"),
        ("reply_authsys_badname", X + 12, call(X + 12, 0, cred=(1, u32(1) + u32(300) + b"m" * 300 + u32(0) + u32(0) + u32(0))), 0,
         "reply to NULL with an AUTH_SYS credential whose machinename is 300 bytes (> 255)"),
        ("reply_authsys_short", X + 13, call(X + 13, 0, cred=(1, u32(1) + u32(0))), 0,
         "reply to NULL with an AUTH_SYS credential body of 8 bytes (stamp, empty machinename; uid, gid, gids missing)"),
        ("reply_authsys_gids17", X + 14, call(X + 14, 0, cred=(1, auth_sys_body(1, b"m", 0, 0, list(range(17))))), 0,
         "reply to NULL with an AUTH_SYS credential carrying 17 gids (> NGRPS 16)"),
        ("reply_null_authsys", X + 15, call(X + 15, 0, cred=(1, good_sys)), 0, "reply to NULL with a well-formed AUTH_SYS credential, AUTH_NONE verifier"),
        ("reply_null_authsys_verf", X + 16, call(X + 16, 0, cred=(1, good_sys), verf=(0, b"\xca\xfe\xba\xbe")), 0,
         "reply to NULL with a well-formed AUTH_SYS credential and an AUTH_NONE verifier with a 4-byte body (cafebabe)"),
        ("reply_read_len1001", X + 17, call(X + 17, 2, readargs(1, 0, 1001)), 2, "reply to READ(1, 0, 1001): length above MAX -> SYSTEM_ERR (not clamped)"),
        ("reply_write_len1001", X + 18, call(X + 18, 1, i32(1) + i32(0) + data_xdr(b"x" * 1000, 1001)), 1, "reply to WRITE with data.length 1001 -> SYSTEM_ERR"),
    ]


def capture_replies(outdir, obs, files, quick):
    srv, port, ready = start_server()
    try:
        for tp in ("tcp", "udp"):
            for name, xid, body, proc, title in reply_cases():
                notes = ["Deterministic: fixed xid, and libtirpc's replies carry no time or host data."]
                if tp == "udp" and name == "reply_garbage_args":
                    # svc_dg decodes with an XDR stream over its whole buffer (one buffer for the
                    # request and the reply), not over the datagram's length: missing argument bytes
                    # are whatever the previous request or reply left there. Prime it with
                    # READ(1, -1, 3): its SYSTEM_ERR reply (24 bytes) leaves the 3 at offset 48.
                    prime = call(xid + 0x100, 2, readargs(1, -1, 3))
                    udp_exchange(port, prime)
                    name = "reply_truncated_args"
                    title = ("reply to READ(1, 0, <missing>), arguments stopping after 8 of 12 bytes, sent right "
                             "after a full READ(1, -1, 3) datagram: libtirpc takes the missing length from the stale "
                             "bytes that datagram left in its buffer (3), so SUCCESS with Data(3, \"hel\"), "
                             "not GARBAGE_ARGS")
                    notes.append("The priming datagram (xid 0x%08x, READ(1, -1, 3), 52 bytes, answered SYSTEM_ERR "
                                 "in 24 bytes) was sent just before: %s" % (xid + 0x100, prime.hex()))
                req = record(body) if tp == "tcp" else body
                rep, outcome = tcp_exchange(port, req) if tp == "tcp" else udp_exchange(port, req)
                if rep is not None:
                    rbody = split_records(rep)[0] if tp == "tcp" else rep
                    outcome = describe_reply(rbody) + " (" + outcome + ")"
                    files.append(write_golden(outdir, "%s_%s" % (name, tp), rep, tp, title + ", as frw_server sends it",
                                              "hand-built call (xid 0x%08x) sent by the script to build/frw_server "
                                              "--no-rpcbind on 127.0.0.1 over %s%s; the reply recorded." % (
                                                  xid, tp.upper(), ", its own connection" if tp == "tcp" else ""),
                                              notes, proc_hint=proc, request=req))
                obs.append("%-28s %s  %s" % (name, tp, outcome))

        # ---- TCP record marking
        X = 0x600e0000
        body = call(X + 1, 2, readargs(1, 0, 5))
        wire = record(body, [10, 17])
        rep, outcome = tcp_exchange(port, wire)
        if rep is not None:
            outcome = describe_reply(split_records(rep)[0]) + " (" + outcome + ")"
            files.append(write_golden(outdir, "reply_multifragment_read_tcp", rep, "tcp",
                                      "reply to READ(1, 0, 5) sent as a record of 3 fragments (10 + 17 + 25 bytes)",
                                      "hand-built call split over 3 fragments on one TCP connection to frw_server.",
                                      ["libtirpc reassembles multi-fragment records (xdrrec)."], proc_hint=2, request=wire))
        obs.append("%-28s tcp  call in 3 fragments (10+17+25): %s" % ("multifragment_read", outcome))

        wire = u32(0) + record(call(X + 2, 0))
        rep, outcome = tcp_exchange(port, wire)
        obs.append("%-28s tcp  zero-length NON-last fragment (header 00000000) then a NULL call: %s%s" % (
            "zero_nonlast_fragment", outcome, (": " + describe_reply(split_records(rep)[0])) if rep else ""))

        wire = u32(LAST) + record(call(X + 3, 0))
        rep, outcome = tcp_exchange(port, wire)
        obs.append("%-28s tcp  empty LAST fragment (header 80000000) then a NULL call: %s%s" % (
            "empty_last_fragment", outcome, (": " + describe_reply(split_records(rep)[0])) if rep else ""))

        # two calls in one write, one connection (pipelining)
        wire = record(call(X + 4, 0)) + record(call(X + 5, 2, readargs(1, 0, 5)))
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(wire)
            got = []
            for _ in range(2):
                try:
                    got.append(split_records(recv_record(s, 5))[0][:4].hex())
                except (EOFError, TimeoutError) as e:
                    got.append(type(e).__name__)
        finally:
            s.close()
        obs.append("%-28s tcp  two records in one send: replies with xids %s" % ("pipelined_calls", " ".join(got)))

        # 2 GiB fragment header followed by a whole NULL call, then silence
        body = call(X + 6, 0)
        wire = u32(0xFFFFFFFF) + body
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(wire)
            t0 = time.monotonic()
            try:
                rep = s.recv(65536) if select.select([s], [], [], 3)[0] else None
            except ConnectionResetError:
                rep = b""
            if rep:
                files.append(write_golden(outdir, "reply_fragment_2gib_tcp", rep, "tcp",
                                          "reply to a NULL call whose fragment header claims 0x7fffffff bytes (last fragment)",
                                          "hand-built: record mark ffffffff followed by only the 40 bytes of a NULL call.",
                                          ["libtirpc decodes the call from the first bytes of the huge fragment and replies at once; "
                                           "it then tries to skip the rest of the claimed fragment (blocking, 35 s poll per read)."],
                                          proc_hint=0, request=wire))
            # is the single-threaded server still serving others meanwhile?
            urep, uout = udp_exchange(port, call(X + 7, 0), timeout=3)
            stall = "UDP NULL meanwhile: " + (describe_reply(urep) if urep else uout)
        finally:
            s.close()
        after_close = ""
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.sendto(call(X + 8, 0), ("127.0.0.1", port))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if not select.select([u], [], [], max(0.0, deadline - time.monotonic()))[0]:
                    break
                d = u.recv(65536)
                after_close += " [xid %s]" % d[:4].hex()
        finally:
            u.close()
        obs.append("%-28s tcp  header ffffffff + NULL call: %s within 3 s; %s; after the client closed, "
                   "UDP replies received:%s" % ("fragment_2gib_with_call",
                                               ("reply " + describe_reply(split_records(rep)[0])) if rep else "no reply",
                                               stall, after_close or " none"))

        if not quick:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                s.sendall(u32(0xFFFFFFFF) + b"\0\0\0\x2a")
                closed = wait_closed(s, 45)
            finally:
                s.close()
            obs.append("%-28s tcp  header ffffffff + 4 bytes, then silence: %s" % (
                "fragment_2gib_silence", "server closed the connection after %.1f s" % closed if closed is not None
                else "still open after 45 s"))

        # ---- UDP sizes
        for label, dg in (("udp_9000_byte_null", call(X + 9, 0) + b"\0" * (9000 - 40)),
                          ("udp_8800_byte_null", call(X + 10, 0) + b"\0" * (8800 - 40)),
                          ("udp_12_byte", call(X + 11, 0)[:12]),
                          ("udp_trailing_bytes_read", call(X + 12, 2, readargs(1, 0, 5) + b"\xff" * 8))):
            rep, outcome = udp_exchange(port, dg)
            obs.append("%-28s udp  %d-byte datagram: %s" % (label, len(dg), describe_reply(rep) if rep else outcome))
        # the largest WRITE fits easily: 40 + 4012 bytes
    finally:
        rc, out, err = stop_server(srv)
        obs.append("frw_server stdout after the captures: %r; stderr: %r; exit %s" % (out.strip(), err.strip(), rc))


# ---------------------------------------------------------------- clnt_create timing (in netns)
def clnt_create_timing():
    fake = FakeServer(silent=True)
    try:
        # Registered through libtirpc's own pmap_set (rpcb_set over rpcbind's local socket):
        # a PMAPPROC_SET sent over UDP from python was answered TRUE by rpcbind but did not
        # show up in its table.
        import ctypes
        tirpc = ctypes.CDLL("libtirpc.so.3")
        tirpc.pmap_set.argtypes = [ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int, ctypes.c_int]
        tirpc.pmap_unset.argtypes = [ctypes.c_ulong, ctypes.c_ulong]
        tirpc.pmap_unset(PROG, VERS)
        if not tirpc.pmap_set(PROG, VERS, 17, fake.port):
            raise RuntimeError("pmap_set failed")
        t0 = time.monotonic()
        rc, out, err = run_client(["127.0.0.1", "udp", "null"], timeout=60)
        t1 = time.monotonic()
        sends = ["%.2f" % (t - t0) for t, _ in fake.udp_calls]
        print("clnt_create(\"udp\") NULL to a silent server: client exit %d after %.2f s; datagrams at %s s; "
              "client said: %s" % (rc, t1 - t0, ", ".join(sends), out.replace("\n", " | ")))
        tirpc.pmap_unset(PROG, VERS)
    finally:
        fake.close()


# ---------------------------------------------------------------- main
def main():
    global PEER
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--quick", action="store_true", help="skip the ~35 s silent 2 GiB fragment case")
    ap.add_argument("--clnt-create-timing", action="store_true")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["make", "-s", "-C", HERE], check=True, timeout=300)
    if a.clnt_create_timing:
        clnt_create_timing()
        return 0

    def ver(pkg):
        try:
            return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
                                  text=True, timeout=10).stdout.strip() or "?"
        except OSError:
            return "?"
    PEER = "libtirpc %s (Debian libtirpc3), rpcgen %s, on Linux; frw.x = Interop/oncrpc/frw.x" % (
        ver("libtirpc3"), ver("rpcsvc-proto"))
    os.makedirs(a.out, exist_ok=True)
    obs, files = [], []
    capture_calls(a.out, obs, files)
    capture_replies(a.out, obs, files, a.quick)
    text = ["# OBSERVATIONS.txt -- what the libtirpc FILEREADWRITE peer did with each case",
            "# Written by Interop/oncrpc/capture_golden.py%s; peer: %s" % (" --quick" if a.quick else "", PEER),
            "# Columns: case, transport, outcome. Cases with a reply have a <case>_<transport>.hex file.", ""] + obs
    with open(os.path.join(a.out, "OBSERVATIONS.txt"), "w") as fh:
        fh.write("\n".join(text) + "\n")
    print("\n".join(obs))
    print("%d golden files in %s" % (len(files), a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
