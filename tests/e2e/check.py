#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
The end-to-end checker: compares what the sensor produced (Kafka records,
a pcap, its summary, `stats --json`, `flows --json`, `bpftool map dump`)
with what traffic.py sent (its manifest). Prints TAP lines without numbers
("ok - NAME", "not ok - NAME", "# diagnostics"); lib.sh numbers them.

Expectations are computed here, independently of the sensor: an own parser
of Ethernet / VLAN / IPv4 / IPv6 (+ extension headers) / TCP / UDP / SCTP /
ICMP / ICMPv6, the direction-normalized flow key, Community ID v1 (the
ICMP type tables of pycommunityid, the spec's reference), and Kafka's
murmur2 partitioner (org.apache.kafka.common.utils.Utils.murmur2).

  check.py records  --manifest M --classify C --records R --key SCHEME
                    [--ts-unit U] --partitions N --iface IF
  check.py summary  --manifest M --classify C --summary S [--sink kafka|pcap|null]
  check.py stats    --manifest M --classify C --stats S
  check.py flows    --manifest M --flows F
  check.py bpftool  --manifest M --dump-json J --dump-text T
  check.py pcap     --manifest M --classify C --pcap P
  check.py count    --manifest M [--classify C]   (prints: sent, to capture)
Python 3 standard library only.
"""
import argparse
import base64
import collections
import hashlib
import ipaddress
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from traffic import read_pcap  # noqa: E402  (the pcap reader only)

# ------------------------------------------------------------------ TAP out

failures = 0


def tap(ok, name, problems=()):
    """One TAP line, then at most 20 problems as diagnostics."""
    global failures
    print("%s - %s" % ("ok" if ok else "not ok", name))
    if not ok:
        failures += 1
    problems = list(problems)
    for p in problems[:20]:
        print("#   %s" % p)
    if len(problems) > 20:
        print("#   ... and %d more" % (len(problems) - 20))


def check(name, problems):
    problems = list(problems)
    tap(not problems, name, problems)


def diag(msg):
    print("# %s" % msg)


# ------------------------------------------------------------------ parser
# The sensor's documented parsing limits (README, headers/flow_parse.h):
# at most 2 VLAN tags (0x8100, 0x88a8, 0x9100), 6 IPv6 extension headers
# (hop-by-hop, routing, destination options, fragment) and 3 tunnels
# (VXLAN, GENEVE, GRE with IP, Ethernet or ERSPAN I-III, IP in IP).
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
MAX_VLAN_TAGS = 2
MAX_IPV6_EXT = 6
MAX_DECAP = 3
IPV6_EXT = (0, 43, 60, 44)
L4_MIN = {6: 20, 17: 8, 132: 8, 1: 2, 58: 2}
PORT_PROTOS = (1, 6, 17, 58, 132)
TEB = 0x6558

# Community ID's ICMP "port equivalents" (pycommunityid icmp.py, icmp6.py)
ICMP4_PEER = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_PEER = {128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133, 135: 136,
              136: 135, 139: 140, 140: 139, 144: 145, 145: 144}

# family 0: keyed at L2 (src/dst the MACs, zero-padded to 16 bytes; the
# ports the EtherType, or each end's LLC SAP), reason the l2_* counter.
# decap: tunnels opened; outer: the Parsed of the outermost IP header.
Parsed = collections.namedtuple(
    "Parsed", "family proto src dst sport dport has_ports one_way tcp_flags vlan_tags"
    " reason decap outer")
Key = collections.namedtuple("Key", "family proto addr_a addr_b port_a port_b")


def v4_mapped(b):
    return b"\0" * 10 + b"\xff\xff" + b


def u16(frame, off):
    return struct.unpack("!H", frame[off:off + 2])[0]


def ip_parsed(family, proto, src, dst, sport=0, dport=0, has_ports=False, one_way=False,
              flags=0, tags=0):
    return Parsed(family, proto, src, dst, sport, dport, has_ports, one_way, flags, tags,
                  None, 0, None)


def parse_eth(frame, off):
    """(error or None, EtherType, offset after the tags, tags)"""
    if off + 14 > len(frame):
        return "l2_truncated", 0, off, 0
    etype, off, tags = u16(frame, off + 12), off + 14, 0
    while etype in VLAN_TPIDS and tags < MAX_VLAN_TAGS:
        if off + 4 > len(frame):
            return "l2_truncated", etype, off, tags
        etype, off, tags = u16(frame, off + 2), off + 4, tags + 1
    if etype in VLAN_TPIDS:
        return "l2_vlan_depth", etype, off, tags
    return None, etype, off, tags


def parse_l2(frame, etype, off, tags, reason):
    """The frame keyed at L2."""
    sport = dport = 0
    if len(frame) >= 14:
        if etype >= 0x0600:
            sport = dport = etype
        elif off + 2 <= len(frame):
            dport, sport = frame[off] & 0xFE, frame[off + 1] & 0xFE
    pad = b"\0" * 10
    src = frame[6:12] + pad if len(frame) >= 14 else b"\0" * 16
    dst = frame[0:6] + pad if len(frame) >= 14 else b"\0" * 16
    return Parsed(0, 0, src, dst, sport, dport, False, False, 0, tags, reason, 0, None)


def parse_ip(frame, off, tags, etype):
    """(Parsed or the l2_* reason, transport offset, non-first fragment)"""
    if etype == 0x0800:
        return parse_ipv4(frame, off, tags)
    if etype == 0x86DD:
        return parse_ipv6(frame, off, tags)
    return "l2_not_ip", 0, False


def parse_ipv4(frame, off, tags):
    if off + 20 > len(frame):
        return "l2_truncated", 0, False
    ver, ihl = frame[off] >> 4, (frame[off] & 15) * 4
    tot_len = u16(frame, off + 2)
    if ver != 4 or ihl < 20 or (tot_len and tot_len < ihl):
        return "l2_bad_ipv4", 0, False
    if off + ihl > len(frame):
        return "l2_truncated", 0, False
    proto = frame[off + 9]
    src, dst = v4_mapped(frame[off + 12:off + 16]), v4_mapped(frame[off + 16:off + 20])
    if u16(frame, off + 6) & 0x1fff:
        return ip_parsed(4, proto, src, dst, tags=tags), off + ihl, True
    return parse_l4(frame, off + ihl, 4, proto, src, dst, tags), off + ihl, False


def parse_ipv6(frame, off, tags):
    if off + 40 > len(frame):
        return "l2_truncated", 0, False
    if frame[off] >> 4 != 6:
        return "l2_bad_ipv6", 0, False
    nh, src, dst = frame[off + 6], frame[off + 8:off + 24], frame[off + 24:off + 40]
    off += 40
    for _ in range(MAX_IPV6_EXT):
        if nh not in IPV6_EXT:
            break
        if off + 8 > len(frame):
            return "l2_truncated", 0, False
        if nh == 44:
            frag = u16(frame, off + 2) & 0xfff8
            nh, off = frame[off], off + 8
            if frag:
                return ip_parsed(6, nh, src, dst, tags=tags), off, True
            continue
        nh, off = frame[off], off + (frame[off + 1] + 1) * 8
    if nh in IPV6_EXT:
        return "l2_ipv6_ext_depth", 0, False
    return parse_l4(frame, off, 6, nh, src, dst, tags), off, False


def parse_l4(frame, off, family, proto, src, dst, tags):
    if proto not in L4_MIN:
        return ip_parsed(family, proto, src, dst, tags=tags)
    if off + L4_MIN[proto] > len(frame):
        return "l2_truncated"
    if proto in (1, 58):
        itype, code = frame[off], frame[off + 1]
        peer = (ICMP4_PEER if proto == 1 else ICMP6_PEER).get(itype)
        if peer is None:
            return ip_parsed(family, proto, src, dst, itype, code, True, True, 0, tags)
        return ip_parsed(family, proto, src, dst, itype, peer, True, False, 0, tags)
    sport, dport = struct.unpack("!HH", frame[off:off + 4])
    flags = frame[off + 13] if proto == 6 else 0
    return ip_parsed(family, proto, src, dst, sport, dport, True, False, flags, tags)


def tunnel_next(frame, p, off):
    """(EtherType, offset) of what a tunnel after the transport header at
    off carries (TEB: Ethernet), or None."""
    if p.proto == 4:
        return 0x0800, off
    if p.proto == 41:
        return 0x86DD, off
    if p.proto == 17 and p.dport == 4789:
        return (TEB, off + 16) if off + 16 <= len(frame) else None
    if p.proto == 17 and p.dport == 6081:
        if off + 16 > len(frame) or frame[off + 8] >> 6:
            return None
        hlen = 16 + (frame[off + 8] & 0x3F) * 4
        return (u16(frame, off + 10), off + hlen) if off + hlen <= len(frame) else None
    if p.proto != 47 or off + 4 > len(frame):
        return None
    f = frame[off]
    if frame[off + 1] & 7 or f & 0x40:
        return None
    etype = u16(frame, off + 2)
    off += 4 + 4 * sum(1 for bit in (0x80, 0x20, 0x10) if f & bit)
    if etype == 0x88BE:  # ERSPAN I (no sequence number) or II
        etype, off = TEB, off + (8 if f & 0x10 else 0)
    elif etype == 0x22EB:  # ERSPAN III, 8 more bytes with the O flag
        if off + 12 > len(frame) or (frame[off + 10] >> 2) & 0x1F:
            return None
        etype, off = TEB, off + (20 if frame[off + 11] & 1 else 12)
    return (etype, off) if off <= len(frame) else None


def parse(frame, max_decap=MAX_DECAP):
    """Parsed as the sensor keys the frame (--key-layer inner by default)."""
    err, etype, off, tags = parse_eth(frame, 0)
    p = None
    if not err:
        p, l4, nonfirst = parse_ip(frame, off, tags, etype)
        if isinstance(p, str):
            err = p
    if err:
        return parse_l2(frame, etype, off, tags, err)
    outer, depth = p, 0
    while depth < max_decap:
        nxt = None if nonfirst else tunnel_next(frame, p, l4)
        if nxt is None:
            break
        etype, o = nxt
        if etype == TEB:
            e2, etype, o, _ = parse_eth(frame, o)
            if e2:
                break
        q, l4_q, nf_q = parse_ip(frame, o, tags, etype)
        if isinstance(q, str):
            break
        p, l4, nonfirst, depth = q, l4_q, nf_q, depth + 1
    return p._replace(decap=depth, outer=outer if depth else None)


def flow_key(p):
    """(Key, dir): endpoint A is the lower (address, port), as Community
    ID orders them; dir 0 when A sent the packet. One-way ICMP types are
    never reordered."""
    if p.one_way or (p.src, p.sport) <= (p.dst, p.dport):
        return Key(p.family, p.proto, p.src, p.dst, p.sport, p.dport), 0
    return Key(p.family, p.proto, p.dst, p.src, p.dport, p.sport), 1


def community_id(k, has_ports, seed=0):
    if k.family == 0:  # keyed at L2: not a Community ID, the sensor's "l2:" hash
        data = struct.pack("!H", seed) + k.addr_a[:6] + k.addr_b[:6]
        data += struct.pack("!HH", k.port_a, k.port_b)
        return "l2:" + base64.b64encode(hashlib.sha1(data).digest()).decode()
    alen = 4 if k.family == 4 else 16
    data = struct.pack("!H", seed) + k.addr_a[-alen:] + k.addr_b[-alen:]
    data += struct.pack("!BB", k.proto, 0)
    if has_ports:
        data += struct.pack("!HH", k.port_a, k.port_b)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def key_5tuple(k):
    return k.addr_a + k.addr_b + struct.pack("!HHBBxx", k.port_a, k.port_b, k.family, k.proto)


def murmur2(data):
    """Kafka's Utils.murmur2 (Java int arithmetic), as a signed 32-bit int."""
    m, r, mask = 0x5bd1e995, 24, 0xffffffff
    length = len(data)
    h = (0x9747b28c ^ length) & mask
    for i in range(length // 4):
        k = struct.unpack("<I", data[4 * i:4 * i + 4])[0]
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail, rest = length & ~3, length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_partition(key, nparts):
    return (murmur2(key) & 0x7fffffff) % nparts


def addr_text(a, family):
    if family == 0:
        return ":".join("%02x" % b for b in a[:6])
    return str(ipaddress.ip_address(a[12:] if family == 4 else a))


def key_text(k):
    if k.family == 0:
        return "l2 %s/%#06x > %s/%#06x" % (addr_text(k.addr_a, 0), k.port_a,
                                           addr_text(k.addr_b, 0), k.port_b)
    return "%s %s:%d > %s:%d" % ({6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6", 132: "sctp"}
                                 .get(k.proto, "proto %d" % k.proto),
                                 addr_text(k.addr_a, k.family), k.port_a,
                                 addr_text(k.addr_b, k.family), k.port_b)


# ------------------------------------------------------------------ inputs


class Frame:
    def __init__(self, entry):
        self.i = entry["i"]
        self.data = bytes.fromhex(entry["hex"])
        self.meta = entry
        self.t_ns = entry.get("t_ns")
        self.parsed = parse(self.data)
        self.reason = self.parsed.reason  # keyed at L2: why; None at IP
        self.key, self.dir = flow_key(self.parsed)
        self.verdict = None  # from classify

    def name(self):
        m = self.meta
        if m["origin"] == "pcap":
            return "%s#%d" % (m["file"], m["n"])
        return "gen:%s/%s#%d" % (m["conv"], m["sender"], self.i)

    def expect_capture(self):
        """Generated: what the generator built to be captured; replayed:
        what classify predicts (without classify: the default, capture)."""
        if self.meta["origin"] == "gen":
            return self.meta["capture"]
        return self.verdict in ("capture", None)


def load_manifest(path, classify=None):
    with open(path) as f:
        man = json.load(f)
    frames = [Frame(e) for e in man["frames"]]
    if classify:
        verdicts = [json.loads(line) for line in open(classify) if line.strip()]
        packets = [v for v in verdicts if v.get("type") == "packet"]
        if len(packets) != len(frames):
            raise SystemExit("classify printed %d packet lines for %d frames sent"
                             % (len(packets), len(frames)))
        for fr, v in zip(frames, packets):
            fr.verdict = v["verdict"]
            fr.classify = v
    return man, frames


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_summary(path):
    lines = [line for line in open(path) if line.strip()]
    if len(lines) != 1:
        raise SystemExit("expected one summary line on stdout, got %d" % len(lines))
    return json.loads(lines[0])


# ------------------------------------------------------------------ checks


def check_predictions(frames):
    """The independent parser, classify and the generator agree."""
    problems = []
    for fr in frames:
        if fr.verdict is not None:
            c = fr.classify
            if fr.verdict != "capture":
                problems.append("%s: classify says %s, the default is capture"
                                % (fr.name(), fr.verdict))
            elif c.get("reason") != fr.reason:
                problems.append("%s: classify reason %s, this parser %s"
                                % (fr.name(), c.get("reason"), fr.reason))
            elif c.get("dir") != fr.dir or c.get("family") != fr.key.family:
                problems.append("%s: classify family %s dir %s, this parser %s %s"
                                % (fr.name(), c.get("family"), c.get("dir"), fr.key.family,
                                   fr.dir))
            elif c.get("decap", 0) != fr.parsed.decap:
                problems.append("%s: classify opened %s tunnel(s), this parser %d"
                                % (fr.name(), c.get("decap", 0), fr.parsed.decap))
        if fr.meta["origin"] == "gen" and fr.meta.get("reason") != fr.reason:
            problems.append("%s: generated to be keyed %s, this parser %s"
                            % (fr.name(), fr.meta.get("reason") or "at IP",
                               fr.reason or "at IP"))
    n = sum(fr.expect_capture() for fr in frames)
    diag("%d frames sent, %d to capture (%d generated), %d not"
         % (len(frames), n, sum(fr.expect_capture() and fr.meta["origin"] == "gen"
                                for fr in frames), len(frames) - n))
    check("classify, the generator and an independent parser agree on every frame sent",
          problems)


def match_records(frames, records):
    """Pairs records with the frames they carry (equal bytes; among equal
    frames in send order by capture time). Returns (pairs, missing, extra)."""
    want = collections.defaultdict(list)
    for fr in frames:
        if fr.expect_capture():
            want[fr.data].append(fr)
    got = collections.defaultdict(list)
    for r in records:
        got[bytes.fromhex(r["value"] or "")].append(r)
    pairs, missing, extra = [], [], []
    for data in set(want) | set(got):
        fs, rs = want.get(data, []), got.get(data, [])
        rs = sorted(rs, key=lambda r: (header_int(r, "xs.ts_ns") or 0, r["offset"]))
        pairs += list(zip(fs, rs))
        missing += fs[len(rs):]
        extra += rs[len(fs):]
    return pairs, missing, extra


def record_meta(rec):
    """The record's metadata, from --headers compact (one xs.meta header:
    version, dir, queue be16, orig_len be32, ts_ns be64, then the interface
    name) or --headers all (five xs.* headers); None without headers."""
    h = rec["headers"]
    if "xs.meta" in h and h["xs.meta"]:
        b = bytes.fromhex(h["xs.meta"])
        if len(b) < 16 or b[0] != 1:
            return {"bad": b.hex()}
        ver, d, q, orig, ts = struct.unpack("!BBHIQ", b[:16])
        return {"xs.ts_ns": ts, "xs.iface": b[16:], "xs.queue": q, "xs.dir": d,
                "xs.orig_len": orig}
    if "xs.ts_ns" in h:
        return {n: (bytes.fromhex(h[n]) if n == "xs.iface" else int(h[n], 16))
                for n in ("xs.ts_ns", "xs.iface", "xs.queue", "xs.dir", "xs.orig_len") if h.get(n)}
    return None


def header_int(rec, name):
    m = record_meta(rec)
    return m.get(name) if m else None


def check_exactly_once(frames, records, max_dups=0):
    """Every capturable frame once, byte-identical; with max_dups, up to that
    many further copies of frames sent (the sensor counted them as maybe
    duplicated: taken back from the producer while sent)."""
    pairs, missing, extra = match_records(frames, records)
    problems = ["missing: %s (%d bytes)" % (fr.name(), len(fr.data)) for fr in missing]
    sent = {fr.data: fr for fr in frames}
    copies = [r for r in extra if bytes.fromhex(r["value"] or "") in sent]
    if len(copies) <= max_dups:
        extra = [r for r in extra if r not in copies]
    for r in extra:
        data = bytes.fromhex(r["value"] or "")
        problems.append("unexpected record p%d@%d (%d bytes): %s" % (
            r["partition"], r["offset"], len(data),
            "a copy of %s" % sent[data].name() if data in sent else "not a frame that was sent"))
    diag("%d records, %d frames to capture, %d copies (at most %d counted as maybe_dup)"
         % (len(records), sum(fr.expect_capture() for fr in frames), len(copies), max_dups))
    check("every capturable frame arrives exactly once, byte-identical; nothing else%s"
          % (" (copies within the count of maybe_dup)" if max_dups else ""), problems)
    return pairs


def expected_key(fr, rec, scheme, ts_unit):
    if scheme == "5tuple":
        return key_5tuple(fr.key)
    if scheme == "community-id":
        return community_id(fr.key, fr.parsed.has_ports).encode()
    div = {"ms": 1000000, "us": 1000, "ns": 1}[ts_unit]
    ts = header_int(rec, "xs.ts_ns")
    return struct.pack("!Q", ts // div) if ts is not None else None


def check_keys(pairs, scheme, ts_unit):
    problems = []
    for fr, r in pairs:
        got = bytes.fromhex(r["key"]) if r["key"] else None
        want = expected_key(fr, r, scheme, ts_unit)
        if got != want:
            problems.append("%s: key %s, expected %s (%s)" % (
                fr.name(), got.hex() if got else None,
                want.hex() if isinstance(want, bytes) else want, key_text(fr.key)))
    what = {"5tuple": "the 40-byte normalized 5-tuple",
            "community-id": "its Community ID v1 string",
            "metron": "xs.ts_ns in %s, 8 bytes big-endian" % ts_unit}[scheme]
    check("every key is %s" % what, problems)


def check_partitions(pairs, nparts):
    problems = []
    for fr, r in pairs:
        key = bytes.fromhex(r["key"]) if r["key"] else b""
        want = kafka_partition(key, nparts)
        if r["partition"] != want:
            problems.append("%s: partition %d, murmur2 says %d (key %s)"
                            % (fr.name(), r["partition"], want, key.hex()))
    check("partition = (murmur2(key) & 0x7fffffff) %% %d, as the Java client" % nparts,
          problems)


def check_conversations(pairs):
    """Both directions of a generated conversation: one key, one partition,
    and the records in the order the frames were sent."""
    convs = collections.defaultdict(list)
    for fr, r in pairs:
        if fr.meta["origin"] == "gen":
            convs[fr.meta["conv"]].append((fr, r))
    problems = []
    for name, items in sorted(convs.items()):
        keys = {r["key"] for _, r in items}
        parts = {r["partition"] for _, r in items}
        senders = {fr.meta["sender"] for fr, _ in items}
        dirs = {header_int(r, "xs.dir") for _, r in items}
        if len(keys) != 1 or len(parts) != 1:
            problems.append("%s: %d keys, partitions %s" % (name, len(keys), sorted(parts)))
        if len(senders) == 2 and len(dirs) != 2:
            problems.append("%s: both ends sent, but xs.dir is only %s" % (name, dirs))
        offsets = [r["offset"] for _, r in sorted(items, key=lambda x: x[0].i)]
        if len(parts) == 1 and offsets != sorted(offsets):
            problems.append("%s: records out of send order: offsets %s" % (name, offsets))
    diag("%d conversations: %s" % (len(convs), " ".join(sorted(convs))))
    check("both directions of each conversation share one key and one partition,"
          " in send order", problems)


def check_headers(pairs, iface, nqueues, mode):
    problems = []
    sizes = {"xs.ts_ns": 8, "xs.iface": None, "xs.queue": 4, "xs.dir": 1, "xs.orig_len": 4,
             "xs.outer_key": None}
    for fr, r in pairs:
        h, who = r["headers"], fr.name()
        outer = key_5tuple(flow_key(fr.parsed.outer)[0]).hex() if fr.parsed.decap else None
        # compact: xs.meta, and xs.outer_key in a tunnel only; all: six, xs.outer_key null
        names = {"compact": {"xs.meta"} | ({"xs.outer_key"} if outer else set()),
                 "all": set(sizes)}[mode]
        if set(h) != names or r.get("header_count") != len(names):
            problems.append("%s: headers %s (count %s)" % (who, sorted(h), r.get("header_count")))
            continue
        if mode == "all":
            bad = [n for n, size in sizes.items() if size and len(h[n]) != 2 * size]
            if bad:
                problems.append("%s: wrong size of %s" % (who, bad))
                continue
        m = record_meta(r)
        if "bad" in m:
            problems.append("%s: xs.meta %s: not version 1, 16 bytes + name" % (who, m["bad"]))
            continue
        if m["xs.iface"].decode(errors="replace") != iface:
            problems.append("%s: xs.iface %s" % (who, m["xs.iface"]))
        if not 0 <= m["xs.queue"] < nqueues:
            problems.append("%s: xs.queue %d, the interface has %d"
                            % (who, m["xs.queue"], nqueues))
        if m["xs.dir"] != fr.dir:
            problems.append("%s: xs.dir %d, expected %d (%s)"
                            % (who, m["xs.dir"], fr.dir, key_text(fr.key)))
        if m["xs.orig_len"] != len(fr.data):
            problems.append("%s: xs.orig_len %d, frame %d bytes"
                            % (who, m["xs.orig_len"], len(fr.data)))
        if h.get("xs.outer_key") != outer:
            problems.append("%s: xs.outer_key %s, expected %s"
                            % (who, h.get("xs.outer_key"), outer))
        ts = m["xs.ts_ns"]
        if r["tstype"] != "create" or abs(r["timestamp"] - ts / 1e6) > 1:
            problems.append("%s: record timestamp %s (%s), xs.ts_ns %d"
                            % (who, r["timestamp"], r["tstype"], ts))
        if fr.t_ns is not None and not -2000000 <= ts - fr.t_ns <= 1000000000:
            problems.append("%s: xs.ts_ns %d is %+.3f ms from its send time"
                            % (who, ts, (ts - fr.t_ns) / 1e6))
    check("headers (%s): capture time (= timestamp, within 1 s of sending), interface,"
          " queue, dir (agrees with the key), orig_len, xs.outer_key (the tunnel's 5tuple key"
          " when keyed inside one; else none, or null with --headers all)" % mode, problems)


def cmd_records(a):
    _, frames = load_manifest(a.manifest, a.classify)
    records = read_jsonl(a.records)
    check_predictions(frames)
    pairs = check_exactly_once(frames, records, a.max_dups)
    check_keys(pairs, a.key, a.ts_unit)
    check_partitions(pairs, a.partitions)
    if a.key != "metron":
        check_conversations(pairs)
    check_headers(pairs, a.iface, a.queues, a.headers)


def expected_counts(frames):
    reasons = collections.Counter(fr.reason for fr in frames if fr.reason)
    return sum(fr.expect_capture() for fr in frames), reasons


def ledger_problems(s):
    """README: read + unparked + spool_recovered = delivered + failed + queue_full +
    spool_full + spool_errors + sink_errors + in flight + spooled, and in
    flight = produced + spool_out - delivered - failed - reclaimed."""
    read = s.get("received", s.get("read"))
    inflight = s["produced"] + s["spool_out"] - s["delivered"] - s["failed"] - s["reclaimed"]
    out = s["delivered"] + s["failed"] + s["queue_full"] + s["spool_full"] + \
        s["spool_errors"] + s["sink_errors"] + inflight + s["spooled"]
    problems = []
    if read + s.get("unparked", 0) + s["spool_recovered"] != out:
        problems.append("ledger: read %d + unparked %d + recovered %d != %d (delivered %d failed %d"
                        " queue_full %d spool_full %d spool_errors %d sink_errors %d"
                        " in flight %d spooled %d)"
                        % (read, s.get("unparked", 0), s["spool_recovered"], out,
                           s["delivered"], s["failed"],
                           s["queue_full"], s["spool_full"], s["spool_errors"],
                           s["sink_errors"], inflight, s["spooled"]))
    if s.get("in_flight", inflight) != inflight:
        problems.append("in_flight %d != produced + spool_out - delivered - failed"
                        " - reclaimed = %d" % (s["in_flight"], inflight))
    return problems


def cmd_summary(a):
    _, frames = load_manifest(a.manifest, a.classify)
    s = read_summary(a.summary)
    n, _ = expected_counts(frames)
    want = {"rx_packets": len(frames), "captured": n, "received": n,
            "delivered": n, "failed": 0, "queue_full": 0, "sink_errors": 0,
            "spool_full": 0, "spool_errors": 0, "in_flight": 0, "spooled": 0,
            "xsk_rx_dropped": 0, "xsk_rx_ring_full": 0, "flows_expired": 0}
    if a.sink != "pcap":
        want["no_meta"] = 0
    if a.sink != "kafka":  # nothing is ever spooled
        want.update(produced=n, spool_in=0, spool_out=0)
    problems = ["%s = %s, expected %s" % (k, s.get(k), v) for k, v in want.items()
                if s.get(k) != v]
    problems += ledger_problems(s)
    lat = s.get("latency_us", {})
    if a.sink == "kafka" and not 0 < lat.get("p50", 0) <= lat.get("p99", 0):
        problems.append("latency_us %s: want 0 < p50 <= p99" % lat)
    if a.sink == "pcap" and s.get("no_meta"):
        diag("no_meta = %d: timestamps taken in userspace" % s["no_meta"])
    diag("summary: %s" % json.dumps(s))
    check("summary adds up: rx_packets = frames sent, captured = delivered = frames to"
          " capture, nothing failed or dropped", problems)


def cmd_stats(a):
    _, frames = load_manifest(a.manifest, a.classify)
    s = read_jsonl(a.stats)
    if len(s) != 1:
        return check("stats --json prints one line", ["%d lines" % len(s)])
    s = s[0]
    n, reasons = expected_counts(frames)
    l2 = [k for k in s if k.startswith("l2_")]
    outcomes = s["captured"] + s["capture_no_socket"] + s["parked"] + s["counted"] + \
        s["dropped"]
    problems = []
    if outcomes != s["rx_packets"]:
        problems.append("rx_packets %d != sum of outcomes %d" % (s["rx_packets"], outcomes))
    flows = {fr.key for fr in frames}
    want = {"rx_packets": len(frames), "rx_bytes": sum(len(fr.data) for fr in frames),
            "captured": n, "capture_no_socket": 0, "parked": 0, "counted": 0, "dropped": 0,
            "flow_new": len(flows), "flow_table_full": 0, "meta_failed": 0,
            "decap": sum(fr.parsed.decap > 0 for fr in frames), "snapped": 0,
            "read": n, "unparked": 0, "queue_full": 0, "sink_errors": 0, "failed": 0,
            "spool_full": 0, "spool_errors": 0}
    want.update({k: reasons.get(k, 0) for k in l2})
    problems += ["%s = %s, expected %s" % (k, s.get(k), v) for k, v in want.items()
                 if s.get(k) != v]
    if s["delivered"] + s["failed"] > s["produced"] + s["spool_out"]:
        problems.append("delivered + failed > produced + spool_out")
    problems += ledger_problems(s)
    diag("stats: %s" % json.dumps(s))
    check("stats --json during the run adds up: rx_packets = captured + capture_no_socket"
          " + parked + counted + dropped = frames sent; keyed at L2 per reason; keyed in tunnels",
          problems)


def expected_flows(frames):
    flows = {}
    for fr in frames:
        f = flows.setdefault(fr.key, {"packets": [0, 0], "bytes": [0, 0], "flags": 0,
                                      "has_ports": set(), "convs": set()})
        f["packets"][fr.dir] += 1
        f["bytes"][fr.dir] += len(fr.data)
        f["flags"] |= fr.parsed.tcp_flags
        f["has_ports"].add(fr.parsed.has_ports)
        if fr.meta["origin"] == "gen":
            f["convs"].add(fr.meta["conv"])
    return flows


def compare_flows(want, got, fields):
    """got: {Key: dict with packets/bytes[/flags]}; fields to compare."""
    problems = []
    for k in sorted(set(want) - set(got)):
        problems.append("missing flow %s (%s)" % (key_text(k), ",".join(want[k]["convs"])))
    for k in sorted(set(got) - set(want)):
        problems.append("unexpected flow %s: %s" % (key_text(k), got[k]))
    for k in sorted(set(want) & set(got)):
        for f in fields:
            if want[k][f] != got[k][f]:
                problems.append("%s %s: %s = %s, expected %s" % (
                    key_text(k), ",".join(want[k]["convs"]), f, got[k][f], want[k][f]))
    return problems


def gen_both_ways(want, got):
    """Generated conversations whose frames go both ways: counted both ways."""
    problems = []
    for k, f in want.items():
        if f["convs"] and all(f["packets"]) and k in got and not all(got[k]["packets"]):
            problems.append("%s: packets per direction %s" % (",".join(f["convs"]),
                                                             got[k]["packets"]))
    return problems


def key_from_text(src, srcp, dst, dstp, proto):
    if src.count(":") == 5 and len(src) == 17:  # MAC addresses: keyed at L2
        pad = b"\0" * 10
        return Key(0, proto, bytes.fromhex(src.replace(":", "")) + pad,
                   bytes.fromhex(dst.replace(":", "")) + pad, srcp, dstp)
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    fam = 4 if a.version == 4 else 6
    pa = v4_mapped(a.packed) if fam == 4 else a.packed
    pb = v4_mapped(b.packed) if fam == 4 else b.packed
    return Key(fam, proto, pa, pb, srcp, dstp)


def cmd_flows(a):
    _, frames = load_manifest(a.manifest)
    want = expected_flows(frames)
    got, problems = {}, []
    for f in read_jsonl(a.flows):
        k = key_from_text(f["src"], f["srcp"], f["dst"], f["dstp"], f["proto"])
        got[k] = {"packets": [f["pkts_ab"], f["pkts_ba"]], "bytes": [f["bytes_ab"], f["bytes_ba"]],
                  "flags": f["flags"], "cid": f["community_id"],
                  "first": f["first_ns"], "last": f["last_ns"]}
    problems += compare_flows(want, got, ("packets", "bytes", "flags"))
    problems += gen_both_ways(want, got)
    diag("%d flows expected, %d listed; %d generated conversations among them"
         % (len(want), len(got), sum(bool(f["convs"]) for f in want.values())))
    check("flows --json lists every flow with packets, bytes and TCP flags per direction;"
          " each generated conversation counted both ways", problems)
    # The flow's Community ID is its packets' (and so their Kafka key's with
    # --key community-id): with ports when they carry a transport header.
    problems = []
    for k in sorted(set(want) & set(got)):
        cid = community_id(k, True in want[k]["has_ports"])
        if got[k]["cid"] != cid:
            problems.append("%s %s: community_id %s, its packets' is %s" % (
                key_text(k), ",".join(want[k]["convs"]), got[k]["cid"], cid))
    check("flows --json: each flow's community_id is the Community ID of its packets",
          problems)
    # first_ns/last_ns: the flow table's clock (coarse, a few ms), in the run
    sent = [fr.t_ns for fr in frames if fr.t_ns]
    lo, hi = min(sent) - 50000000, max(sent) + 1000000000
    problems = []
    for k in sorted(got):
        first, last = got[k]["first"], got[k]["last"]
        if first > last:
            problems.append("%s: first_ns %d > last_ns %d" % (key_text(k), first, last))
        if not lo <= first <= hi or not lo <= last <= hi:
            problems.append("%s: first_ns %d, last_ns %d: outside the time the frames were sent"
                            " (%d..%d)" % (key_text(k), first, last, min(sent), max(sent)))
    check("flows --json: first_ns <= last_ns, both when the frames were sent", problems)


def cmd_bpftool(a):
    _, frames = load_manifest(a.manifest)
    want = expected_flows(frames)
    text = open(a.dump_text).read()
    problems = ["plain dump has no %s field" % f for f in ('"packets"', '"addr_a"', '"port_a"')
                if f not in text]
    got = {}
    for e in json.load(open(a.dump_json)):
        fk, fv = e["formatted"]["key"], e["formatted"]["value"]
        k = Key(fk["family"], fk["proto"], bytes(fk["addr_a"]), bytes(fk["addr_b"]),
                fk["port_a"], fk["port_b"])
        got[k] = {"packets": fv["packets"], "bytes": fv["bytes"], "flags": fv["tcp_flags"]}
    problems += compare_flows(want, got, ("packets", "bytes", "flags"))
    problems += gen_both_ways(want, got)
    diag("bpftool: %d entries, %d expected" % (len(got), len(want)))
    check("bpftool map dump of the pinned flows map: named fields (BTF), every flow with"
          " packets and bytes per direction", problems)


def cmd_pcap(a):
    _, frames = load_manifest(a.manifest, a.classify)
    want = [fr for fr in frames if fr.expect_capture()]
    got = list(read_pcap(a.pcap))
    if a.allow_cut is not None:
        return check_pcap_cut(want, got, a.allow_cut, a.snapped)
    problems = []
    want_c = collections.Counter(fr.data for fr in want)
    got_c = collections.Counter(d for d, _, _ in got)
    for data, n in (want_c - got_c).items():
        fr = next(f for f in want if f.data == data)
        problems.append("missing %dx: %s" % (n, fr.name()))
    for data, n in (got_c - want_c).items():
        problems.append("unexpected %dx: %d bytes %s..." % (n, len(data), data[:32].hex()))
    for data, orig, _ in got:
        if orig != len(data):
            problems.append("orig_len %d != caplen %d" % (orig, len(data)))
    # one RX queue, one worker: the file keeps the order of sending
    if not problems and [d for d, _, _ in got] != [fr.data for fr in want]:
        problems.append("frames not in the order they were sent")
    for fr, (data, _, ts) in zip(want, got):
        if fr.data == data and fr.t_ns and not -2000000 <= ts - fr.t_ns <= 1000000000:
            problems.append("%s: timestamp %+.3f ms from its send time"
                            % (fr.name(), (ts - fr.t_ns) / 1e6))
    diag("%d frames in the pcap, %d expected" % (len(got), len(want)))
    check("the pcap holds exactly the capturable frames sent, byte-identical, in order,"
          " with their capture times", problems)


def check_pcap_cut(want, got, limit, snapped):
    """Without AF_XDP multi-buffer: each frame in order, whole up to a page,
    longer ones cut (to at most limit bytes, their first buffer) with the
    wire length kept; as many cut as the datapath counted (snapped)."""
    problems, cut = [], 0
    if len(got) != len(want):
        problems.append("%d frames in the pcap, %d sent" % (len(got), len(want)))
    for fr, (data, orig, _) in zip(want, got):
        if orig != len(fr.data):
            problems.append("%s: orig_len %d, sent %d bytes" % (fr.name(), orig, len(fr.data)))
        if fr.data[:len(data)] != data:
            problems.append("%s: not the frame sent (%d bytes)" % (fr.name(), len(data)))
        elif len(data) < len(fr.data):
            cut += 1
            if len(fr.data) <= 3000 or not 1514 <= len(data) <= limit:
                problems.append("%s: %d bytes cut to %d (limit %d)"
                                % (fr.name(), len(fr.data), len(data), limit))
    if snapped is not None and cut != snapped:
        problems.append("%d frames cut, the datapath counted snapped = %d" % (cut, snapped))
    diag("%d frames in the pcap, %d cut (snapped %s)" % (len(got), cut, snapped))
    check("without multi-buffer: every frame once, in order, longer ones cut to at most %d"
          " bytes with the wire length kept, and counted" % limit, problems)


def cmd_count(a):
    """Prints: frames sent, frames to capture (for the shell to wait on)."""
    _, frames = load_manifest(a.manifest, a.classify)
    print(len(frames), sum(fr.expect_capture() for fr in frames))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("records")
    p.add_argument("--records", required=True)
    p.add_argument("--key", required=True, choices=("5tuple", "community-id", "metron"))
    p.add_argument("--ts-unit", default="ns", choices=("ms", "us", "ns"))
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--iface", required=True)
    p.add_argument("--queues", type=int, default=1)
    p.add_argument("--headers", default="compact", choices=("compact", "all"))
    # the sensor's option, accepted so that one argument list serves both:
    # either producer must write the same records, checked the same way
    p.add_argument("--producer", choices=("librdkafka", "batch"))
    p.add_argument("--max-dups", type=int, default=0)
    p.set_defaults(fn=cmd_records)
    p = sub.add_parser("summary")
    p.add_argument("--summary", required=True)
    p.add_argument("--sink", default="kafka", choices=("kafka", "pcap", "null"))
    p.set_defaults(fn=cmd_summary)
    p = sub.add_parser("stats")
    p.add_argument("--stats", required=True)
    p.set_defaults(fn=cmd_stats)
    p = sub.add_parser("flows")
    p.add_argument("--flows", required=True)
    p.set_defaults(fn=cmd_flows)
    p = sub.add_parser("bpftool")
    p.add_argument("--dump-json", required=True)
    p.add_argument("--dump-text", required=True)
    p.set_defaults(fn=cmd_bpftool)
    p = sub.add_parser("pcap")
    p.add_argument("--pcap", required=True)
    p.add_argument("--allow-cut", type=int, metavar="LIMIT",
                   help="frames longer than a page may be cut to at most LIMIT bytes")
    p.add_argument("--snapped", type=int, help="with --allow-cut: the datapath's count")
    p.set_defaults(fn=cmd_pcap)
    p = sub.add_parser("count")
    p.set_defaults(fn=cmd_count)
    for name in ("records", "summary", "stats", "flows", "bpftool", "pcap", "count"):
        sp = sub.choices[name]
        sp.add_argument("--manifest", required=True)
        sp.add_argument("--classify", help="classify --json of the frames sent, in order")
    a = ap.parse_args()
    a.fn(a)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
