#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Where the sensor's CPU per delivered record goes, by thread, at one rate
# (no perf counters needed): each thread's CPU time from
# /proc/PID/task/TID/schedstat over a run of xs-gen traffic into a veth,
# divided by the records delivered. Threads: xs-wN (the worker: RX ring,
# key, produce, delivery reports, spool), rdk:main and rdk:brokerN
# (librdkafka: batching, protocol, socket), the main thread (counters).
#
# XS=PATH measures another build of the sensor (an A/B of one change).
# WRAP="TOOL ARGS" runs the receiver under a tool (bench/callgrind.sh: valgrind).
# usage: bench/cpu_split.sh [--rate PPS] [--seconds S] [--probe|--alone|--batch] [-- ARGS...]
#   e.g. bench/cpu_split.sh --rate 50000 -- --headers all
# --probe measures the classic probe (build/bench/pcap-probe) instead, the
# peer of issue #11's CPU target: its threads side by side with the sensor's.
# --alone measures kafka-alone paced at the rate, no capture at all (ARGS:
# its options, e.g. -M IFNAME for the sensor's compact header): the floor
# librdkafka's per-record calls put under any receiver that uses them.
# --batch measures kafka-batch the same way: the same records through
# record batches of its own (no librdkafka), what a producer of ours costs.
# Root; starts a broker of its own. One JSON line: records offered (asked
# of xs-gen, or of the Kafka-only peer) and delivered (it measures CPU, not
# loss); ns per delivered record per thread name, and the total; context
# switches per 1000 records per thread name (its wake-ups: on a VM each
# costs microseconds).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=50000 secs=10 probe= peer=
while (($#)); do
	case $1 in
	--rate) rate=$2; shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	--probe) probe=1; shift ;;
	--alone) peer=kafka-alone; shift ;;
	--batch) peer=kafka-batch; shift ;;
	--) shift; break ;;
	*) echo "usage: bench/cpu_split.sh [--rate PPS] [--seconds S] [--probe|--alone|--batch] [-- ARGS...]" >&2; exit 2 ;;
	esac
done
ns=xscpu-$$ va=xc$$a vb=xc$$b w=$(mktemp -d /tmp/xs-cpu.XXXXXX) spid=
cleanup() {
	[[ -z $spid ]] || kill -KILL "$spid" 2>/dev/null || true
	"${XS:-build/xdpsensor}" detach -i "$va" --force >/dev/null 2>&1 || true
	ip netns del "$ns" 2>/dev/null || true
	ip link del "$va" 2>/dev/null || true
	tests/kafka/broker.sh stop "$w/kafka" >/dev/null 2>&1 || true
	rm -rf "$w"
}
trap cleanup EXIT
broker=$(tests/kafka/broker.sh start "$w/kafka" 2>/dev/null)
tests/kafka/broker.sh create-topic "$w/kafka" cpu 4 2>/dev/null
ip netns add "$ns"
ip link add "$va" type veth peer name "$vb" netns "$ns"
ip link set "$va" up
ip -n "$ns" link set "$vb" up
# as bench/run.sh: the generator on CPU 0, the receiver on CPU 1
XS=${XS:-build/xdpsensor} pin=(taskset -c 1) gpin=(taskset -c 0)
(($(nproc) >= 2)) || pin=() gpin=()
read -r -a wrap <<<"${WRAP:-}"
pin+=("${wrap[@]}")
if [[ $peer ]]; then # a Kafka-only peer, paced
	"${pin[@]}" "build/bench/$peer" -b "$broker" -t cpu -r "$rate" -n $((rate * secs)) "$@" \
		>"$w/out" 2>"$w/err" &
	spid=$! ready=ready
elif [[ $probe ]]; then
	"${pin[@]}" build/bench/pcap-probe -i "$va" -o kafka -b "$broker" -t cpu "$@" >"$w/out" 2>"$w/err" &
	spid=$! ready=ready
else
	"${pin[@]}" "$XS" run -i "$va" -b "$broker" -t cpu --spool-dir "$w/spool" "$@" >"$w/out" 2>"$w/err" &
	spid=$! ready="capturing;"
fi
until grep -qs "$ready" "$w/err"; do sleep 0.1; done
# per thread: its name, CPU time (ns) and context switches (its wakeups)
snap() {
	for t in /proc/"$spid"/task/*; do
		echo "$(<"$t/comm") $(cut -d' ' -f1 "$t/schedstat") $(awk '/ctxt_switches/ { s += $2 } END { print s }' "$t/status")"
	done
}
snap >"$w/before"
if [[ $peer ]]; then # its line comes after its last delivery report (response)
	until grep -q '"tool"' "$w/out"; do sleep 0.1; done
else
	ip netns exec "$ns" "${gpin[@]}" build/bench/xs-gen -i "$vb" -m "$(<"/sys/class/net/$va/address")" \
		-r "$rate" -n $((rate * secs)) -s 64 -f 1024 >/dev/null 2>&1
	sleep 2
fi
snap >"$w/after"
kill -INT "$spid"
wait "$spid" || true
spid=
python3 - "$w" "$rate" "$secs" "$*" <<'PY'
import collections, json, re, sys
w, rate, secs, args = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def load(p):
    cpu, switches = collections.Counter(), collections.Counter()
    for line in open(p):
        name, ns, cs = line.rsplit(" ", 2)
        name = re.sub(r"\d+$", "N", name)
        cpu[name] += int(ns)
        switches[name] += int(cs)
    return cpu, switches
(b, bs), (a, as_) = load(w + "/before"), load(w + "/after")
s = json.loads(open(w + "/out").read())
n = max(s["delivered"], 1)
per = {k: round((a[k] - b.get(k, 0)) / n) for k in a}
wakeups = {k: round(1000 * (as_[k] - bs.get(k, 0)) / n, 1) for k in as_}
# offered: what xs-gen was asked to send (or the Kafka-only peer to produce); this
# script measures CPU, not loss: a shortfall may be the generator's or the
# veth pair's, which the receiver's own counters do not see
print(json.dumps({"rate": rate, "args": args, "offered": rate * secs,
                  "delivered": s["delivered"],
                  "spool_in": s.get("spool_in", 0), "ns_per_record": per,
                  "total_ns_per_record": sum(per.values()),
                  "switches_per_1k_records": wakeups}))
PY
