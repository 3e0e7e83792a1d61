#!/usr/bin/env python3
"""giop_annotate.py -- field-by-field breakdown of GIOP 1.0/1.1/1.2 messages.

Used by make_golden.py to write the comment block of each golden .hex file,
and usable by hand:  python3 giop_annotate.py HEX [OPERATION]
(OPERATION tells how to decode a Reply body: add, echoBytes, _is_a, ...).

Only what is needed for Bench::Echo (echo.idl) and GIOP's own messages is
decoded: Request, Reply, LocateRequest, LocateReply, CancelRequest,
CloseConnection, MessageError, Fragment; service contexts CodeSets and a few
well-known ids by name; bodies of add, echoBytes, ping, _is_a, _non_existent
and system exceptions. Everything else is shown as raw octets.
"""
import re
import struct
import sys

MSG_TYPES = {0: "Request", 1: "Reply", 2: "CancelRequest", 3: "LocateRequest",
             4: "LocateReply", 5: "CloseConnection", 6: "MessageError", 7: "Fragment"}
REPLY_STATUS = {0: "NO_EXCEPTION", 1: "USER_EXCEPTION", 2: "SYSTEM_EXCEPTION",
                3: "LOCATION_FORWARD", 4: "LOCATION_FORWARD_PERM", 5: "NEEDS_ADDRESSING_MODE"}
LOCATE_STATUS = {0: "UNKNOWN_OBJECT", 1: "OBJECT_HERE", 2: "OBJECT_FORWARD",
                 3: "OBJECT_FORWARD_PERM", 4: "LOC_SYSTEM_EXCEPTION", 5: "LOC_NEEDS_ADDRESSING_MODE"}
SERVICE_CONTEXTS = {0: "TransactionService", 1: "CodeSets", 2: "ChainBypassCheck",
                    3: "ChainBypassInfo", 4: "LogicalThreadId", 5: "BI_DIR_IIOP",
                    6: "SendingContextRunTime", 7: "INVOCATION_POLICIES", 8: "FORWARDED_IDENTITY",
                    9: "UnknownExceptionInfo", 10: "RTCorbaPriority", 11: "RTCorbaPriorityRange",
                    15: "ExceptionDetailMessage", 0x4f4d0000: "omniORB?"}
CODESETS = {0x00010001: "ISO-8859-1", 0x05010001: "UTF-8", 0x00010109: "UTF-16",
            0x00010100: "UCS-2", 0x00010106: "UCS-4"}
COMPLETION = {0: "COMPLETED_YES", 1: "COMPLETED_NO", 2: "COMPLETED_MAYBE"}
# Minor codes seen in this capture, named as omniORB's own trace names them
# ("throw OBJECT_NOT_EXIST from GIOP_S.cc:271 (NO,OBJECT_NOT_EXIST_NoMatch)").
MINOR_NAMES = {0x4f4d0001: "OMG minor 1; omniORB: OBJECT_NOT_EXIST_NoMatch",
               0x41540026: "omniORB vendor minor 0x26; omniORB: BAD_OPERATION_UnRecognisedOperationName"}


class Truncated(Exception):
    def __init__(self, desc):
        # desc may be a format string ("request_id = {v}"): keep the field name.
        Exception.__init__(self, re.split(r" = | length", desc)[0].strip())


class Decoder:
    def __init__(self, msg, op=None):
        self.m = msg
        self.pos = 0
        self.rows = []          # (offset, raw bytes, description)
        self.op = op            # operation, for decoding Reply bodies
        self.little = True
        self.info = {}          # summary: version, type, request_id, op, ...

    # --- primitives -----------------------------------------------------
    def take(self, n, desc):
        if self.pos + n > len(self.m):
            raise Truncated(desc)
        raw = self.m[self.pos:self.pos + n]
        self.rows.append((self.pos, raw, desc))
        self.pos += n
        return raw

    def align(self, n, what="alignment padding"):
        pad = (-self.pos) % n
        if pad and self.pos < len(self.m):
            pad = min(pad, len(self.m) - self.pos)
            raw = self.m[self.pos:self.pos + pad]
            note = "" if raw == bytes(pad) else "  (NOT zero: omniORB leaves stale buffer bytes in padding)"
            self.take(pad, "%s to %d-byte boundary%s" % (what, n, note))

    def u(self, fmt, size, desc):
        self.align(size)
        raw = self.m[self.pos:self.pos + size]
        if len(raw) < size:
            raise Truncated(desc)
        v = struct.unpack(("<" if self.little else ">") + fmt, raw)[0]
        return v, raw

    def octet(self, desc):
        v = self.take(1, "")[0]
        self.rows[-1] = (self.rows[-1][0], self.rows[-1][1], desc.format(v=v))
        return v

    def ushort(self, desc):
        v, _ = self.u("H", 2, desc)
        self.take(2, desc.format(v=v))
        return v

    def ulong(self, desc):
        v, _ = self.u("I", 4, desc)
        self.take(4, desc.format(v=v, x=v))
        return v

    def longlong(self, desc):
        v, _ = self.u("q", 8, desc)
        self.take(8, desc.format(v=v))
        return v

    def string(self, desc):
        n = self.ulong("string length = {v} (including the terminating NUL)")
        if n == 0:
            self.rows.append((self.pos, b"", "%s: length 0, not even a NUL (invalid CDR string)" % desc))
            return ""
        s = self.take(n, "")
        if s.endswith(b"\0"):
            text = s[:-1].decode("latin-1")
            self.rows[-1] = (self.rows[-1][0], s, '%s = "%s" + NUL' % (desc, text))
        else:
            text = s.decode("latin-1")
            self.rows[-1] = (self.rows[-1][0], s, '%s = "%s" (NO terminating NUL: invalid)' % (desc, text))
        return text

    def octet_seq(self, desc, allow_truncated=False):
        n = self.ulong(desc + " length = {v}")
        avail = len(self.m) - self.pos
        if n > avail:
            if not allow_truncated:
                raise Truncated(desc)
            self.take(avail, "%s: first %d of %d octets%s (the rest follows in Fragment message(s))"
                      % (desc, avail, n, pattern_note(self.m[self.pos:self.pos + avail])))
            return None
        data = self.take(n, "")
        shown = '"%s"' % data.decode("latin-1") if data and all(32 <= b < 127 for b in data) else ""
        self.rows[-1] = (self.rows[-1][0], data, ("%s = %d octets %s%s" % (desc, n, shown, pattern_note(data))).rstrip())
        return data

    def boolean(self, desc):
        return self.octet(desc + " = {v}")

    def rest(self, desc):
        if self.pos < len(self.m):
            self.take(len(self.m) - self.pos, desc)

    # --- GIOP structures -------------------------------------------------
    def header(self):
        self.take(4, 'magic = "%s"' % self.m[:4].decode("latin-1"))
        major, minor, flags, mtype = self.m[4], self.m[5], self.m[6], self.m[7]
        self.take(2, "GIOP version = %d.%d" % (major, minor))
        self.little = bool(flags & 1)
        if minor == 0:
            fl = "byte_order = %d (%s-endian)" % (flags, "little" if flags & 1 else "big")
        else:
            fl = "flags = 0x%02x: bit0 byte order = %s-endian, bit1 more fragments = %d" % (
                flags, "little" if flags & 1 else "big", (flags >> 1) & 1)
        self.take(1, fl)
        self.take(1, "message type = %d (%s)" % (mtype, MSG_TYPES.get(mtype, "undefined")))
        size = self.ulong("message size = {v} (bytes after this 12-byte header)")
        self.info.update(version="%d.%d" % (major, minor), minor=minor, type=mtype,
                         type_name=MSG_TYPES.get(mtype, "type %d" % mtype), size=size,
                         little=self.little, fragment=bool(flags & 2) and minor > 0)
        if len(self.m) != 12 + size:
            self.info["length_mismatch"] = True

    def service_contexts(self):
        n = self.ulong("service context list: count = {v}")
        ids = []
        for i in range(n):
            cid = self.ulong("  [%d] context_id = {v} (0x{x:08x}) " % i)
            name = SERVICE_CONTEXTS.get(cid, "unknown")
            off, raw, d = self.rows[-1]
            self.rows[-1] = (off, raw, d + name)
            ids.append(name)
            ln = self.ulong("  [%d] context_data length = {v} (an encapsulation)" % i)
            if cid == 1 and ln >= 12:
                enc = self.m[self.pos:self.pos + ln]
                bo = enc[0]
                e = "<" if bo & 1 else ">"
                cs, wcs = struct.unpack(e + "II", enc[4:12])
                self.take(1, "  [%d]   encapsulation byte order = %d (%s-endian)" % (i, bo, "little" if bo & 1 else "big"))
                self.take(3, "  [%d]   padding to 4" % i)
                self.take(4, "  [%d]   char_data (TCS-C) = 0x%08x %s" % (i, cs, CODESETS.get(cs, "")))
                self.take(4, "  [%d]   wchar_data (TCS-W) = 0x%08x %s" % (i, wcs, CODESETS.get(wcs, "")))
                if ln > 12:
                    self.take(ln - 12, "  [%d]   more context data" % i)
            else:
                self.take(ln, "  [%d]   context_data" % i)
        self.info["service_contexts"] = ids

    def target_address(self):
        disc = self.ushort("TargetAddress discriminator = {v} (0 KeyAddr, 1 ProfileAddr, 2 ReferenceAddr)")
        if disc == 0:
            self.info["key"] = self.octet_seq("object key")
        else:
            self.rest("target address data (not decoded)")

    def request(self):
        minor = self.info["minor"]
        if minor < 2:
            self.service_contexts()
            self.info["request_id"] = self.ulong("request_id = {v}")
            self.info["response"] = self.octet("response_expected = {v}")
            if minor == 1:
                self.take(3, "reserved[3]" + ("" if self.m[self.pos:self.pos + 3] == b"\0\0\0" else
                                              "  (NOT zero: stale buffer bytes)"))
            self.info["key"] = self.octet_seq("object_key")
            self.info["op"] = self.string("operation")
            self.octet_seq("requesting_principal")
            # GIOP 1.0/1.1: the body follows directly, with ordinary CDR alignment.
        else:
            self.info["request_id"] = self.ulong("request_id = {v}")
            self.info["response"] = self.octet(
                "response_flags = {v} (0 oneway/SYNC_NONE, 1 SYNC_WITH_SERVER, 3 SYNC_WITH_TARGET: reply expected)")
            self.take(3, "reserved[3]" + ("" if self.m[self.pos:self.pos + 3] == b"\0\0\0" else
                                          "  (NOT zero: stale buffer bytes)"))
            self.target_address()
            self.info["op"] = self.string("operation")
            self.service_contexts()
            if self.pos < len(self.m):
                self.align(8, "body alignment padding (GIOP 1.2: body starts 8-aligned)")
        self.request_body(self.info["op"])

    def request_body(self, op):
        if self.pos >= len(self.m):
            if op not in ("ping", "_non_existent", "_not_existent", "noSuchOperation"):
                self.rows.append((self.pos, b"", "(no body bytes in this message)"))
            else:
                self.rows.append((self.pos, b"", "(empty body: %s has no in-parameters)" % op))
            return
        if op == "add":
            self.longlong("in long long a = {v}")
            self.longlong("in long long b = {v}")
        elif op == "echoBytes":
            self.octet_seq("in Bytes data", allow_truncated=True)
        elif op == "_is_a":
            self.string("in string logical_type_id")
        self.rest("body (not decoded)")

    def reply(self):
        minor = self.info["minor"]
        if minor < 2:
            self.service_contexts()
            self.info["request_id"] = self.ulong("request_id = {v}")
            st = self.ulong("reply_status = {v}")
        else:
            self.info["request_id"] = self.ulong("request_id = {v}")
            st = self.ulong("reply_status = {v}")
        off, raw, d = self.rows[-1]
        self.rows[-1] = (off, raw, d + " (%s)" % REPLY_STATUS.get(st, "?"))
        self.info["status"] = REPLY_STATUS.get(st, str(st))
        if minor == 2:
            self.service_contexts()
            if self.pos < len(self.m):
                self.align(8, "body alignment padding (GIOP 1.2: body starts 8-aligned)")
        if self.pos >= len(self.m):
            self.rows.append((self.pos, b"", "(empty body: void result, no out-parameters)"))
            return
        if st == 0:
            op = self.op
            if op == "add":
                self.longlong("result long long = {v}")
            elif op == "echoBytes":
                self.octet_seq("result Bytes", allow_truncated=True)
            elif op in ("_is_a", "_non_existent", "_not_existent"):
                self.boolean("result boolean")
        elif st == 2:
            self.info["exception"] = self.string("exception repository id")
            minor_code = self.ulong("minor code = 0x{x:08x}")
            off, raw, d = self.rows[-1]
            vendor = minor_code & 0xfffff000
            name = MINOR_NAMES.get(minor_code, "OMG standard" if vendor == 0x4f4d0000 else
                                   "omniORB vendor (VMCID 0x41540000 'AT')" if vendor == 0x41540000 else "")
            self.rows[-1] = (off, raw, d + " " + name)
            self.info["minor_code"] = minor_code
            c = self.ulong("completion_status = {v}")
            off, raw, d = self.rows[-1]
            self.rows[-1] = (off, raw, d + " (%s)" % COMPLETION.get(c, "?"))
        elif st == 1:
            self.string("exception repository id")
        self.rest("body (not decoded)")

    def locate_request(self):
        self.info["request_id"] = self.ulong("request_id = {v}")
        if self.info["minor"] < 2:
            self.info["key"] = self.octet_seq("object_key")
        else:
            self.target_address()

    def locate_reply(self):
        self.info["request_id"] = self.ulong("request_id = {v}")
        st = self.ulong("locate_status = {v}")
        off, raw, d = self.rows[-1]
        self.rows[-1] = (off, raw, d + " (%s)" % LOCATE_STATUS.get(st, "?"))
        self.info["status"] = LOCATE_STATUS.get(st, str(st))
        self.rest("locate reply body (not decoded)")

    def fragment(self):
        if self.info["minor"] >= 2:
            self.info["request_id"] = self.ulong("request_id = {v} (GIOP 1.2 FragmentHeader)")
        if self.pos < len(self.m):
            data = self.m[self.pos:]
            self.take(len(data), "continuation of the fragmented message: %d octets%s" % (len(data), pattern_note(data)))
        else:
            self.rows.append((self.pos, b"", "(no data: an empty final fragment)"))

    def decode(self):
        try:
            self.header()
            t = self.info["type"]
            if self.m[:4] != b"GIOP":
                self.rest("(not a GIOP message)")
            elif t == 0:
                self.request()
            elif t == 1:
                self.reply()
            elif t == 2:
                self.info["request_id"] = self.ulong("request_id = {v}")
            elif t == 3:
                self.locate_request()
            elif t == 4:
                self.locate_reply()
            elif t == 7:
                self.fragment()
            else:
                self.rest("(data)")
            if self.pos < len(self.m):
                self.rest("trailing bytes")
        except Truncated as e:
            self.rows.append((self.pos, b"", "(the bytes present end here, inside %s)" % e))
            self.rest("remaining bytes")
        if self.info.get("length_mismatch"):
            self.rows.append((len(self.m), b"", "(incomplete message: the header announces %d body bytes, %d are present)"
                              % (self.info["size"], len(self.m) - 12)))
        return self.info

    def has_stale_padding(self):
        return any("NOT zero" in d for _, _, d in self.rows)

    def lines(self):
        out = []
        for off, raw, desc in self.rows:
            if len(raw) <= 8:
                hx = raw.hex(" ")
            else:
                hx = raw[:6].hex(" ") + " .."
            out.append("%5d  %-23s %s" % (off, hx, desc))
        return out


def pattern_note(data):
    if len(data) > 16:
        if all(b == (data[0] + i) & 0xff for i, b in enumerate(data)):
            return " (values %02x %02x %02x .. %02x, incrementing mod 256)" % (data[0], data[1], data[2], data[-1])
        return " (%s .. %s)" % (data[:8].hex(" "), data[-4:].hex(" "))
    return ""


def hex_lines(msg, per_line=16):
    out = []
    for i in range(0, len(msg), per_line):
        chunk = msg[i:i + per_line]
        out.append(" ".join(chunk[j:j + 4].hex() for j in range(0, len(chunk), 4)))
    return out


if __name__ == "__main__":
    d = Decoder(bytes.fromhex("".join(sys.argv[1].split())), sys.argv[2] if len(sys.argv) > 2 else None)
    print(d.decode())
    print("\n".join(d.lines()))


def ior_breakdown(ior_text):
    """Field-by-field breakdown of a stringified IOR ("IOR:" + hex of a CDR
    encapsulation). Offsets are from the start of the encapsulation; nested
    encapsulations (profile body, components) restart alignment at their own
    start, as CDR requires."""
    data = bytes.fromhex(ior_text.strip()[4:])
    rows = []

    class R:
        def __init__(self, buf, base, little):
            self.b, self.base, self.p, self.e = buf, base, 0, "<" if little else ">"

        def take(self, n, desc):
            rows.append((self.base + self.p, self.b[self.p:self.p + n], desc))
            self.p += n
            return self.b[self.p - n:self.p]

        def align(self, n):
            pad = (-self.p) % n
            if pad:
                self.take(pad, "padding to %d" % n)

        def ulong(self, desc):
            self.align(4)
            v = struct.unpack(self.e + "I", self.b[self.p:self.p + 4])[0]
            self.take(4, desc % v if "%" in desc else desc)
            return v

        def ushort(self, desc):
            self.align(2)
            v = struct.unpack(self.e + "H", self.b[self.p:self.p + 2])[0]
            self.take(2, desc % v)
            return v

        def string(self, desc):
            n = self.ulong("string length = %d")
            s = self.take(n, "")
            rows[-1] = (rows[-1][0], s, '%s = "%s" + NUL' % (desc, s[:-1].decode("latin-1")))
            return s[:-1].decode("latin-1")

        def octets(self, desc):
            n = self.ulong(desc + " length = %d")
            return self.take(n, desc)

    top = R(data, 0, data[0] & 1)
    top.take(1, "encapsulation byte order = %d (%s-endian)" % (data[0], "little" if data[0] & 1 else "big"))
    top.string("type_id")
    nprof = top.ulong("profile count = %d")
    for i in range(nprof):
        tag = top.ulong("profile[%d] tag = %%d (0 = TAG_INTERNET_IOP)" % i)
        n = top.ulong("profile[%d] profile_data length = %%d (an encapsulation)" % i)
        start = top.p
        body = data[start:start + n]
        if tag != 0:
            top.take(n, "profile data (not decoded)")
            continue
        top.p += n
        pr = R(body, start, body[0] & 1)
        pr.take(1, "  IIOP profile: encapsulation byte order = %d" % body[0])
        pr.take(2, "  IIOP version = %d.%d" % (body[1], body[2]))
        pr.string("  host")
        pr.ushort("  port = %d")
        key = pr.octets("  object_key")
        rows[-1] = (rows[-1][0], key, '  object_key = "%s"' % key.decode("latin-1"))
        if body[2] >= 1:
            nc = pr.ulong("  tagged component count = %d")
            for j in range(nc):
                ctag = pr.ulong("  component[%d] tag = %%d" % j)
                cn = pr.ulong("  component[%d] data length = %%d (an encapsulation)" % j)
                cdata = body[pr.p:pr.p + cn]
                cbase = start + pr.p
                pr.p += cn
                c = R(cdata, cbase, cdata[0] & 1)
                c.take(1, "    encapsulation byte order = %d" % cdata[0])
                if ctag == 0:
                    v = c.ulong("    TAG_ORB_TYPE: ORB type = 0x%08x")
                    rows[-1] = (rows[-1][0], rows[-1][1], rows[-1][2] + ' ("%s", omniORB)' % struct.pack(">I", v).decode("latin-1").replace("\0", "\\0"))
                elif ctag == 1:
                    v = c.ulong("    TAG_CODE_SETS: char native code set = 0x%08x")
                    rows[-1] = (rows[-1][0], rows[-1][1], rows[-1][2] + " " + CODESETS.get(v, ""))
                    k = c.ulong("    char conversion code sets: count = %d")
                    for _ in range(k):
                        v = c.ulong("      conversion code set = 0x%08x")
                        rows[-1] = (rows[-1][0], rows[-1][1], rows[-1][2] + " " + CODESETS.get(v, ""))
                    v = c.ulong("    wchar native code set = 0x%08x")
                    rows[-1] = (rows[-1][0], rows[-1][1], rows[-1][2] + " " + CODESETS.get(v, ""))
                    k = c.ulong("    wchar conversion code sets: count = %d")
                    for _ in range(k):
                        v = c.ulong("      conversion code set = 0x%08x")
                        rows[-1] = (rows[-1][0], rows[-1][1], rows[-1][2] + " " + CODESETS.get(v, ""))
                else:
                    c.take(cn - 1, "    component data (not decoded)")
    out = []
    for off, raw, desc in rows:
        hx = raw.hex(" ") if len(raw) <= 8 else raw[:6].hex(" ") + " .."
        out.append("%5d  %-23s %s" % (off, hx, desc))
    return out
