#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Checks of `run --metrics` (tests/e2e/service.sh). TAP lines without numbers,
as check.py prints them. Python 3 standard library only.

  metrics.py get URL                        the body, or exit 1
  metrics.py same --page P --stats S --iface IF [--summary J]
                                            the page, `stats --json` and the
                                            exit summary hold the same numbers
  metrics.py flood URL N                    N requests, one connection each
  metrics.py bad HOST PORT                  bad requests get a 4xx
  metrics.py query PROM EXPR WANT SECS      a PromQL query until it is WANT
"""
import json
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from check import ledger_problems  # the workers' ledger, as the summary's

failures = 0


def tap(ok, name, problems=()):
    global failures
    print("%s - %s" % ("ok" if ok else "not ok", name))
    failures += not ok
    for p in list(problems)[:20]:
        print("#   %s" % p)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("not a sample: %r" % line)
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def cmd_get(url):
    status, body = get(url)
    sys.stdout.write(body)
    return 0 if status == 200 else 1


# The workers' counters of `stats --json`: (metric, labels beside iface).
WORKER = {"read": ("xdpsensor_read_packets_total", {}),
          "unparked": ("xdpsensor_unparked_packets_total", {}),
          "produced": ("xdpsensor_produced_records_total", {}),
          "delivered": ("xdpsensor_delivered_records_total", {}),
          "failed": ("xdpsensor_failed_records_total", {}),
          "no_meta": ("xdpsensor_timestamp_not_from_xdp_total", {}),
          "queue_full": ("xdpsensor_dropped_total", {"reason": "queue_full"}),
          "sink_errors": ("xdpsensor_dropped_total", {"reason": "sink_error"}),
          "xsk_rx_dropped": ("xdpsensor_dropped_total", {"reason": "xsk_rx_dropped"}),
          "xsk_rx_ring_full": ("xdpsensor_dropped_total", {"reason": "xsk_rx_ring_full"}),
          "xsk_fill_ring_empty": ("xdpsensor_xsk_fill_ring_empty_total", {}),
          "xsk_rx_invalid_descs": ("xdpsensor_xsk_rx_invalid_descs_total", {}),
          "spool_full": ("xdpsensor_dropped_total", {"reason": "spool_full"}),
          "spool_errors": ("xdpsensor_dropped_total", {"reason": "spool_error"}),
          "in_flight": ("xdpsensor_in_flight_records", {}),
          "spooled": ("xdpsensor_spooled", {}),
          "spool_bytes": ("xdpsensor_spool_bytes", {})}
for k in ("spool_in", "spool_out", "reclaimed", "maybe_dup", "spool_recovered", "spool_torn",
          "spool_corrupt"):
    WORKER[k] = ("xdpsensor_%s_total" % k, {})
# derived from the time of reading: on the page, not compared
AGES = {"spool_oldest_age_ms": "xdpsensor_spool_oldest_timestamp_seconds"}
OUTCOMES = ("captured", "capture_no_socket", "parked", "counted", "dropped")


def find(page, name, **want):
    """Sum of the samples of name whose labels include want; None if none."""
    vals = [v for (n, labels), v in page.items()
            if n == name and set(want.items()) <= set(labels)]
    return sum(vals) if vals else None


def ledger(page, iface, stats):
    """The page's figure of every counter `stats --json` has, by its name
    there; the names not on the page. The XDP program's counters are
    xdpsensor_NAME_total, or a label of the outcome or L2 families."""
    f, missing = {}, []
    for k in stats:
        if k in ("iface", "sensor"):  # who, not a count (a page is a running sensor's)
            continue
        if k in AGES:
            if find(page, AGES[k], iface=iface) is None:
                missing.append(k)
            continue
        if k in WORKER:
            v = find(page, WORKER[k][0], iface=iface, **WORKER[k][1])
        else:
            v = find(page, "xdpsensor_xdp_packets_total", iface=iface, outcome=k)
            if v is None:
                v = find(page, "xdpsensor_l2_keyed_packets_total", iface=iface, reason=k)
            if v is None:
                v = find(page, "xdpsensor_%s_total" % k, iface=iface)
        if v is None:
            missing.append(k)
        else:
            f[k] = v
    return f, missing


def cmd_same(args):
    a = dict(zip(args[::2], args[1::2]))
    page = parse(open(a["--page"]).read())
    stats = json.loads(open(a["--stats"]).read())
    f, missing = ledger(page, a["--iface"], stats)
    problems = ["%s: not on /metrics" % k for k in missing]
    problems += ["%s: /metrics %d, stats --json %s" % (k, v, stats[k])
                 for k, v in f.items() if stats[k] != v]
    outcomes = find(page, "xdpsensor_xdp_packets_total", iface=a["--iface"])
    if outcomes != f.get("rx_packets") or outcomes != sum(f.get(k, 0) for k in OUTCOMES):
        problems.append("outcomes add up to %s, rx_packets %s" % (outcomes, f.get("rx_packets")))
    if not missing:
        problems += ledger_problems(f)
    tap(not problems, "/metrics and stats --json: the same %d counters, and they add up"
        % len(f), problems)
    if "--summary" in a:
        s = json.loads(open(a["--summary"]).read())
        names = {"received": "read"}
        problems = ["%s: summary %s, /metrics %s" % (k, s[k], f.get(names.get(k, k)))
                    for k in ("rx_packets", "captured", "received", "produced", "delivered",
                              "failed", "queue_full", "sink_errors", "xsk_rx_dropped",
                              "xsk_rx_ring_full", "no_meta")
                    if s[k] != f.get(names.get(k, k))]
        # the flows removed (expired, evicted) by the flow exporters, summed
        for k, reason in (("flows_expired", "expired"), ("flows_evicted", "evicted")):
            v = find(page, "xdpsensor_flows_removed_total", reason=reason)
            if s[k] != v:
                problems.append("%s: summary %s, /metrics %s" % (k, s[k], v))
        v = find(page, "xdpsensor_lost_in_restart_packets_total", iface=a["--iface"])
        if s["lost_in_restart"] != v:
            problems.append("lost_in_restart: summary %s, /metrics %s" % (s["lost_in_restart"], v))
        tap(not problems, "/metrics and the exit summary: the same numbers", problems)
    return failures


def cmd_flood(url, n):
    bad = 0
    t0 = time.time()
    for _ in range(int(n)):
        try:
            status, body = get(url)
            bad += status != 200 or "xdpsensor_rx_packets_total" not in body
        except (OSError, urllib.error.URLError):
            bad += 1
    print("# %s requests in %.1f s, %d bad" % (n, time.time() - t0, bad))
    return 1 if bad else 0


def raw(host, port, data):
    """The status code of the answer to the bytes data."""
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(m.group(1)) if m else None


def cmd_bad(host, port):
    cases = (("GET /nothing-here", b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n", 404),
             ("POST /metrics", b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
              b"Connection: close\r\n\r\nabc", 405),
             ("a header line without a colon", b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
              b"NoColonHere\r\n\r\n", 400),
             ("a Content-Length that is not a number", b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: zz\r\n\r\n", 400))
    # (a request line that is not HTTP at all: libmicrohttpd closes the
    # connection without an answer)
    for name, data, want in cases:
        got = raw(host, port, data)
        tap(got == want, "%s: %s (expected %d)" % (name, got, want))
    return failures


def cmd_query(prom, expr, want, secs):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    deadline = time.time() + float(secs)
    last = None
    while time.time() < deadline:
        try:
            _, body = get(url)
            r = json.loads(body)["data"]["result"]
            last = [x["value"][1] for x in r]
            if last == [want]:
                break
        except (OSError, urllib.error.URLError, ValueError, KeyError) as e:
            last = str(e)
        time.sleep(0.5)
    tap(last == [want], "Prometheus answers %s = %s (got %s)" % (expr, want, last))
    return failures


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"get": cmd_get, "same": lambda *a: cmd_same(list(a)), "flood": cmd_flood,
          "bad": cmd_bad, "query": cmd_query}[cmd]
    sys.exit(1 if fn(*args) else 0)
