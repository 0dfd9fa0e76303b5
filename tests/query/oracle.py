#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Oracle of the query suite (tests/query/run.sh): what `xdpsensor query`
must have written, computed without it. TAP lines ("ok - X", "not ok - X",
"# ...") on stdout.

  oracle.py prepare --sent SENT.pcap --classify CLASSIFY.jsonl --out CAPTURED.pcap
        --views VIEWS.json
      the frames of the replay the sensor captures (classify's verdict), in
      order, and tshark's decode of each (tests/pcaps's View): the outer
      5-tuple, and the innermost where classify says the sensor keys the
      frame inside tunnels; frames it keys at L2 have none
  oracle.py compare --captured CAPTURED.pcap --views VIEWS.json
        --records RECORDS.jsonl --got OUT.pcap --manifest MANIFEST.json
        [--fixed JSON | --bpf SELECTED.pcap | --regex RE | --all]
        [--window START_NS END_NS] [--snaplen N] [--limit N] [--ts-unit us]
        [--key-layer inner|outer]
      the pcap holds exactly the records whose frame the filter selects, with
      their capture times and original lengths, in capture-time order, and
      the replay's frames the filter selects are exactly those records
  oracle.py partition --scheme 5tuple|community-id --flow JSON --parts N
      the partition the Java client's murmur2 gives the flow's key
  oracle.py times --records RECORDS.jsonl
      the first, median and last capture time of the records (ns)

The capture time of a record: its xs.meta (or xs.ts_ns) header; else its
8-byte metron key (in --ts-unit); else its timestamp (ms).
"""
import argparse
import collections
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pcaps"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import compare_tshark  # noqa: E402  tshark's decode of the outer 5-tuple
import check as e2e_check  # noqa: E402  murmur2, the keys as the sensor builds them

PORT_PROTOS = (6, 17, 132)  # protocols whose ports the fixed filter reads


def read_pcap(path):
    """[(ts_ns, caplen bytes, orig_len)] of a classic pcap, and its magic."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: %d bytes, not a pcap" % (path, len(data)))
    magic = data[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
             b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
    if magic not in table:
        raise ValueError("%s: not a classic pcap" % path)
    end, mult = table[magic]
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, origlen = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        out.append((sec * 1000000000 + frac * mult, data[off:off + caplen], origlen))
        off += caplen
    if off != len(data):
        raise ValueError("%s: %d bytes after the last whole packet" % (path, len(data) - off))
    return out, magic


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 262144, 1))
        for ts, data, origlen in frames:
            f.write(struct.pack("<IIII", ts // 1000000000, ts % 1000000000, len(data), origlen))
            f.write(data)


# ------------------------------------------------------------------ prepare

def view_fields(v):
    return {"src": v.src, "dst": v.dst, "proto": v.proto,
            "ports": list(v.ports[:2]) if v.ports else None}


def cmd_prepare(a):
    frames, _ = read_pcap(a.sent)
    pkt = {}
    for line in open(a.classify):
        v = json.loads(line)
        if v.get("type") == "packet":
            pkt[v["n"]] = v
    kept = [(f, pkt[i]) for i, f in enumerate(frames, 1)
            if pkt.get(i, {}).get("verdict") == "capture"]
    captured = [f for f, _ in kept]
    write_pcap(a.out, captured)
    out = subprocess.run(compare_tshark.tshark_cmd("tshark", a.out), capture_output=True,
                         text=True, check=True).stdout
    views = []
    for row, (_, c) in zip(compare_tshark.parse_tshark(out), kept):
        v = compare_tshark.View(row, a.out)
        # tshark's fields; which header the sensor keys is classify's (tests/pcaps
        # checks that against tshark): none at L2, the tunnelled one when it
        # opened tunnels, as many as tshark shows
        decap = c.get("decap", 0)
        if decap and (v.inner is None or v.depth != decap):
            sys.exit("frame %d: the sensor opened %d tunnel(s), tshark shows %d"
                     % (v.n, decap, v.depth))
        views.append({"l2": c.get("family") == 0 or v.family is None,
                      "outer": view_fields(v),
                      "inner": view_fields(v.inner) if decap else None})
    if len(views) != len(captured):
        sys.exit("tshark decoded %d frames of %d" % (len(views), len(captured)))
    with open(a.views, "w") as f:
        json.dump(views, f)
    print("# %d of %d frames of the replay are captured" % (len(captured), len(frames)))


# ------------------------------------------------------------------ oracle

def fixed_selects(flt, view, layer):
    """Metron's fixed fields over tshark's decode of the headers the sensor
    keys: inside the tunnels it opens (layer inner), or the outer ones."""
    if view["l2"]:
        return False
    v = view["inner"] if layer == "inner" and view["inner"] else view["outer"]

    def one_way(src, dst, sport, dport):
        if "src" in flt and ipaddress.ip_address(src) not in ipaddress.ip_network(flt["src"], False):
            return False
        if "dst" in flt and ipaddress.ip_address(dst) not in ipaddress.ip_network(flt["dst"], False):
            return False
        if "sport" in flt and sport != flt["sport"]:
            return False
        if "dport" in flt and dport != flt["dport"]:
            return False
        return True

    if "proto" in flt and v["proto"] != flt["proto"]:
        return False
    sport = dport = None
    if v["ports"] and v["proto"] in PORT_PROTOS:
        sport, dport = v["ports"]
    return (one_way(v["src"], v["dst"], sport, dport)
            or (flt.get("reverse", False) and one_way(v["dst"], v["src"], dport, sport)))


def record_header(r, name):
    """A field of the record's metadata: xs.meta (--headers compact) or the
    five xs.* headers (--headers all), decoded as the e2e checker does."""
    return e2e_check.header_int(r, name) if r["headers"] else None


def record_time(r, ts_unit):
    if record_header(r, "xs.ts_ns") is not None:
        return record_header(r, "xs.ts_ns")
    if r["key"] and len(r["key"]) == 16:
        return int(r["key"], 16) * {"ms": 1000000, "us": 1000, "ns": 1}[ts_unit]
    return r["timestamp"] * 1000000


def record_orig_len(r):
    if record_header(r, "xs.orig_len") is not None:
        return record_header(r, "xs.orig_len")
    return len(r["value"]) // 2


class Tap:
    def __init__(self):
        self.failed = 0

    def check(self, name, ok, *diag):
        print("%s - %s" % ("ok" if ok else "not ok", name))
        if not ok:
            self.failed += 1
            for d in diag:
                print("#   %s" % d)


def multiset_diff(got, want, show):
    g, w = collections.Counter(got), collections.Counter(want)
    extra, missing = g - w, w - g
    out = []
    for x in list(extra)[:3]:
        out.append("unexpected: %s" % show(x))
    for x in list(missing)[:3]:
        out.append("missing: %s" % show(x))
    if extra or missing:
        out.insert(0, "%d unexpected, %d missing" % (sum(extra.values()), sum(missing.values())))
    return out


def cmd_compare(a):
    t = Tap()
    captured, _ = read_pcap(a.captured)
    views = json.load(open(a.views))
    records = [json.loads(line) for line in open(a.records) if line.strip()]
    snap = a.snaplen or 1 << 30

    # which frames of the replay the filter selects (the oracle)
    if a.fixed:
        flt = json.loads(a.fixed)
        sel_frames = [f[1] for f, v in zip(captured, views)
                      if fixed_selects(flt, v, a.key_layer)]
    elif a.bpf:
        sel_frames = [f[1] for f in read_pcap(a.bpf)[0]]
    elif a.regex:
        rx = re.compile(a.regex.encode("latin-1"), re.DOTALL)
        sel_frames = [f[1] for f in captured if rx.search(f[1][:snap])]
    else:
        sel_frames = [f[1] for f in captured]
    sel_set = {f[:snap] for f in sel_frames}

    expected = []
    for r in records:
        value = bytes.fromhex(r["value"] or "")
        ts = record_time(r, a.ts_unit)
        if value not in sel_set:
            continue
        if a.window and not (a.window[0] <= ts < a.window[1]):
            continue
        expected.append((ts, value, record_orig_len(r)))
    expected.sort(key=lambda x: x[0])

    try:
        got, magic = read_pcap(a.got)
    except (OSError, ValueError) as e:
        t.check("the output is a pcap", False, str(e))
        return t.failed
    t.check("nanosecond pcap", magic == b"\x4d\x3c\xb2\xa1", "magic %s" % magic.hex())

    if not a.window:
        # the topic holds every frame of the replay the filter selects, once
        want = [f[:snap] for f in sel_frames]
        t.check("the topic holds the %d frames of the replay the filter selects" % len(want),
                collections.Counter(want) == collections.Counter(e[1] for e in expected),
                *multiset_diff([e[1] for e in expected], want, lambda x: x[:40].hex()))
    n_all = len(records)
    t.check("the filter selects some records but not all (%d of %d)" % (len(expected), n_all),
            0 < len(expected) and (len(expected) < n_all or (a.all and not a.window)))
    if a.limit is not None:
        # the first N by capture time; records of the same time may be cut
        # in any order, so: the same times, and each packet one of them
        whole, expected = expected, expected[:a.limit]
        t.check("the first %d capture times" % a.limit,
                sorted(g[0] for g in got) == [e[0] for e in expected])
        last = expected[-1][0] if expected else None
        tied = [g for g in got if g[0] == last]
        t.check("packets at the cut are among those of that time",
                not collections.Counter(tied) - collections.Counter(whole))
        expected = [e for e in expected if e[0] != last] + tied
    t.check("%d packets, byte-identical, with their capture times and lengths" % len(expected),
            collections.Counter(got) == collections.Counter(expected),
            "got %d packets, expected %d" % (len(got), len(expected)),
            *multiset_diff(got, expected, lambda x: "ts %d len %d/%d %s" % (
                x[0], len(x[1]), x[2], x[1][:24].hex())))
    times = [g[0] for g in got]
    t.check("in capture-time order", times == sorted(times))

    if a.manifest and times:
        m = json.load(open(a.manifest))
        sent = [f["t_ns"] for f in m["frames"] if "t_ns" in f]
        lo, hi = min(sent) - 2 * 10**9, max(sent) + 5 * 10**9
        t.check("capture times within the replay's send times", lo <= min(times)
                and max(times) <= hi, "got %d..%d, sent %d..%d" % (min(times), max(times),
                                                                   min(sent), max(sent)))
    if os.path.getsize(a.got) > 24 or got:
        p = subprocess.run(["tshark", "-n", "-r", a.got, "-T", "fields", "-e", "frame.number"],
                           capture_output=True, text=True)
        n = len(p.stdout.split())
        t.check("tshark reads the pcap (%d packets)" % n, p.returncode == 0 and n == len(got),
                p.stderr.strip()[:200])
    return t.failed


# ------------------------------------------------------------------ partition

def cmd_partition(a):
    flt = json.loads(a.flow)
    src, dst = ipaddress.ip_address(flt["src"]), ipaddress.ip_address(flt["dst"])
    fam = src.version
    pk = lambda x: (x.packed if fam == 6 else b"\0" * 10 + b"\xff\xff" + x.packed)
    sport, dport = flt.get("sport", 0), flt.get("dport", 0)
    # Community ID's order: the lower (address, port) first
    if (pk(src), sport) > (pk(dst), dport):
        src, dst, sport, dport = dst, src, dport, sport
    K = collections.namedtuple("K", "addr_a addr_b port_a port_b family proto")
    k = K(pk(src), pk(dst), sport, dport, fam, flt["proto"])
    if a.scheme == "5tuple":
        key = e2e_check.key_5tuple(k)
    else:
        key = e2e_check.community_id(k, True).encode()
    print(e2e_check.kafka_partition(key, a.parts))


def cmd_times(a):
    ts = sorted(record_time(json.loads(line), a.ts_unit) for line in open(a.records)
                if line.strip())
    print(ts[0], ts[len(ts) // 2], ts[-1])


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--sent", required=True)
    p.add_argument("--classify", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--views", required=True)
    p = sub.add_parser("compare")
    p.add_argument("--captured", required=True)
    p.add_argument("--views", required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--got", required=True)
    p.add_argument("--manifest")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--fixed")
    g.add_argument("--bpf")
    g.add_argument("--regex")
    g.add_argument("--all", action="store_true")
    p.add_argument("--window", type=int, nargs=2)
    p.add_argument("--snaplen", type=int)
    p.add_argument("--limit", type=int)
    p.add_argument("--ts-unit", default="ns")
    p.add_argument("--key-layer", default="inner", choices=("inner", "outer"))
    p = sub.add_parser("partition")
    p.add_argument("--scheme", required=True)
    p.add_argument("--flow", required=True)
    p.add_argument("--parts", type=int, required=True)
    p = sub.add_parser("times")
    p.add_argument("--records", required=True)
    p.add_argument("--ts-unit", default="ns")
    a = ap.parse_args()
    if a.cmd == "prepare":
        cmd_prepare(a)
    elif a.cmd == "compare":
        sys.exit(1 if cmd_compare(a) else 0)
    elif a.cmd == "partition":
        cmd_partition(a)
    else:
        cmd_times(a)


if __name__ == "__main__":
    main()
