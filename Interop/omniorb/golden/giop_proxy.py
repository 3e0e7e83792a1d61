#!/usr/bin/env python3
"""giop_proxy.py LISTEN_PORT TARGET_PORT LOGFILE

A logging TCP proxy on 127.0.0.1 for recording GIOP traffic byte for byte.
Every accepted connection is relayed to 127.0.0.1:TARGET_PORT; every byte in
either direction is relayed unchanged and also appended to LOGFILE (before it
is relayed, so log order follows causality), one JSON object per line:

  {"conn": 1, "dir": "c2s", "seq": 3, "t": 0.0123, "kind": "giop", "hex": "47494f50..."}

"dir" is c2s (client to server) or s2c. The byte stream of each direction is
cut into GIOP messages using the 12-byte header (size field in the byte order
given by bit 0 of octet 6); bytes that do not start with "GIOP" are logged as
kind "raw" up to the end of what has been received. "kind": "eof" records a
half-close (the sender closed its side). Stops on SIGTERM/SIGINT.
"""
import json
import signal
import socket
import struct
import sys
import threading
import time

T0 = time.time()
lock = threading.Lock()
seq = [0]


def log(out, conn, direction, kind, data=b""):
    with lock:
        seq[0] += 1
        out.write(json.dumps({"conn": conn, "dir": direction, "seq": seq[0],
                              "t": round(time.time() - T0, 4), "kind": kind,
                              "hex": data.hex()}) + "\n")
        out.flush()


def pump(src, dst, out, conn, direction):
    buf = b""
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            if buf:
                log(out, conn, direction, "raw", buf)
            log(out, conn, direction, "eof")
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        buf += data
        # Cut complete GIOP messages off the front of buf.
        while True:
            if len(buf) >= 4 and buf[:4] != b"GIOP":
                log(out, conn, direction, "raw", buf)
                buf = b""
                break
            if len(buf) < 12:
                break
            size = struct.unpack("<I" if buf[6] & 1 else ">I", buf[8:12])[0]
            if len(buf) < 12 + size:
                break
            log(out, conn, direction, "giop", buf[:12 + size])
            buf = buf[12 + size:]
        # Relay only after logging, so the log order follows causality (a
        # reply can never be logged before the request that caused it).
        try:
            dst.sendall(data)
        except OSError:
            pass


def main():
    listen_port, target_port, logfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    out = open(logfile, "a")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen_port))
    srv.listen(16)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("PROXY 127.0.0.1:%d -> 127.0.0.1:%d" % (listen_port, target_port), flush=True)
    n = 0
    while True:
        c, _ = srv.accept()
        n += 1
        s = socket.create_connection(("127.0.0.1", target_port))
        for sock in (c, s):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log(out, n, "c2s", "open")
        threading.Thread(target=pump, args=(c, s, out, n, "c2s"), daemon=True).start()
        threading.Thread(target=pump, args=(s, c, out, n, "s2c"), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
