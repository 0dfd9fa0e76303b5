#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The fault variants of issue 11's target 4, on the bench's veth pair and a
# broker of its own: xs-gen sends at --rate for --outage + 30 s; 5 s in,
# the fault starts; after --outage seconds it ends:
#   stop          the broker is stopped (kill -STOP), then resumed
#   kill          the broker is killed (kill -9), then restarted on its data
#   sensor-kill   the broker is stopped; halfway through, the sensor is killed
#                 (kill -9) and restarted at once on its spool; then resumed
#   sensor-restart  the broker stays up; after --outage seconds the sensor is
#                 stopped (SIGTERM) and started again at once: an upgrade;
#                 --handover passes run's --handover to both runs
#   sensor-crash  the broker stays up; after --outage seconds the sensor is
#                 killed (kill -9, as a crash) and started again at once
# Then the sensor drains its spool and stops. Prints one JSON line: frames
# sent, delivered, records in the topic, copies (maybe_dup), lost (sent -
# distinct records: 0 is the target), records out of capture order per key,
# xsk_rx_ring_full by phase (before, during, after the outage; the stats of
# every second are kept in build/bench/fault-FAULT.timeline.jsonl), what
# the veth pair itself dropped before any XDP program saw it, also by phase
# (the restart: from the signal to a second after the next run captures),
# and for sensor-kill the frames that met no socket during the restart:
# parked by the killed run's program, then by the next run's until its
# sockets are in, and taken from the ring by the next run (unparked), or
# lost if the ring was full (lost_in_restart, capture_no_socket).
#
# usage: bench/fault.sh --fault stop|kill|sensor-kill|sensor-restart|sensor-crash [--rate PPS]
#        [--outage S] [--flows N] [--spool-max BYTES] [--handover] [--producer KIND]
# (root; default rate 100k, outage 30 s, 1024 flows, a 4 GiB spool: the
# outage's records must fit, about 150 bytes each for 64-byte frames, and a
# killed broker takes another ~10 s to come back)
# Run it at half the sensor's zero-loss rate (`make bench` prints it). It
# needs a quiet machine as make bench does; tests/e2e/spool.sh checks the
# same faults frame by frame at a modest rate.
set -euo pipefail
cd "$(dirname "$0")/.."

fault=stop rate=100000 outage=30 flows=1024 spool_max=4G run_args=()
while (($#)); do
	case $1 in
	--fault) fault=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--outage) outage=$2; shift 2 ;;
	--flows) flows=$2; shift 2 ;;
	--spool-max) spool_max=$2; shift 2 ;;
	--handover) run_args+=(--handover); shift ;;
	--producer) run_args+=(--producer "$2"); shift 2 ;;
	*) echo "usage: bench/fault.sh --fault stop|kill|sensor-kill|sensor-restart|sensor-crash [--rate PPS] [--outage S] [--flows N] [--spool-max BYTES] [--handover] [--producer KIND]" >&2; exit 2 ;;
	esac
done
case $fault in stop | kill | sensor-kill | sensor-restart | sensor-crash) ;; *) echo "unknown --fault $fault" >&2; exit 2 ;; esac
[[ $(id -u) == 0 ]] || { echo "bench/fault.sh: needs root" >&2; exit 1; }

XS=build/xdpsensor GEN=build/bench/xs-gen CONSUME=build/e2e/xs-consume
for f in "$XS" "$GEN" "$CONSUME"; do
	[[ -x $f ]] || { echo "bench/fault.sh: $f missing: make test-build" >&2; exit 1; }
done
ns=xsflt-$$ va=xf$$a vb=xf$$b topic=xsfault-$fault-$$
w=$(mktemp -d /tmp/xs-fault.XXXXXX)
bdir=$w/kafka spid= sampid=
log() { printf 'fault: %s\n' "$*" >&2; }

cleanup() {
	[[ -z $spid ]] || kill -KILL "$spid" 2>/dev/null || true
	[[ -z $sampid ]] || kill "$sampid" 2>/dev/null || true
	[[ ! -f $bdir/pid ]] || kill -CONT "$(<"$bdir/pid")" 2>/dev/null || true
	"$XS" detach -i "$va" --force >/dev/null 2>&1 || true
	ip netns del "$ns" 2>/dev/null || true
	ip link del "$va" 2>/dev/null || true
	tests/kafka/broker.sh stop "$bdir" >/dev/null 2>&1 || true
	[[ -z ${FAULT_KEEP:-} ]] && rm -rf "$w" || echo "kept $w" >&2
}
trap cleanup EXIT

broker=$(tests/kafka/broker.sh start "$bdir" 2>"$w/broker.err")
tests/kafka/broker.sh create-topic "$bdir" "$topic" 4 2>>"$w/broker.err"
ip netns add "$ns"
ip link add "$va" type veth peer name "$vb" netns "$ns"
ip link set "$va" up
ip -n "$ns" link set "$vb" up
mac=$(cat "/sys/class/net/$va/address")

sensor() { # sensor N: a run writing its output to $w/sensorN.*
	"$XS" run -i "$va" -b "$broker" -t "$topic" --spool-dir "$w/spool" --spool-max "$spool_max" \
		"${run_args[@]}" >"$w/sensor$1.out" 2>"$w/sensor$1.err" &
	spid=$!
	until grep -q "capturing;" "$w/sensor$1.err"; do
		kill -0 "$spid" 2>/dev/null || { cat "$w/sensor$1.err" >&2; exit 1; }
		sleep 0.1
	done
}
stats() { "$XS" stats -i "$va" --json; }
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

# what the veth pair dropped so far, before any XDP program saw it: the
# receiving side's rx_dropped and the sending side's tx_dropped
veth_drops() {
	echo $(($(cat "/sys/class/net/$va/statistics/rx_dropped") +
		$(ip netns exec "$ns" cat "/sys/class/net/$vb/statistics/tx_dropped")))
}
# one stats line a second: where in the run (before, in, after the outage,
# the restart) any loss happened
sampler() {
	while :; do
		"$XS" stats -i "$va" --json 2>/dev/null |
			sed "s/^{/{\"t\":$(date +%s.%N),\"veth_dropped\":$(veth_drops),/" || true
		sleep 1
	done >>"$w/timeline.jsonl"
}
sensor 1
sampler &
sampid=$!
total=$((outage + ${FAULT_TAIL:-30}))
ip netns exec "$ns" "$GEN" -i "$vb" -m "$mac" -r "$rate" -n $((rate * total)) -s 64 \
	-f "$flows" >"$w/gen.json" 2>"$w/gen.err" &
gpid=$!
sleep 5
bpid=$(<"$bdir/pid")
log "fault $fault at $(date +%T), for $outage s at $rate pps"
t_fault=$(date +%s.%N)
case $fault in
stop | sensor-kill) kill -STOP "$bpid" ;;
kill) kill -KILL "$bpid" ;;
esac
if [[ $fault == sensor-kill ]]; then
	sleep $((outage / 2))
	stats >"$w/before-kill.json"
	t_kill=$(date +%s.%N)
	kill -KILL "$spid"
	wait "$spid" 2>/dev/null || true
	sensor 2
	t_up=$(date +%s.%N)
	sleep $((outage - outage / 2))
elif [[ $fault == sensor-restart || $fault == sensor-crash ]]; then
	[[ $fault == sensor-crash ]] && stats >"$w/before-kill.json"
	t_kill=$(date +%s.%N)
	kill -"$([[ $fault == sensor-crash ]] && echo KILL || echo TERM)" "$spid"
	wait "$spid" 2>/dev/null || true
	sensor 2
	t_up=$(date +%s.%N)
	sleep "$outage"
else
	sleep "$outage"
fi
case $fault in
stop | sensor-kill) kill -CONT "$bpid" ;;
kill) tests/kafka/broker.sh restart "$bdir" 2>>"$w/broker.err" ;;
esac
log "broker back at $(date +%T)"
t_back=$(date +%s.%N)
wait "$gpid"
for _ in $(seq 600); do
	s=$(stats)
	[[ $(field spooled <<<"$s") == 0 && $(field in_flight <<<"$s") == 0 ]] && break
	sleep 1
done
kill "$sampid" 2>/dev/null || true
kill -TERM "$spid"
wait "$spid" || true
spid=
echo "$t_fault $t_back ${t_kill:-0} ${t_up:-0}" >"$w/phases"
# what the veth pair dropped before any XDP program saw it (a busy machine)
{ ip -j -s link show dev "$va"; ip -n "$ns" -j -s link show dev "$vb"; } >"$w/veth.json"
mkdir -p build/bench
cp "$w/timeline.jsonl" "build/bench/fault-$fault.timeline.jsonl"
n=$([[ $fault == sensor-* ]] && echo 2 || echo 1)
timeout 900 "$CONSUME" -b "$broker" -t "$topic" -e -I 30000 -T 850000 >"$w/records.jsonl" 2>/dev/null
python3 - "$w" "$n" "$fault" "$rate" "$outage" <<'EOF'
import collections, hashlib, json, struct, sys
w, n, fault, rate, outage = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
gen = json.loads(open(w + "/gen.json").read().strip().splitlines()[-1])
# a run killed with -9 printed no summary: its stats just before stand in
# (sensor-restart: both runs printed theirs)
killed = fault in ("sensor-kill", "sensor-crash")
first = n if killed else 1
runs = [json.loads(open("%s/sensor%d.out" % (w, i)).read()) for i in range(first, n + 1)]
before = json.loads(open(w + "/before-kill.json").read()) if killed else None
seen, copies, disorder = set(), 0, 0
last = {}
others = 0
for line in open(w + "/records.jsonl"):
    r = json.loads(line)
    # xs-gen's frames come from 198.18.0.0/16 (IPv4 source at byte 26); the
    # host's own (neighbour discovery, ...) are captured too, and not counted
    if (r["value"] or "")[52:56] != "c612":
        others += 1
        continue
    meta = bytes.fromhex(r["headers"].get("xs.meta") or "")
    ts = struct.unpack("!Q", meta[8:16])[0] if len(meta) >= 16 else 0
    # a digest, not the record: tens of millions must fit in memory
    ident = hashlib.blake2b(("%s|%d|%s" % (r["key"], ts, r["value"])).encode(), digest_size=16).digest()
    if ident in seen:
        copies += 1
        continue
    seen.add(ident)
    k = (r["partition"], r["key"])
    if ts < last.get(k, 0):
        disorder += 1
    last[k] = ts
# xsk_rx_ring_full by phase, from the timeline (a restarted sensor starts at 0)
t_fault, t_back, t_kill, t_up = map(float, open(w + "/phases").read().split())
ring = {"before": 0, "outage": 0, "after": 0}
# the veth pair's drops by phase; "restart": from the signal to a second
# after the next run captures (the samples are a second apart)
veth = {"before": 0, "outage": 0, "restart": 0, "after": 0}
prev = prev_veth = 0
for line in open(w + "/timeline.jsonl"):
    s = json.loads(line)
    v = s["xsk_rx_ring_full"]
    d = v - prev if v >= prev else v
    prev = v
    ring["before" if s["t"] < t_fault else "outage" if s["t"] < t_back + 1 else "after"] += d
    phase = "before" if s["t"] < t_fault else \
        "restart" if t_kill and t_kill <= s["t"] < t_up + 1 else \
        "outage" if s["t"] < t_back + 1 else "after"
    veth[phase] += s["veth_dropped"] - prev_veth
    prev_veth = s["veth_dropped"]
va, vb = (json.loads(l)[0]["stats64"] for l in open(w + "/veth.json"))
veth_dropped = va["rx"]["dropped"] + vb["tx"]["dropped"]
maybe_dup = sum(s["maybe_dup"] for s in runs) + (before["maybe_dup"] if before else 0)
print(json.dumps({
    "fault": fault, "rate": rate, "outage_s": outage, "sent": gen.get("sent"),
    "records": len(seen) + copies, "distinct": len(seen), "copies": copies,
    "host_frames": others,
    "maybe_dup": maybe_dup,
    # sent and not in the topic; with sensor-kill this includes the frames
    # that arrived while no sensor ran (the restart: about a second)
    "lost": gen.get("sent", 0) - len(seen), "out_of_order": disorder,
    "spool_in": sum(s["spool_in"] for s in runs), "reclaimed": sum(s["reclaimed"] for s in runs),
    "spool_full": sum(s["spool_full"] for s in runs), "queue_full": sum(s["queue_full"] for s in runs),
    "ring_full_by_phase": ring,
    # not seen by the XDP program: the sending side of the veth pair dropped them
    "veth_dropped": veth_dropped, "veth_dropped_by_phase": veth,
    # sensor-kill, -restart: no sensor from the signal to the new run's "capturing"
    # (0.1 s resolution): the frames of that gap met no socket
    "restart_s": round(t_up - t_kill, 2), "restart_gap_est": round(rate * (t_up - t_kill)),
    # the frames that met no socket in the restart: parked and taken by the
    # next run (unparked), or lost when the ring was full: the killed run's
    # program's (lost_in_restart) and the next run's (capture_no_socket)
    "unparked": sum(s.get("unparked", 0) for s in runs),
    "lost_in_restart": sum(s.get("lost_in_restart", 0) for s in runs),
    "capture_no_socket": sum(s.get("capture_no_socket", 0) for s in runs),
}))
EOF
