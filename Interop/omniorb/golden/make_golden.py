#!/usr/bin/env python3
"""make_golden.py RAWDIR OUTDIR

Cuts single GIOP messages out of the JSON-lines logs that capture.sh wrote into
RAWDIR (giop_proxy.py and giop_craft.py format) and writes one OUTDIR/<case>.hex
per golden case: comment lines (#) describing how it was captured, who sent
it, GIOP version, byte order and a field-by-field breakdown (giop_annotate.py),
followed by the message bytes as lowercase hex, 16 bytes per line. A case made
of several messages (a fragmented request: Request + Fragment...) has the
messages one after the other, each introduced by a "# --- message N" line.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from giop_annotate import Decoder, hex_lines, ior_breakdown  # noqa: E402

CLIENT = "omniORB 4.2.5 client (golden_client, Interop/omniorb/golden_client.cc)"
SERVER = "omniORB 4.2.5 server (interop_server, Interop/omniorb/interop_server.cc)"
CRAFT = "giop_craft.py (hand-made message, not omniORB)"
VIA_PROXY = ("golden_client -> giop_proxy.py -> interop_server on 127.0.0.1; bytes as logged by the "
             "proxy (verify_golden.py checks them against omniORB's own -ORBtraceLevel 40 hex dumps)")
VIA_CRAFT = "giop_craft.py sent a hand-made message straight to interop_server; bytes as sent/received by the script"


class Msg:
    def __init__(self, rec, index):
        self.rec = rec
        self.index = index
        self.conn = rec["conn"]
        self.dir = rec["dir"]
        self.kind = rec["kind"]
        self.data = bytes.fromhex(rec["hex"])
        self.op = None
        self.info = {}
        if self.kind in ("giop", "partial") and len(self.data) >= 12:
            self.info = Decoder(self.data).decode()

    @property
    def type(self):
        return self.info.get("type_name")


class Log:
    def __init__(self, path):
        self.path = path
        self.msgs = []
        with open(path) as f:
            for i, line in enumerate(f):
                self.msgs.append(Msg(json.loads(line), i))
        # Give replies the operation of their request (same connection, same id).
        ops = {}
        for m in self.msgs:
            if m.dir == "c2s" and m.type == "Request":
                m.op = m.info.get("op")
                ops[(m.conn, m.info.get("request_id"))] = m.op
            elif m.dir == "c2s" and m.type == "LocateRequest":
                m.op = "(locate)"
                ops[(m.conn, m.info.get("request_id"))] = m.op
        for m in self.msgs:
            if m.dir == "s2c" and m.type in ("Reply", "LocateReply"):
                m.op = ops.get((m.conn, m.info.get("request_id")))

    def find(self, direction, mtype, op=None, nth=0, case=None, pred=None):
        hits = [m for m in self.msgs
                if m.dir == direction and m.type == mtype and (op is None or m.op == op)
                and (case is None or m.rec.get("case") == case) and (pred is None or pred(m))]
        if len(hits) <= nth:
            raise LookupError("%s: no %s %s op=%s case=%s #%d" % (self.path, direction, mtype, op, case, nth))
        return hits[nth]

    def reply_to(self, req):
        want = "LocateReply" if req.type == "LocateRequest" else "Reply"
        for m in self.msgs[req.index + 1:]:
            if m.dir == "s2c" and m.conn == req.conn and m.type == want \
                    and m.info.get("request_id") == req.info.get("request_id"):
                return m
        raise LookupError("%s: no reply to request id %s" % (self.path, req.info.get("request_id")))

    def with_fragments(self, first):
        """first, plus the Fragment messages that complete it (same connection
        and direction, until one without the more-fragments flag)."""
        out = [first]
        if not first.info.get("fragment"):
            return out
        for m in self.msgs[first.index + 1:]:
            if m.conn == first.conn and m.dir == first.dir and m.type == "Fragment":
                out.append(m)
                if not m.info.get("fragment"):
                    break
        return out

    def after(self, m, direction, kind=None, mtype=None):
        for x in self.msgs[m.index + 1:]:
            if x.conn == m.conn and x.dir == direction and (kind is None or x.kind == kind) \
                    and (mtype is None or x.type == mtype):
                return x
        raise LookupError("%s: nothing after #%d" % (self.path, m.index))


def describe(msgs, op_for_body):
    """Comment lines: one breakdown per message; and whether any padding or
    reserved bytes are not zero."""
    lines = []
    stale = False
    for i, m in enumerate(msgs):
        d = Decoder(m.data, op_for_body)
        info = d.decode()
        stale = stale or d.has_stale_padding()
        if len(msgs) > 1:
            lines.append("--- message %d of %d: %s, %d bytes" % (i + 1, len(msgs), info.get("type_name"), len(m.data)))
        lines.extend(d.lines())
    return lines, stale


def write_case(outdir, name, msgs, title, sender, receiver, how, notes=(), op=None):
    first = msgs[0].info
    order = "little-endian" if first.get("little") else "big-endian"
    total = sum(len(m.data) for m in msgs)
    head = [
        "%s -- %s" % (name, title),
        "",
        "Captured by: golden/capture.sh: %s." % how,
        "Sent by:     %s" % sender,
        "Sent to:     %s" % receiver,
        "GIOP %s, %s, %d message(s), %d bytes in all." % (first.get("version"), order, len(msgs), total),
    ]
    if len(msgs) > 1:
        head.append("Fragmented: the first message has the more-fragments flag set; the Fragment messages that "
                    "complete it follow.")
    body, stale = describe(msgs, op)
    if stale:
        notes = list(notes) + ["Some padding/reserved bytes here are NOT zero: omniORB leaves stale buffer "
                               "contents in alignment padding and in GIOP 1.1 reserved[3], so these bytes can "
                               "differ between captures and a decoder must ignore them (marked below)."]
    for n in notes:
        head.append("Note: " + n)
    head += ["", "Field-by-field (offset from the start of the message, bytes, meaning):"]
    text = ["# " + l if l else "#" for l in head + body]
    for i, m in enumerate(msgs):
        if len(msgs) > 1:
            text.append("# --- message %d: %s" % (i + 1, m.type))
        text.extend(hex_lines(m.data))
    path = os.path.join(outdir, name + ".hex")
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")
    print("wrote %-34s %6d bytes, %d message(s)" % (name + ".hex", total, len(msgs)))


def main():
    raw, out = sys.argv[1], sys.argv[2]
    L = {}

    def log(name):
        if name not in L:
            L[name] = Log(os.path.join(raw, name + ".jsonl"))
        return L[name]

    # --- omniORB client <-> omniORB server, GIOP 1.0 / 1.1 / 1.2 -----------
    for v in ("1_0", "1_1", "1_2"):
        lg = log("giop_" + v)
        ver = v.replace("_", ".")
        call = "golden_client file:IOR %s narrow add:2:40 echo:16 ping non_existent is_a:... (-ORBmaxGIOPVersion %s)" % (ver, ver)
        how = VIA_PROXY + "; client run as: " + call
        req = lg.find("c2s", "Request", "add")
        sc = "The CodeSets service context is sent on the first Request of the connection only (GIOP 1.1+)." \
            if req.info.get("service_contexts") else "No service contexts."
        write_case(out, "request_add_" + v, [req], "Request add(2, 40) on key \"Echo\"", CLIENT, SERVER, how,
                   [sc, "Expected reply: reply_add_%s.hex (result 42)." % v])
        write_case(out, "reply_add_" + v, [lg.reply_to(req)], "Reply to add(2, 40): NO_EXCEPTION, result 42",
                   SERVER, CLIENT, how, ["Answers request_add_%s.hex." % v], op="add")
        req = lg.find("c2s", "Request", "echoBytes")
        write_case(out, "request_echo16_" + v, [req], "Request echoBytes(16 octets 00 01 .. 0f) on key \"Echo\"",
                   CLIENT, SERVER, how, [])
        write_case(out, "reply_echo16_" + v, [lg.reply_to(req)], "Reply to echoBytes: the same 16 octets",
                   SERVER, CLIENT, how, op="echoBytes")
        req = lg.find("c2s", "Request", "ping")
        write_case(out, "request_ping_" + v, [req], "Request ping() -- oneway, no reply is sent",
                   CLIENT, SERVER, how, ["GIOP 1.0/1.1: response_expected = 0; GIOP 1.2: response_flags = 0."])
        req = lg.find("c2s", "LocateRequest")
        write_case(out, "locate_request_" + v, [req],
                   "LocateRequest for key \"Echo\", sent by omniORB before the first call on an IOR-derived reference",
                   CLIENT, SERVER, how, ["omniORB sends it because verifyObjectExistsAndType=1 (default) and "
                                         "the object is not yet known to exist. For a corbaloc reference _narrow "
                                         "sends _is_a instead (request_is_a_1_2.hex) and no LocateRequest follows; "
                                         "after _unchecked_narrow a LocateRequest is sent "
                                         "(locate_request_unknown_1_2.hex)."])
        write_case(out, "locate_reply_" + v, [lg.reply_to(req)], "LocateReply OBJECT_HERE for key \"Echo\"",
                   SERVER, CLIENT, how)
        req = lg.find("c2s", "Request", "_is_a")
        write_case(out, "request_is_a_other_" + v, [req], "Request _is_a(\"IDL:Other:1.0\") (explicit call)",
                   CLIENT, SERVER, how, ["_is_a(\"IDL:Bench/Echo:1.0\") was answered locally by the client "
                                         "(the IOR's type id matches), so only this one went on the wire."])
        write_case(out, "reply_is_a_other_" + v, [lg.reply_to(req)], "Reply to _is_a(\"IDL:Other:1.0\"): false",
                   SERVER, CLIENT, how, op="_is_a")
        req = lg.find("c2s", "Request", "_non_existent")
        write_case(out, "request_non_existent_" + v, [req], "Request _non_existent()", CLIENT, SERVER, how,
                   ["omniORB uses the operation name \"_non_existent\" for every GIOP version."])
        write_case(out, "reply_non_existent_" + v, [lg.reply_to(req)], "Reply to _non_existent(): false",
                   SERVER, CLIENT, how, op="_non_existent")

    lg = log("giop_1_2")
    cc = lg.find("c2s", "CloseConnection")
    write_case(out, "close_connection_client_1_2", [cc],
               "CloseConnection sent by the omniORB CLIENT when its ORB is destroyed (GIOP 1.2 connection)",
               CLIENT, SERVER, VIA_PROXY,
               ["The client sends it only on GIOP 1.2 connections; with -ORBmaxGIOPVersion 1.0 or 1.1 it just "
                "closes the socket. The server then closes its side without replying."])

    # --- _is_a on narrow of a corbaloc reference -----------------------------
    lg = log("corbaloc_1_2")
    how = VIA_PROXY + "; client run as: golden_client corbaloc::1.2@127.0.0.1:PROXYPORT/Echo 1.2 narrow add:2:40"
    req = lg.find("c2s", "Request", "_is_a")
    write_case(out, "request_is_a_1_2", [req], "Request _is_a(\"IDL:Bench/Echo:1.0\") sent by Bench::Echo::_narrow",
               CLIENT, SERVER, how,
               ["A corbaloc reference carries no type id, so _narrow asks the server. With an IOR that "
                "names IDL:Bench/Echo:1.0, _narrow sends nothing.",
                "No CodeSets service context: a corbaloc reference has no TAG_CODE_SETS component, so omniORB "
                "does not negotiate code sets (compare request_add_1_2.hex, from an IOR)."])
    write_case(out, "reply_is_a_1_2", [lg.reply_to(req)], "Reply to _is_a(\"IDL:Bench/Echo:1.0\"): true",
               SERVER, CLIENT, how, op="_is_a")
    lg = log("corbaloc_default")
    req = lg.find("c2s", "Request", "_is_a")
    write_case(out, "request_is_a_corbaloc_default", [req],
               "Request _is_a sent by _narrow for corbaloc::127.0.0.1:PORT/Echo (no version in the URL)",
               CLIENT, SERVER, VIA_PROXY + "; client run with -ORBmaxGIOPVersion 1.2",
               ["GIOP 1.0 is used although the client allows 1.2: a corbaloc address without \"1.x@\" means "
                "IIOP 1.0."])

    # --- missing object: omniORB's client locates first ---------------------
    lg = log("missing_1_2")
    how = VIA_PROXY + "; client run as: golden_client corbaloc::1.2@127.0.0.1:PROXYPORT/NoSuchKey 1.2 add:1:2"
    req = lg.find("c2s", "LocateRequest")
    write_case(out, "locate_request_unknown_1_2", [req], "LocateRequest for key \"NoSuchKey\"", CLIENT, SERVER, how,
               ["omniORB's client sends this before add() on an _unchecked_narrow'ed corbaloc reference.",
                "After the UNKNOWN_OBJECT reply the client raises OBJECT_NOT_EXIST (minor 0x4f4d0001, "
                "COMPLETED_NO) itself and never sends the add Request."])
    write_case(out, "locate_reply_unknown_1_2", [lg.reply_to(req)], "LocateReply UNKNOWN_OBJECT for key \"NoSuchKey\"",
               SERVER, CLIENT, how)

    # --- fragmentation -------------------------------------------------------
    for v, sizes in (("1_2", (9000, 16384)), ("1_1", (9000, 16384)), ("1_0", (9000,))):
        lg = log("frag_" + v)
        how = VIA_PROXY + "; client run as: golden_client file:IOR %s %s" % (
            v.replace("_", "."), " ".join("echo:%d" % n for n in sizes))
        for nth, n in enumerate(sizes):
            req = lg.find("c2s", "Request", "echoBytes", nth=nth)
            msgs = lg.with_fragments(req)
            if v == "1_0":
                note = "GIOP 1.0 has no fragments: omniORB sends one message however large."
            elif n == 9000:
                note = ("omniORB's buffers are 8192 bytes: the first message is exactly 8192 bytes "
                        "(more-fragments flag set), the Fragment carries the rest.")
            elif v == "1_2":
                note = ("For a large octet sequence (16384 bytes and more here) omniORB sends the data in place: "
                        "the first message holds all but the last 4 octets (its length is kept a multiple of 8, "
                        "as GIOP 1.2 requires for non-final fragments) and a small final Fragment the rest.")
            else:
                note = ("For a large octet sequence (16384 bytes and more here) omniORB sends the data in place "
                        "with the more-fragments flag set, then an EMPTY final Fragment (size 0).")
            write_case(out, "request_echo%d_%s" % (n, v), msgs, "Request echoBytes(%d octets 00 01 02 ..)" % n,
                       CLIENT, SERVER, how, [note])
            if n == 9000:
                rep = lg.reply_to(req)
                write_case(out, "reply_echo%d_%s" % (n, v), lg.with_fragments(rep),
                           "Reply to echoBytes(%d octets): the same octets" % n, SERVER, CLIENT, how, [note],
                           op="echoBytes")

    # --- hand-made requests to the omniORB server ---------------------------
    lg = log("crafted")

    def crafted(case, req_name, rep_name, title_req, title_rep, notes_req=(), notes_rep=(), op=None):
        req = lg.find("c2s", lg_type(case), case=case)
        if req_name:
            write_case(out, req_name, [req], title_req, CRAFT, SERVER, VIA_CRAFT + " (case %s)" % case, notes_req)
        rep = lg.after(req, "s2c", kind="giop")
        write_case(out, rep_name, [rep], title_rep, SERVER, CRAFT, VIA_CRAFT + " (case %s)" % case, notes_rep, op=op)
        return rep

    def lg_type(case):
        for m in lg.msgs:
            if m.rec.get("case") == case and m.dir == "c2s" and m.type:
                return m.type
        raise LookupError(case)

    crafted("locate_echo_1_2", None, "locate_reply_crafted_1_2", "", "LocateReply OBJECT_HERE to a hand-made "
            "LocateRequest 1.2 (request id 5, KeyAddr \"Echo\")")
    crafted("locate_missing_1_2", None, "locate_reply_unknown_crafted_1_2", "",
            "LocateReply UNKNOWN_OBJECT to a hand-made LocateRequest 1.2 (request id 6, KeyAddr \"NoSuchKey\")")
    crafted("request_missing_1_2", "request_object_not_exist_1_2", "reply_object_not_exist_1_2",
            "Hand-made Request 1.2 add(1, 2) on key \"NoSuchKey\" (request id 7)",
            "Reply SYSTEM_EXCEPTION OBJECT_NOT_EXIST to a request for key \"NoSuchKey\"",
            notes_rep=["omniORB's trace names the minor code OBJECT_NOT_EXIST_NoMatch (0x4f4d0001, i.e. OMG "
                       "standard minor 1) and the completion status COMPLETED_NO.",
                       "The connection stays open afterwards."])
    crafted("bad_operation_1_2", "request_bad_operation_1_2", "reply_bad_operation_1_2",
            "Hand-made Request 1.2 \"noSuchOperation\" (no arguments) on key \"Echo\" (request id 8)",
            "Reply SYSTEM_EXCEPTION BAD_OPERATION to an unknown operation name",
            notes_rep=["minor 0x41540026: omniORB's own VMCID 0x41540000 (\"AT\"), named "
                       "BAD_OPERATION_UnRecognisedOperationName in the trace; COMPLETED_NO.",
                       "The connection stays open afterwards."])
    crafted("add_be_1_2", "request_add_be_1_2", "reply_add_be_1_2",
            "Hand-made BIG-endian Request 1.2 add(2, 40) on key \"Echo\" (request id 9)",
            "Reply to a big-endian add(2, 40): omniORB answers in LITTLE-endian (its own byte order)",
            op="add")
    crafted("huge_length_1_2", "request_huge_length_1_2", "message_error_reply",
            "Hand-made GIOP 1.2 Request header alone with message size 0xffffffff (4 GiB - 1)",
            "MessageError sent by the omniORB server in answer to a header claiming 0xffffffff bytes",
            notes_req=["Only the 12 header bytes were sent."],
            notes_rep=["The server sends this 12-byte MessageError at once and then closes the connection. "
                       "Its trace: 'getInputData requires invalid size 5 bytes to satisfy input size 4', "
                       "'throw MARSHAL (NO,MARSHAL_PassEndOfMessage)', 'Send GIOP 1.2 MessageError'.",
                       "Bad magic, an undefined message type, GIOP 1.3 or 2.0, or a MessageError sent to the "
                       "server get NO MessageError: the server just closes the connection (see README.md)."])
    crafted("bad_key_length_1_2", "request_bad_key_length_1_2", "message_error_bad_key_length_1_2",
            "Hand-made Request 1.2 whose object key length (0x1000) runs past the message end",
            "MessageError sent by the omniORB server for an unmarshalable request header",
            notes_rep=["Trace: 'throw MARSHAL (NO,MARSHAL_SequenceIsTooLong)', 'Send GIOP 1.2 MessageError'; "
                       "then the connection is closed."])
    crafted("over_max_1_2", "request_over_max_1_2", "message_error_over_max_1_2",
            "Hand-made GIOP 1.2 Request header claiming 3 MiB (> giopMaxMsgSize 2 MiB) and 16 KiB of zeros",
            "MessageError sent by the omniORB server for a message larger than giopMaxMsgSize",
            notes_req=["The file holds what was sent: the header and the first 16384 bytes of the claimed "
                       "3145728-byte body (a partial message)."],
            notes_rep=["Trace: 'throw MARSHAL (NO,MARSHAL_MessageSizeExceedLimitOnServer)', 'Send GIOP 1.2 "
                       "MessageError'; then the connection is closed. The size check only happens once more "
                       "than omniORB's first 8 KiB receive buffer of the message has arrived."])

    # --- server shutdown -----------------------------------------------------
    lg = log("hold")
    req = lg.find("c2s", "Request", case="hold")
    cc = lg.after(req, "s2c", mtype="CloseConnection")
    write_case(out, "close_connection", [cc],
               "CloseConnection sent by the omniORB SERVER to a connected GIOP 1.2 client when it shuts down",
               SERVER, CRAFT, VIA_CRAFT + " (case hold: Request add(2, 40) 1.2, reply received, then the "
               "connection kept open; interop_server got SIGTERM -> orb->shutdown(0))",
               ["The server closes the socket right after it."])
    lg = log("hold_1_0")
    req = lg.find("c2s", "LocateRequest", case="hold_1_0")
    cc = lg.after(req, "s2c", mtype="CloseConnection")
    write_case(out, "close_connection_1_0", [cc],
               "CloseConnection sent by the omniORB SERVER on shutdown to a client that spoke GIOP 1.0 on the connection",
               SERVER, CRAFT, VIA_CRAFT + " (case hold_1_0: LocateRequest 1.0, reply received, connection kept open)",
               ["The CloseConnection's GIOP version follows the version used on the connection."])

    # --- the IOR -------------------------------------------------------------
    ior_path = os.path.join(out, "ior_echo.txt")
    if os.path.exists(ior_path):
        ior = open(ior_path).read().strip()
        with open(os.path.join(out, "ior_echo.breakdown.txt"), "w") as f:
            f.write("# ior_echo.txt decoded field by field (offsets are into the octets that the hex after\n"
                    "# \"IOR:\" stands for; nested encapsulations align relative to their own start).\n"
                    "# Written by interop_server (omniORB 4.2.5), key \"Echo\" in omniINSPOA; the port is\n"
                    "# whatever capture.sh used (PORT_BASE+2), everything else is fixed.\n")
            f.write("\n".join("# " + l for l in ior_breakdown(ior)) + "\n")
        print("wrote ior_echo.breakdown.txt")


if __name__ == "__main__":
    main()
