#!/usr/bin/env python3
"""giop_craft.py PORT LOGFILE CASE...

Sends hand-made GIOP messages straight to a GIOP server on 127.0.0.1:PORT (the
omniORB interop_server) and records what goes each way, in the same JSON-lines
format as giop_proxy.py ("dir": "c2s" for what this script sent, "s2c" for
what the server sent back, "kind": "eof" when the server closed). Each CASE
uses a fresh connection and is tagged "case": NAME in the log.

Cases:
  locate_echo_1_2      LocateRequest 1.2 (KeyAddr "Echo")
  locate_missing_1_2   LocateRequest 1.2 (KeyAddr "NoSuchKey")
  locate_echo_1_0      LocateRequest 1.0 ("Echo")
  request_missing_1_2  Request 1.2 add(1, 2) on key "NoSuchKey"
  bad_operation_1_2    Request 1.2 "noSuchOperation" on key "Echo"
  add_be_1_2           Request 1.2 add(2, 40), big-endian
  bad_magic            12 bytes "GIOX" 1.2 header (Request, size 0)
  unknown_type_1_2     GIOP 1.2 header with message type 9 (undefined), size 0
  bad_version          "GIOP" 1.3 Request header, size 0
  huge_length_1_2      GIOP 1.2 Request header with size 0xffffffff (4 GiB - 1)
  over_max_1_2         GIOP 1.2 Request header with size 3 MiB (> giopMaxMsgSize),
                       followed by the first 16384 (zero) bytes of the body only
  bad_key_length_1_2   GIOP 1.2 Request whose key length runs past the message end
  major_2              "GIOP" 2.0 Request header, size 0
  message_error_1_2    a MessageError (type 6) sent TO the server
  hold                 Request 1.2 add(2, 40), then waits up to $HOLD_SECONDS
                       (default 5) for more server messages (e.g. a
                       CloseConnection when the server shuts down)
  hold_1_0             LocateRequest 1.0 for "Echo", then waits like hold
"""
import json
import os
import socket
import struct
import sys
import time

T0 = time.time()


class CDR:
    """Minimal CDR writer; alignment is relative to the start of the GIOP
    message (offset 0 = the "G" of the header), as GIOP requires."""

    def __init__(self, little=True, start=12):
        self.e = "<" if little else ">"
        self.b = bytearray()
        self.start = start  # bytes already in the message (the header)

    def align(self, n):
        while (self.start + len(self.b)) % n:
            self.b.append(0)

    def octet(self, v):
        self.b.append(v & 0xff)

    def ushort(self, v):
        self.align(2)
        self.b += struct.pack(self.e + "H", v)

    def ulong(self, v):
        self.align(4)
        self.b += struct.pack(self.e + "I", v)

    def longlong(self, v):
        self.align(8)
        self.b += struct.pack(self.e + "q", v)

    def octets(self, data):
        self.ulong(len(data))
        self.b += data

    def string(self, s):
        self.octets(s.encode() + b"\0")


def header(minor, msgtype, size, little=True, magic=b"GIOP", major=1, flags=None):
    if flags is None:
        flags = 1 if little else 0
    return magic + bytes([major, minor, flags, msgtype]) + struct.pack("<I" if little else ">I", size)


def message(minor, msgtype, body, little=True):
    return header(minor, msgtype, len(body), little) + bytes(body)


def request_1_2(request_id, key, op, args=b"", little=True, response_flags=3):
    """GIOP 1.2 Request: header fields, KeyAddr target, no service contexts,
    body aligned to 8 (GIOP 1.2 section 15.4.2.2) when there is a body."""
    c = CDR(little)
    c.ulong(request_id)
    c.octet(response_flags)
    c.b += b"\0\0\0"           # reserved
    c.ushort(0)                # TargetAddress discriminator: KeyAddr
    c.octets(key)              # object key
    c.string(op)
    c.ulong(0)                 # service context list: empty
    if args:
        c.align(8)
        c.b += args(c) if callable(args) else args
    return message(2, 0, c.b, little)


def add_args(a, b):
    def enc(c):
        w = CDR(c.e == "<", start=c.start + len(c.b))
        w.longlong(a)
        w.longlong(b)
        return w.b
    return enc


def locate_1_2(request_id, key):
    c = CDR()
    c.ulong(request_id)
    c.ushort(0)                # KeyAddr
    c.octets(key)
    return message(2, 3, c.b)


def bad_key_length_1_2():
    """A 1.2 Request whose object key length (0x1000) runs past the end of
    the (otherwise well-formed) 20-byte message body."""
    c = CDR()
    c.ulong(11)                # request id
    c.octet(3)
    c.b += b"\0\0\0"
    c.ushort(0)                # KeyAddr
    c.ulong(0x1000)            # key length: far more than the message holds
    c.b += b"Echo"
    return message(2, 0, c.b)


def locate_1_0(request_id, key):
    c = CDR()
    c.ulong(request_id)
    c.octets(key)
    return message(0, 3, c.b)


CASES = {
    "locate_echo_1_2": lambda: locate_1_2(5, b"Echo"),
    "locate_missing_1_2": lambda: locate_1_2(6, b"NoSuchKey"),
    "locate_echo_1_0": lambda: locate_1_0(5, b"Echo"),
    "request_missing_1_2": lambda: request_1_2(7, b"NoSuchKey", "add", add_args(1, 2)),
    "bad_operation_1_2": lambda: request_1_2(8, b"Echo", "noSuchOperation"),
    "add_be_1_2": lambda: request_1_2(9, b"Echo", "add", add_args(2, 40), little=False),
    "bad_magic": lambda: header(2, 0, 0, magic=b"GIOX"),
    "unknown_type_1_2": lambda: header(2, 9, 0),
    "bad_version": lambda: header(3, 0, 0),
    "huge_length_1_2": lambda: header(2, 0, 0xffffffff),
    "over_max_1_2": lambda: header(2, 0, 3 * 1024 * 1024) + bytes(16384),
    "bad_key_length_1_2": lambda: bad_key_length_1_2(),
    "major_2": lambda: header(0, 0, 0, major=2),
    "message_error_1_2": lambda: header(2, 6, 0),
    "hold": lambda: request_1_2(10, b"Echo", "add", add_args(2, 40)),
    "hold_1_0": lambda: locate_1_0(12, b"Echo"),
}


def log(out, case, direction, kind, data=b""):
    out.write(json.dumps({"case": case, "conn": case, "dir": direction, "t": round(time.time() - T0, 4),
                          "kind": kind, "hex": data.hex()}) + "\n")
    out.flush()


def run_case(port, out, case):
    wait = float(os.environ.get("HOLD_SECONDS", "5")) if case.startswith("hold") else 2.0
    data = CASES[case]()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    log(out, case, "c2s", "open")
    if data[:4] != b"GIOP":
        kind = "raw"
    elif len(data) == 12 + struct.unpack("<I" if data[6] & 1 else ">I", data[8:12])[0]:
        kind = "giop"
    else:
        kind = "partial"   # header announces more (or fewer) bytes than sent
    log(out, case, "c2s", kind, data)
    s.sendall(data)
    s.settimeout(wait)
    buf = b""
    deadline = time.time() + wait
    summary = []
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            summary.append("no more data (timeout)")
            break
        except ConnectionResetError:
            log(out, case, "s2c", "reset")
            summary.append("connection reset")
            break
        if not chunk:
            log(out, case, "s2c", "eof")
            summary.append("server closed")
            break
        buf += chunk
        while len(buf) >= 12 and buf[:4] == b"GIOP":
            size = struct.unpack("<I" if buf[6] & 1 else ">I", buf[8:12])[0]
            if len(buf) < 12 + size:
                break
            log(out, case, "s2c", "giop", buf[:12 + size])
            summary.append("GIOP %d.%d type %d (%d bytes)" % (buf[4], buf[5], buf[7], 12 + size))
            buf = buf[12 + size:]
            if not case.startswith("hold"):
                # Got an answer: wait only briefly for anything after it (a close).
                deadline = min(deadline, time.time() + 0.5)
                s.settimeout(0.5)
        if buf and buf[:4] != b"GIOP":
            log(out, case, "s2c", "raw", buf)
            buf = b""
    s.close()
    print("%-20s -> %s" % (case, "; ".join(summary)), flush=True)


def main():
    port, logfile, cases = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    with open(logfile, "a") as out:
        for case in cases or [c for c in CASES if not c.startswith("hold")]:
            run_case(port, out, case)


if __name__ == "__main__":
    main()
