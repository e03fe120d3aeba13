#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/<target>/seed-*.

Each target's input starts with the bytes that choose flags and split points (see the comment
at the top of tests/fuzz/<target>_fuzz.cpp), then the payload. Inputs that libFuzzer found
(named by their SHA-1) live beside these and are not touched. Run from the repository root:
    python3 tests/fuzz/make_seeds.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# --- record codec (storage/record.h) -----------------------------------------------------

def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table

_TABLE = _crc_table()

def crc32c(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

MAGIC, VERSION, USAGE, SKIP = 0x31525242, 1, 1, 2

def record(id_, body=b"", kind=USAGE, arrival_ns=1478009511000000000):
    header = struct.pack("<IHHIIQQ", MAGIC, VERSION, kind, len(body), 0, id_, arrival_ns)
    crc = crc32c(header + body)
    header = struct.pack("<IHHIIQQ", MAGIC, VERSION, kind, len(body), crc, id_, arrival_ns)
    rec = header + body
    return rec + b"\0" * (-len(rec) % 8)

def skip(first, end):
    return record(first, b"", SKIP, end)

def usage_body(i):
    return b'{"patientId":"%d","timestamp":"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)","medication":"Albuterol"}' % i

class Segment:
    """A segment image built like the log writer does: records, each write zero-padded."""

    def __init__(self, align=512):
        self.data = bytearray()
        self.align = align

    def add(self, raw):
        at = len(self.data)
        self.data += raw
        return at

    def end_write(self):
        self.data += b"\0" * (-len(self.data) % self.align)

    def bytes(self, size=None):
        out = bytes(self.data)
        if size is not None:
            out += b"\0" * (size - len(out))
        return out

# --- writing ----------------------------------------------------------------------------

def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)

# --- http_stream: [flags][cut count][cut u16...][stream] --------------------------------

def http(name, stream, cuts=(), flags=0):
    head = bytes([flags, len(cuts)]) + b"".join(struct.pack("<H", c) for c in cuts)
    put("http_stream", name, head + stream)

BODY = usage_body(100)

def post(body=BODY, extra=b"", target=b"/api/usages", ctype=b"application/json"):
    h = b"POST " + target + b" HTTP/1.1\r\nHost: x\r\n"
    if ctype:
        h += b"Content-Type: " + ctype + b"\r\n"
    return h + b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n" + body

def chunked(body=BODY, pieces=3, ext=b""):
    step = max(1, len(body) // pieces)
    out = b"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(body), step):
        part = body[i:i + step]
        out += b"%x%s\r\n" % (len(part), ext) + part + b"\r\n"
    return out + b"0\r\n\r\n"

def http_seeds():
    http("post", post(), cuts=(20, 60, 120))
    http("post-bytewise", post(b'{"patientId":1,"timestamp":"t","medication":"m"}'), flags=4)
    http("post-hold", post() + post(usage_body(7)), cuts=(150,), flags=1)
    http("chunked", chunked(), cuts=(90, 100, 140, 141, 142))
    http("chunked-ext", chunked(pieces=2, ext=b";name=value"), cuts=(120,))
    http("pipeline", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + post() +
         b"GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", cuts=(10, 40, 200))
    http("expect", post(extra=b"Expect: 100-continue\r\n"), cuts=(110,))
    http("expect-unknown", post(extra=b"Expect: fancy\r\n"))
    http("expect-404", b"POST /nope HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
    http("http10", b"POST /api/usages HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)
    http("http10-keepalive", b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n")
    http("close", post(extra=b"Connection: close\r\n") + post())
    http("json-suffix", post(ctype=b"application/vnd.busy+json; charset=utf-8"))
    http("no-ctype", post(ctype=None))
    http("bad-ctype", post(ctype=b"text/plain") + post())
    http("404-body", b"POST /api/other HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + post())
    http("405", b"GET /api/usages HTTP/1.1\r\nHost: x\r\n\r\nDELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    http("411", b"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n")
    http("413", b"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n{")
    http("413-small", post(b'{"patientId":"1","timestamp":"t","medication":"' + b"m" * 300 + b'"}'), flags=2)
    http("413-chunked", chunked(b'{"medication":"' + b"x" * 400 + b'"}'), cuts=(100,), flags=2)
    http("431", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(12)) + b"\r\n", flags=2)
    http("414", b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: x\r\n\r\n", flags=2)
    http("bad-json", post(b'{"patientId":"1",'))
    http("422", post(b'{"patientId":true,"timestamp":"t","medication":"m"}'))
    http("cl-te", b"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    http("two-cl", b"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde")
    http("te-gzip", b"POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
    http("obs-fold", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", cuts=(41, 46))
    http("obs-fold-empty", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A:\r\n two\r\n\r\n", cuts=(40,))
    http("bare-lf", b"GET /healthz HTTP/1.1\nHost: x\n\n")
    http("nul", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n")
    http("space-name", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n")
    http("absolute", b"GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    http("authority", b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    http("version", b"GET /healthz HTTP/2.0\r\n\r\nGET /healthz HTTP/1.2\r\n\r\n")
    http("bad-chunk", b"POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n")
    http("chunk-no-crlf", b"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", cuts=(100,))
    http("chunk-trailer", chunked(pieces=1)[:-2] + b"X-T: 1\r\n\r\n")
    # issue 18: bare CR in chunk lines (smuggling), valid extensions, Host, methods, OWS.
    te = b"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    http("issue18-cr-size-line", te + b"2\rX{}\r\n0\r\n\r\n" + post(), cuts=(100,))
    http("issue18-cr-last-chunk", te + b"2\r\n{}\r\n0\rX\r\n" + post(), cuts=(104,))
    http("issue18-cr-extension", te + b"2;a=b\r\r\n{}\r\n0\r\n\r\n", cuts=(103,))
    http("issue18-extensions", te + b"2 ; a = b;c=\"d\\\"e\"\r\n{}\r\n0;z\r\nX-T:\t1\t\r\n\r\n" + post(), cuts=(105, 110))
    http("issue18-chunk-over-limit", te + b"ffffff\r\n", flags=2)
    http("issue18-host", b"GET /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n")
    http("issue18-two-hosts", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: [::1]:80\r\n\r\n")
    http("issue18-methods", b"FOO /api/usages HTTP/1.1\r\nHost: x\r\n\r\n" + post().replace(b"POST", b"QUERY", 1) +
         b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + post(), cuts=(20, 60))
    http("issue18-absolute", post(target=b"http://x:3000/api/usages?a=1") + b"GET HTTPS://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    http("issue18-ows", post(extra=b"Connection: keep-alive,\tclose\t\r\nX-A: a \t b \t\r\n").replace(
         b"Content-Length: %d" % len(BODY), b"Content-Length:\t%d\t" % len(BODY)) + post(), cuts=(60, 80, 81, 82))
    # issue 18 §3: bearer credentials kept from the head (split inside the token), repeated, malformed.
    http("issue18-bearer", post(extra=b"Authorization:  Bearer abc-DEF_0123456789.~+/==\t\r\n") +
         post(extra=b"Authorization: Bearer a\r\nAuthorization: Bearer a\r\n") +
         post(extra=b"authorization: Basic dXNlcjpwYXNz\r\n") + post(extra=b"Authorization: Bearer a b\r\n"),
         cuts=(50, 70, 71, 95))


# --- usage_json: the body ----------------------------------------------------------------

def json_seeds():
    bodies = {
        "valid": usage_body(100),
        "int-id": b'{"patientId":100,"timestamp":"t","medication":"m","extra":[1,2,{"a":null}]}',
        "big-id": b'{"patientId":18446744073709551615,"timestamp":"t","medication":"m"}',
        "neg-id": b'{"patientId":-5,"timestamp":"t","medication":"m"}',
        "float-id": b'{"patientId":1.5e3,"timestamp":"t","medication":"m"}',
        "huge-int": b'{"patientId":123456789012345678901234567890,"timestamp":"t","medication":"m"}',
        "missing": b'{"timestamp":"t","medication":"m"}',
        "bad-types": b'{"patientId":"1","timestamp":5,"medication":null}',
        "dup-keys": b'{"patientId":"1","patientId":true,"timestamp":"t","medication":"m"}',
        "escapes": b'{"patientId":"\\u00e9\\ud83d\\ude00","timestamp":"\\"\\\\\\/\\b\\f\\n\\r\\t","medication":"m"}',
        "bad-surrogate": b'{"patientId":"\\ud800","timestamp":"t","medication":"m"}',
        "utf8": '{"patientId":"ü","timestamp":"т","medication":"药"}'.encode(),
        "bad-utf8": b'{"patientId":"\xc3\x28","timestamp":"t","medication":"m"}',
        "control": b'{"patientId":"a\x01b","timestamp":"t","medication":"m"}',
        "array": b'[{"patientId":"1","timestamp":"t","medication":"m"}]',
        "scalar": b'"text"',
        "nested": b'{"a":' * 60 + b"1" + b"}" * 60,
        "trailing": usage_body(1) + b" x",
        "two-docs": usage_body(1) + usage_body(2),
        "whitespace": b' \t\r\n{ "patientId" : "1" , "timestamp" : "t" , "medication" : "m" } \n',
        "empty": b"",
        "unterminated": b'{"patientId":"1',
        "numbers": b'{"patientId":0,"timestamp":"t","medication":"m","n":[-0,1e308,1e-400,0.1,-1E+2]}',
    }
    for name, body in bodies.items():
        put("usage_json", name, body)

# --- record_decode: the bytes at a record's offset ---------------------------------------

def record_seeds():
    ok = record(42, usage_body(42))
    put("record_decode", "usage", ok)
    put("record_decode", "usage-empty-body", record(1, b""))
    put("record_decode", "skip", skip(512, 4096))
    put("record_decode", "zero", b"\0" * 48)
    put("record_decode", "bad-magic", b"XRB1" + ok[4:])
    put("record_decode", "bad-version", ok[:4] + b"\x02\x00" + ok[6:])
    put("record_decode", "bad-kind", ok[:6] + b"\x07\x00" + ok[8:])
    put("record_decode", "bad-length", ok[:8] + struct.pack("<I", 0x7FFFFFFF) + ok[12:])
    put("record_decode", "truncated", ok[:len(ok) - 9])
    put("record_decode", "bad-crc", ok[:40] + b"X" + ok[41:])
    put("record_decode", "short", ok[:20])
    put("record_decode", "nonzero-padding", record(3, b"abc")[:35] + b"\xff" * 5)

# --- recovery_scan: [flags][stop_after][split][segment] ----------------------------------

def scan(name, seg, flags=0, stop=0, split=0):
    put("recovery_scan", name, bytes([flags, stop, split]) + seg)

def clean_segment(n=6, size=4096):
    s = Segment()
    for i in range(1, n + 1):
        s.add(record(i, usage_body(i)))
        if i % 2 == 0:
            s.end_write()
    s.end_write()
    return s

def scan_seeds():
    scan("clean", clean_segment().bytes(4096))
    scan("clean-recover", clean_segment().bytes(4096), flags=2)
    scan("stop-early", clean_segment().bytes(2048), flags=1, stop=2)
    scan("empty", b"\0" * 512, flags=2)
    # Torn tail: a write that reached only part of its sectors.
    s = clean_segment(4)
    rec = record(5, usage_body(5))
    s.add(rec[:50])
    scan("torn", s.bytes(4096), flags=2)
    # A torn tail already voided by recovery: skip marker at a fresh aligned offset.
    s = clean_segment(2)
    bad = s.add(b"\x01" * 40)
    s.end_write()
    s.add(skip(bad, len(s.data)))
    s.end_write()
    s.add(record(3, usage_body(3)))
    scan("torn-voided", s.bytes(4096), flags=2)
    # Corruption in the middle: a bad CRC followed by a valid record.
    s = clean_segment(2)
    r = bytearray(record(3, usage_body(3)))
    r[40] ^= 0xFF
    s.add(bytes(r))
    s.add(record(4, usage_body(4)))
    s.end_write()
    scan("corrupt", s.bytes(4096), flags=2)
    # A failed write voided by the writer: a skip marker whose id is its own offset.
    s = clean_segment(2)
    at = len(s.data)
    s.add(skip(at, at + 512))
    s.add(b"\x07" * 200)
    s.data += b"\0" * (at + 512 - len(s.data))
    s.add(record(3, usage_body(3)))
    s.end_write()
    scan("failed-write", s.bytes(4096), flags=2)
    # Full segment whose tail is torn (no room for a marker): recovery zeroes in place.
    s = Segment(4096)
    i = 1
    while len(s.data) + 200 < 4096:
        s.add(record(i, usage_body(i)))
        i += 1
    s.add(b"\x55" * (4096 - len(s.data) - 8))
    scan("torn-full", s.bytes(4096), flags=2)
    # Two segments: a torn tail, then records in the next one.
    first = clean_segment(2)
    first.add(b"\x09" * 24)
    scan("two-segments", first.bytes(4096) + clean_segment(2).bytes(4096), flags=6, split=8)

# --- log_tool: [flags][from_id][len u16][len u16][segments] ------------------------------

def logtool(name, segs, flags, from_id=0):
    lens = [len(s) for s in segs[:-1]] + [0] * (3 - len(segs))
    head = bytes([flags, from_id]) + b"".join(struct.pack("<H", n) for n in lens[:2])
    put("log_tool", name, head + b"".join(segs))

def segs_flag(n):
    return ((n - 1) % 3) << 3

def log_seeds():
    one = clean_segment(5).bytes(4096)
    logtool("verify-dump", [one], segs_flag(1) | 0x40 | 0)
    logtool("stats", [one], segs_flag(1) | 0x40 | 1)
    logtool("stats-json", [one], segs_flag(1) | 0x40 | 2)
    logtool("export-jsonl", [one], segs_flag(1) | 0x40 | 3, from_id=3)
    logtool("export-csv", [one], segs_flag(1) | 0x40 | 4)
    logtool("all", [one, clean_segment(2).bytes(4096)], segs_flag(2) | 0x40 | 0x20 | 7)
    # Torn tail followed by records in the next segment: damage that salvage repairs.
    t = clean_segment(2)
    t.add(b"\x0b" * 40)
    torn = t.bytes(4096)
    after = Segment()
    after.add(record(9, usage_body(9)))
    logtool("torn-then-records-salvage", [torn, after.bytes(4096)], segs_flag(2) | 0x40 | 5)
    logtool("torn-then-records", [torn, after.bytes(4096)], segs_flag(2) | 0x40 | 6)
    # Corruption in the middle, then salvage.
    s = clean_segment(2)
    r = bytearray(record(3, usage_body(3)))
    r[8] ^= 0x10
    s.add(bytes(r))
    s.add(record(4, usage_body(4)))
    logtool("corrupt-salvage", [s.bytes(4096)], segs_flag(1) | 0x40 | 5)
    logtool("corrupt-dump", [s.bytes(4096)], segs_flag(1) | 0x40 | 0)
    # A body that is not JSON (verify's damage, not dump's).
    b = Segment()
    b.add(record(1, b"not json"))
    b.add(record(2, b'{"a":"line\\nbreak",\r\n"b":1}'))
    logtool("bad-body", [b.bytes(4096)], segs_flag(1) | 0x40 | 7)
    # Duplicate ids and holes for stats; CR/LF in a valid body for export.
    d = Segment()
    for i in (5, 2, 5, 9):
        d.add(record(i, b'{"patientId":%d,\n"timestamp":"t","medication":"m,\\"x\\""}' % i))
    logtool("dups-holes", [d.bytes(4096)], segs_flag(1) | 0x40 | 7)
    logtool("misaligned", [one[:1000]], segs_flag(1) | 0)
    logtool("not-a-segment", [b"garbage!" * 8], segs_flag(1) | 0x40 | 7)
    logtool("dir-segment", [one, b""], segs_flag(2) | 0x40 | 0x80 | 7)
    logtool("empty-file", [b""], segs_flag(1) | 7)


if __name__ == "__main__":
    http_seeds()
    json_seeds()
    record_seeds()
    scan_seeds()
    log_seeds()
