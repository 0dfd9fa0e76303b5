#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
The end-to-end checks of flow records (`run --flows-topic`) and of the
Kafka Streams example (examples/kafka-streams) against them. TAP lines
without numbers, as check.py (whose parser and flow keys it uses).

  check_flows.py records --manifest M [--manifest M2...] --records R
                 [--active-s S] [--long PREFIX] [--summary SUMMARY]
      every flow's deltas add up to its totals and to what was sent; `time`
      in ms, within a second of the export; flows whose name starts with
      PREFIX cross several active timeouts (S seconds)
  check_flows.py streams --records R --stats T [--quiet]
      the example's per-flow counts (the last record of each key in T)
      equal the sums of the flow records' deltas, for every flow
  check_flows.py full --manifest M --records R --stats STATS --summary SUMMARY
                 --flows-max N
      a full table: every packet is in a record or in flow_table_full,
      and far more flows than the table holds were counted
Python 3 standard library only.
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check as C  # noqa: E402

DIRS = (("pkts_ab", "total_pkts_ab"), ("pkts_ba", "total_pkts_ba"),
        ("bytes_ab", "total_bytes_ab"), ("bytes_ba", "total_bytes_ba"))


def flow_records(path):
    """{key hex: [(kafka record, flow record)] in offset order}."""
    recs = collections.defaultdict(list)
    for r in sorted(C.read_jsonl(path), key=lambda r: (r["partition"], r["offset"])):
        recs[r["key"]].append((r, json.loads(bytes.fromhex(r["value"]))))
    return recs


def sums(records):
    """Sum of the deltas of one flow's records: [pkts_ab, pkts_ba, bytes_ab, bytes_ba]."""
    return [sum(f[d] for _, f in records) for d, _ in DIRS]


def cmd_records(a):
    frames = []
    for m in a.manifest:
        frames += C.load_manifest(m)[1]
    want = C.expected_flows(frames)
    recs = flow_records(a.records)
    C.diag("%d flow records of %d flows; %d flows sent"
           % (sum(map(len, recs.values())), len(recs), len(want)))

    # the records of each flow: deltas add up, record by record, to its totals
    problems = []
    for key, rs in sorted(recs.items()):
        run = [0, 0, 0, 0]
        for _, f in rs:
            for i, (d, t) in enumerate(DIRS):
                run[i] += f[d]
                if f[t] != run[i]:
                    problems.append("%s %s: %s %d after deltas summing to %d"
                                    % (f["src"], f["dst"], t, f[t], run[i]))
            if f["pkts"] != f["pkts_ab"] + f["pkts_ba"] or \
                    f["bytes"] != f["bytes_ab"] + f["bytes_ba"]:
                problems.append("%s %s: pkts/bytes are not the sums of their directions: %s"
                                % (f["src"], f["dst"], f))
            if f["pkts"] == 0:
                problems.append("%s %s: a record without packets" % (f["src"], f["dst"]))
    C.check("each flow's deltas add up, record by record, to its totals", problems)

    # ... and to what was sent
    got, problems = {}, []
    for key, rs in recs.items():
        f = rs[-1][1]
        k = C.key_from_text(f["src"], f["srcp"], f["dst"], f["dstp"], f["proto"])
        if C.key_5tuple(k).hex() != key:
            problems.append("%s %s keyed %s" % (f["src"], f["dst"], key))
        s = sums(rs)
        got[k] = {"packets": s[0:2], "bytes": s[2:4], "flags": f["flags"]}
    C.check("keyed by their flow's 5-tuple key (as its packets)", problems)
    C.check("the sums of the deltas are the packets and bytes sent, per"
            " direction, for every flow", C.compare_flows(want, got, ("packets", "bytes", "flags")))

    # time: KFlow's export time in ms since the epoch, as Kafka's CreateTime
    problems = []
    for key, rs in sorted(recs.items()):
        for r, f in rs:
            if f["time"] < 10 ** 12:
                problems.append("%s %s: time %d is not in ms" % (f["src"], f["dst"], f["time"]))
            elif abs(f["time"] - r["timestamp"]) > 1000:
                problems.append("%s %s: time %d, produced at %d (%+d ms)" % (
                    f["src"], f["dst"], f["time"], r["timestamp"], f["time"] - r["timestamp"]))
            if f["time"] < f["last_ns"] // 10 ** 6 - 10:
                problems.append("%s %s: time %d before the flow's last packet %d"
                                % (f["src"], f["dst"], f["time"], f["last_ns"] // 10 ** 6))
    C.check("time in ms since the epoch, within a second of the export", problems)

    if a.long:
        problems = []
        names = {}
        for fr in frames:
            if fr.meta.get("conv", "").startswith(a.long):
                names[C.key_5tuple(fr.key).hex()] = fr.meta["conv"]
        for key, name in sorted(names.items(), key=lambda kv: kv[1]):
            rs = [f for _, f in recs.get(key, [])]
            active = [f for f in rs if f["end"] == "active"]
            sent = [fr.t_ns for fr in frames if C.key_5tuple(fr.key).hex() == key]
            lasted = (max(sent) - min(sent)) / 1e9
            want_n = int(lasted // a.active_s) - 1
            if len(active) < max(want_n, 2):
                problems.append("%s: lasted %.1f s, %d active records (ends: %s), expected >= %d"
                                % (name, lasted, len(active), [f["end"] for f in rs],
                                   max(want_n, 2)))
            for x, y in zip(active, active[1:]):
                if y["time"] - x["time"] < a.active_s * 1000 - 50:
                    problems.append("%s: active records %d ms apart, timeout %d s"
                                    % (name, y["time"] - x["time"], a.active_s))
        C.diag("%d long-lived flows" % len(names))
        if not names:
            problems.append("no flow named %s* was sent" % a.long)
        C.check("each long-lived flow is exported while it lasts, once per"
                " active timeout", problems)

    if a.summary:
        s = C.read_summary(a.summary)
        n = sum(map(len, recs.values()))
        problems = []
        if s["flows_exported"] != n or s["flows_export_failed"]:
            problems.append("summary: flows_exported %d, failed %d; %d records in the topic"
                            % (s["flows_exported"], s["flows_export_failed"], n))
        C.check("the summary counts every record delivered", problems)


def latest_stats(path):
    """{key hex: the last statistics record of the example for that key}."""
    last = {}
    for r in sorted(C.read_jsonl(path), key=lambda r: (r["partition"], r["offset"])):
        last[r["key"]] = json.loads(bytes.fromhex(r["value"]))
    return last


def cmd_streams(a):
    recs = flow_records(a.records)
    stats = latest_stats(a.stats)
    problems = []
    for key in sorted(set(recs) | set(stats)):
        if key not in stats:
            problems.append("flow %s: no statistics" % key[:80])
            continue
        st = stats[key]
        if key not in recs:
            problems.append("%s: statistics but no flow record" % st["flow"])
            continue
        s = sums(recs[key])
        want = {"packets": s[0] + s[1], "bytes": s[2] + s[3], "packets_ab": s[0],
                "packets_ba": s[1], "bytes_ab": s[2], "bytes_ba": s[3]}
        for field, v in want.items():
            if st[field] != v:
                problems.append("%s %s: %s %d, flow records %d"
                                % (st["proto"], st["flow"], field, st[field], v))
    if a.quiet:
        return 1 if problems else 0
    C.diag("%d flows in the statistics, %d in the flow records" % (len(stats), len(recs)))
    C.check("kafka streams example: per-flow packets (count()) and bytes (aggregate), per"
            " direction, equal the sums of the flow records' deltas, for every flow", problems)
    return 0


def cmd_full(a):
    _, frames = C.load_manifest(a.manifest[0])
    recs = flow_records(a.records)
    stats = json.loads(open(a.stats).read())
    summary = C.read_summary(a.summary)
    keyed = len(frames)  # every frame is keyed, at IP or at L2
    in_records = sum(f["pkts"] for rs in recs.values() for _, f in rs)
    full = stats["flow_table_full"]
    evicted = sum(f["end"] == "evicted" for rs in recs.values() for _, f in rs)
    C.diag("%d packets of %d new flows into a table of %d: %d in %d records of %d flows"
           " (%d evicted), %d found the table full"
           % (keyed, len(C.expected_flows(frames)), a.flows_max, in_records,
              sum(map(len, recs.values())), len(recs), evicted, full))
    problems = []
    if in_records + full != keyed:
        problems.append("records %d + flow_table_full %d != %d packets sent"
                        % (in_records, full, keyed))
    C.check("every packet is in a flow record or counted in flow_table_full",
            problems)
    problems = []
    if len(recs) < 4 * a.flows_max:
        problems.append("only %d flows counted with a table of %d" % (len(recs), a.flows_max))
    if summary["flows_evicted"] != evicted:
        problems.append("summary flows_evicted %d, %d records say evicted"
                        % (summary["flows_evicted"], evicted))
    if evicted < len(recs) - a.flows_max:
        problems.append("%d flows counted, %d evicted: more than the table holds were not"
                        % (len(recs), evicted))
    C.check("new flows keep being counted; what is evicted is exported", problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("records")
    p.add_argument("--manifest", action="append", required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--active-s", type=int, default=60)
    p.add_argument("--long")
    p.add_argument("--summary")
    p.set_defaults(fn=cmd_records)
    p = sub.add_parser("streams")
    p.add_argument("--records", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--quiet", action="store_true", help="no output; exit 1 on a mismatch")
    p.set_defaults(fn=cmd_streams)
    p = sub.add_parser("full")
    p.add_argument("--manifest", action="append", required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--flows-max", type=int, required=True)
    p.set_defaults(fn=cmd_full)
    a = ap.parse_args()
    rc = a.fn(a)
    return rc or (1 if C.failures else 0)


if __name__ == "__main__":
    sys.exit(main())
