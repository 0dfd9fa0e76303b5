#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Live capture without Kafka (what the VM suite runs, on other kernels):
# `xdpsensor run --output pcap:FILE --keep-pins --rx-sleep-us 0` on a veth
# pair (workers wait in poll(); the e2e suite runs the default naps); traffic.py
# sends generated conversations (both directions) from a namespace; then
#   - the pcap holds exactly the capturable frames, byte-identical, in order;
#   - stats --json and the pinned flow table (bpftool) add up while it runs,
#     and the flow table kept after exit counts every packet per direction;
#   - it exits 0 on SIGINT with a summary that adds up;
#   - it detaches cleanly: `detach` removes the kept pin, offloads restored;
#   - at MTU 9000 jumbo frames arrive whole where the kernel has AF_XDP
#     multi-buffer (6.6+); elsewhere cut to what the socket takes, with the
#     wire length kept and each cut counted (snapped);
#   - on a veth pair with two queues, frames parked while no run held a
#     socket (a stop with --handover) go to the worker of their queue;
#   - frames a killed run's socket had received and not read (its UMEM, a
#     file on tmpfs) are taken by the next run, or dropped by `detach`,
#     each said in one line.
# TAP on stdout. Needs root, bpffs (mounted here if missing), veth, python3,
# bpftool, ethtool; skips with the reason when one is missing.
# Environment: XDPSENSOR (default build/xdpsensor), E2E_KEEP=1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

NS=xslive-$$
VA=xl$$a
VB=xl$$b
NSMQ=xslmq-$$
VAMQ=xm$$a
VBMQ=xm$$b
W=
MOUNTED_BPFFS=0

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	sensor_kill
	scrub_iface "$VA"
	teardown_veth "$NS" "$VA"
	scrub_iface "$VAMQ"
	teardown_veth "$NSMQ" "$VAMQ"
	[ $MOUNTED_BPFFS -eq 1 ] && umount /sys/fs/bpf 2>/dev/null
	work_dir_end $rc "${E2E_KEEP:-0}"
	exit $rc
}

skip_all() {
	echo "1..1"
	echo "ok 1 - live capture on veth # SKIP $*"
	exit 0
}

prepare() {
	local need
	[ "$(id -u)" -eq 0 ] || skip_all "needs root"
	for need in ip ethtool python3 bpftool; do
		command -v "$need" >/dev/null || skip_all "$need not installed"
	done
	if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
		mkdir -p /sys/fs/bpf 2>/dev/null
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null || skip_all "no bpffs at /sys/fs/bpf and cannot mount it"
		MOUNTED_BPFFS=1
	fi
	if [ ! -x "$XS" ]; then
		tap_not_ok "$XS missing: run make"
		tap_end
		exit 1
	fi
	W=$(mktemp -d /tmp/xs-live.XXXXXX) || exit 1
	if ! setup_veth "$NS" "$VA" "$VB" 2>"$W/veth.err"; then
		teardown_veth "$NS" "$VA"
		skip_all "cannot create a veth pair in a netns: $(head -n 1 "$W/veth.err")"
	fi
	diag "kernel $(uname -r); veth $VA (sensor) <-> $VB (netns $NS); work dir $W"
}

checker() { tap_checker "live" python3 "$E2E/check.py" "$@"; }

main() {
	local d=$W pcap=$W/capture.pcap nsent ncap n prec pin
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/sensor" -i "$VA" --output "pcap:$pcap" --keep-pins --rx-sleep-us 0
	if ! sensor_wait_ready "$d/sensor.err"; then
		fail "not capturing: $(tail -n 3 "$d/sensor.err" | tr '\n' ' ')"
		report "live: the sensor starts"
		return
	fi
	diag "$(grep -E 'attached|socket' "$d/sensor.err" | tr '\n' ' ')"
	if ! send_traffic "$NS" "$VB" --generate --manifest "$d/manifest.json" \
		--sent-pcap "$d/sent.pcap" 2>"$d/traffic.err"; then
		fail "traffic.py failed: $(tail -n 3 "$d/traffic.err")"
	elif ! "$XS" classify --json "$d/sent.pcap" >"$d/classify.jsonl" 2>"$d/classify.err"; then
		fail "classify failed: $(tail -n 3 "$d/classify.err")"
	else
		read -r nsent ncap < <(python3 "$E2E/check.py" count --manifest "$d/manifest.json" \
			--classify "$d/classify.jsonl")
		wait_stats "$VA" 60 "s['rx_packets'] >= $nsent and s['read'] >= $ncap" \
			>"$d/stats.json" || fail "not all read within 60 s: $(cat "$d/stats.json")"
	fi
	alive "$SENSOR_PID" || fail "the sensor died"
	report "live: the sensor attaches and reads ${ncap:-?} of ${nsent:-?} frames"
	[ -s "$d/classify.jsonl" ] || { sensor_stop INT; return; }

	bpftool map dump pinned "$PIN_ROOT/$VA/flows" >"$d/dump.txt" 2>&1
	bpftool -j map dump pinned "$PIN_ROOT/$VA/flows" >"$d/dump.json" 2>&1
	checker stats --manifest "$d/manifest.json" --classify "$d/classify.jsonl" \
		--stats "$d/stats.json"
	checker bpftool --manifest "$d/manifest.json" --dump-json "$d/dump.json" \
		--dump-text "$d/dump.txt"

	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] ||
		fail "exit $SENSOR_RC after SIGINT: $(tail -n 2 "$d/sensor.err" | tr '\n' ' ')"
	[ "$(grep -c . "$d/sensor.out")" -eq 1 ] || fail "stdout is not one summary line"
	has_xdp_prog "$VA" && fail "the XDP program is still attached"
	[ -e "$PIN_ROOT/$VA/flows" ] || fail "--keep-pins: no $PIN_ROOT/$VA/flows"
	for pin in "$PIN_ROOT/$VA"/*; do
		[ "${pin##*/}" = flows ] || [ ! -e "$pin" ] ||
			fail "--keep-pins kept more than the flow table: ${pin##*/}"
	done
	report "live: exits 0 on SIGINT, detaches, keeps only the flow table pinned"
	checker summary --sink pcap --manifest "$d/manifest.json" --classify "$d/classify.jsonl" \
		--summary "$d/sensor.out"
	checker pcap --manifest "$d/manifest.json" --classify "$d/classify.jsonl" --pcap "$pcap"
	if command -v tshark >/dev/null; then
		n=$(tshark -r "$pcap" -T fields -e frame.number 2>"$d/tshark.err" | grep -c .)
		prec=$(capinfos -M "$pcap" 2>/dev/null | sed -n 's/.*[Tt]imestamp precision: *//p')
		[ "$n" -eq "$ncap" ] ||
			fail "tshark reads $n frames, expected $ncap: $(head -n 2 "$d/tshark.err")"
		case $prec in *nano*|"") ;; *) fail "timestamp precision: $prec, expected nanoseconds" ;; esac
		report "live: tshark reads the pcap ($n frames${prec:+, $prec})"
	else
		tap_skip "live: tshark reads the pcap" "tshark not installed"
	fi

	# the flow table kept after exit
	bpftool map dump pinned "$PIN_ROOT/$VA/flows" >"$d/kept.txt" 2>&1
	bpftool -j map dump pinned "$PIN_ROOT/$VA/flows" >"$d/kept.json" 2>&1
	tap_checker "live: kept flow table" python3 "$E2E/check.py" bpftool \
		--manifest "$d/manifest.json" --dump-json "$d/kept.json" --dump-text "$d/kept.txt"

	"$XS" detach -i "$VA" >"$d/detach.out" 2>"$d/detach.err" ||
		fail "detach failed: $(cat "$d/detach.err")"
	check_clean "$VA" "$d/settings.before"
	report "live: detach removes the kept pin; no program, pins or state left; offloads restored"
}

# Jumbo frames: a generated conversation of 9014-byte frames at MTU 9000.
jumbo() {
	local d=$W/jumbo pcap=$W/jumbo/capture.pcap nsent ncap snapped limit mode
	mkdir -p "$d"
	if ! ip link set dev "$VA" mtu 9000 || ! ip -n "$NS" link set dev "$VB" mtu 9000; then
		tap_skip "live: MTU 9000" "cannot set MTU 9000 on veth"
		return
	fi
	sensor_start "$d/sensor" -i "$VA" --output "pcap:$pcap" --rx-sleep-us 0 -v
	if ! sensor_wait_ready "$d/sensor.err"; then
		fail "not capturing at MTU 9000: $(grep -v '^$' "$d/sensor.err" | tail -n 3 | tr '\n' ' ')"
		report "live: MTU 9000: the sensor starts"
		sensor_stop KILL
		return
	fi
	diag "$(grep -E 'attached|AF_XDP socket in' "$d/sensor.err" | tr '\n' ' ')"
	limit=$(sed -n 's/.*frames cut at \([0-9]*\) bytes.*/\1/p' "$d/sensor.err" | head -n 1)
	if send_traffic "$NS" "$VB" --generate --jumbo --manifest "$d/manifest.json" \
		--sent-pcap "$d/sent.pcap" 2>"$d/traffic.err" &&
		"$XS" classify --json "$d/sent.pcap" >"$d/classify.jsonl" 2>"$d/classify.err"; then
		read -r nsent ncap < <(python3 "$E2E/check.py" count --manifest "$d/manifest.json" \
			--classify "$d/classify.jsonl")
		wait_stats "$VA" 60 "s['rx_packets'] >= $nsent and s['read'] >= $ncap" \
			>"$d/stats.json" || fail "not all read within 60 s: $(cat "$d/stats.json")"
	else
		fail "traffic.py or classify failed: $(tail -n 2 "$d/traffic.err" "$d/classify.err")"
	fi
	snapped=$(json_get snapped <"$d/stats.json")
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	if [ -n "$limit" ]; then
		mode="longer ones cut at $limit bytes (no AF_XDP multi-buffer)"
	else
		mode="AF_XDP multi-buffer"
	fi
	report "live: MTU 9000: reads ${ncap:-?} of ${nsent:-?} frames, ${snapped:-?} cut; $mode"
	if [ -n "$limit" ]; then
		[ "${snapped:-0}" -gt 0 ] || fail "no frame counted as cut (snapped = ${snapped:-?})"
		checker pcap --manifest "$d/manifest.json" --classify "$d/classify.jsonl" \
			--pcap "$pcap" --allow-cut "$limit" --snapped "${snapped:-0}"
	else
		[ "${snapped:-x}" = 0 ] || fail "snapped = ${snapped:-?} with multi-buffer"
		checker pcap --manifest "$d/manifest.json" --classify "$d/classify.jsonl" --pcap "$pcap"
	fi
	report "live: MTU 9000: snapped counts every cut frame (${snapped:-?})"
	ip link set dev "$VA" mtu 1500
	ip -n "$NS" link set dev "$VB" mtu 1500
}

# Parking on two RX queues: a run stopped with --handover leaves its
# program parking; frames then sent on queue 0 and on queue 1 (xs-gen pinned
# to CPU 0, then 1: an AF_PACKET socket that bypasses the qdisc sends on
# queue CPU % queues) are each handed by the next run to the worker of
# their queue, the one that reads that queue's socket after them.
multiqueue() {
	local label="live: parking on two RX queues" d=$W/mq n0=2000 n1=3000 mac c
	mkdir -p "$d"
	if [ "$(nproc)" -lt 2 ]; then
		tap_skip "$label" "one CPU: cannot send on two queues"
		return
	fi
	if [ ! -x build/bench/xs-gen ]; then
		tap_skip "$label" "build/bench/xs-gen missing (make test-build)"
		return
	fi
	if ! setup_veth "$NSMQ" "$VAMQ" "$VBMQ" 2 2>"$d/veth.err"; then
		tap_skip "$label" "no veth pair with two queues: $(head -n 1 "$d/veth.err")"
		return
	fi
	iface_settings "$VAMQ" >"$d/settings.before"
	sensor_start "$d/s1" -i "$VAMQ" --output "pcap:$d/s1.pcap" --handover
	sensor_started "$label" "$d/s1.err" "$VAMQ" || return
	grep -q "2 AF_XDP socket(s)" "$d/s1.err" ||
		fail "not a socket per queue: $(grep socket "$d/s1.err")"
	sensor_stop TERM
	has_xdp_prog "$VAMQ" || fail "--handover left no program"
	mac=$(cat "/sys/class/net/$VAMQ/address")
	for c in 0 1; do
		ip netns exec "$NSMQ" build/bench/xs-gen -i "$VBMQ" -m "$mac" -M packet -c $c \
			-r 20000 -n $((c ? n1 : n0)) -s 64 -f 16 >"$d/gen$c.json" 2>&1 ||
			fail "xs-gen on CPU $c: $(tail -n 1 "$d/gen$c.json")"
	done
	sensor_start "$d/s2" -i "$VAMQ" --output "pcap:$d/s2.pcap"
	sensor_started "$label" "$d/s2.err" "$VAMQ" || return
	# the workers publish their counters once a second
	python3 - "$PIN_ROOT/$VAMQ/workers" "$n0" "$n1" >"$d/queues.check" 2>&1 <<'EOF' ||
import json, subprocess, sys, time
pin, want = sys.argv[1], [int(sys.argv[2]), int(sys.argv[3])]
for _ in range(100):
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "pinned", pin],
                                     capture_output=True, text=True).stdout or "[]")
    # BTF-typed: each entry's "formatted" key and value
    got = {e["formatted"]["key"]: e["formatted"]["value"]["unparked"] for e in dump}
    if sum(got.values()) >= sum(want):
        break
    time.sleep(0.1)
got = [got.get(q, 0) for q in (0, 1)]
ok = all(w <= g <= w + 5 for w, g in zip(want, got))
print("unparked by queue %s, sent %s" % (got, want))
sys.exit(0 if ok else 1)
EOF
		fail "$(cat "$d/queues.check")"
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	check_clean "$VAMQ" "$d/settings.before"
	report "$label: $(cat "$d/queues.check")"
	teardown_veth "$NSMQ" "$VAMQ"
}

# kill -9 with frames unread in the socket's ring (the run stopped first,
# so that they wait there): the next run takes them from the killed run's
# UMEM; `detach` drops another killed run's, saying how many.
killed_ring() {
	local label="live: a killed run's unread frames" d=$W/kr mac k u p
	mkdir -p "$d"
	if [ ! -x build/bench/xs-gen ]; then
		tap_skip "$label" "build/bench/xs-gen missing (make test-build)"
		return
	fi
	iface_settings "$VA" >"$d/settings.before"
	mac=$(cat "/sys/class/net/$VA/address")
	# killed_with RUN N: a run, stopped, N frames sent to it, then killed
	killed_with() {
		sensor_start "$d/s$1" -i "$VA" --output "pcap:$d/s$1.pcap"
		sensor_started "$label" "$d/s$1.err" "$VA" || return 1
		kill -STOP "$SENSOR_PID"
		ip netns exec "$NS" build/bench/xs-gen -i "$VB" -m "$mac" -r 20000 -n "$2" -s 64 \
			-f 16 >"$d/gen$1.json" 2>&1 || fail "xs-gen: $(tail -n 1 "$d/gen$1.json")"
		sensor_stop KILL
	}
	killed_with 1 500 || return
	sensor_start "$d/s2" -i "$VA" --output "pcap:$d/s2.pcap"
	sensor_started "$label" "$d/s2.err" "$VA" || return
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	k=$(sed -n "s/.* \([0-9]*\) frames the last run's sockets had received and not read.*/\1/p" \
		"$d/s2.err")
	u=$(json_get unparked <"$d/s2.out")
	p=$(python3 -c 'import struct, sys
b = open(sys.argv[1], "rb").read()
o, n = 24, 0
while o + 16 <= len(b):
    n, o = n + 1, o + 16 + struct.unpack_from("<I", b, o + 8)[0]
print(n)' "$d/s2.pcap")
	# the host's own few frames (IPv6 neighbour discovery) may come too
	[ "${k:-0}" -ge 500 ] && [ "$k" -le 505 ] && [ "$u" = "$k" ] && [ "$p" -ge "$k" ] ||
		fail "taken from the UMEM: said ${k:-none}, unparked $u, in the pcap $p; 500 sent"
	killed_with 3 300 || return
	"$XS" detach -i "$VA" >"$d/detach.out" 2>&1 || fail "detach: $(tail -n 1 "$d/detach.out")"
	grep -Eq "$VA: (30[0-5]) frames a killed run's sockets had received and not read are dropped" \
		"$d/detach.out" || fail "detach does not say what it drops: $(tr '\n' ' ' <"$d/detach.out")"
	check_clean "$VA" "$d/settings.before"
	report "$label: the next run took $k of the 500 sent while it was stopped ($p frames" \
		"in its pcap); detach drops another's 300, saying so"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

prepare
main
jumbo
multiqueue
killed_ring
tap_end
