#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: `xdpsensor run` on a veth pair against a real Kafka broker.
# TAP on stdout; exit 0 when every test passed (or was skipped).
#
# One broker serves the whole suite (tests/kafka/broker.sh; the first use
# fetches Kafka with Maven, which takes minutes). A namespace holds one end
# of a veth pair; traffic.py sends frames from there into the end that
# carries the sensor: real captures (PCAPS_DIR) and generated conversations
# in both directions. check.py compares what Kafka holds with what was sent.
#
#   bad options, no such interface, not root, interface busy (and --force)
#   crash recovery: kill -9, then `detach`; kill -9, then a fresh `run`
#   a second run on a running sensor's interface: refused, the first goes on
#   the interface deleted under a running sensor: said, flushed, exit 1
#   a fatal producer error (a broker listener that does not authorize the
#     sensor, reached once records are queued): said, counted, exit 1
#   broker unreachable at start: the suite's broker starts on that port later
#   per key scheme (5tuple, community-id, metron --ts-unit us): records,
#     keys, partitions, headers, summary, stats, flows, bpftool
#   flow records and the Kafka Streams example; a full flow table (flows.sh)
#   every frame of every Ethernet capture in PCAPS_DIR up to MTU 9000 + 14
#     bytes (jumbo, non-IP, tunnelled), at MTU 9000 with native XDP where
#     the kernel allows it: exactly once and byte-identical in the topic
#   the sensor as a service (service.sh): --metrics with promtool and a
#     Prometheus server, a secured Kafka (TLS + SCRAM)
#   the bench's kafka-batch writes what kafka-alone writes (issue #11)
# After every test: no XDP program, pins, state file or changed offload.
#
# Environment: XDPSENSOR (default build/xdpsensor), PCAPS_DIR (default
#   ../shared/pcaps/tcpdump), E2E_RATE (frames/s, default 1000),
#   E2E_KEEP=1 (keep the work dir; it is always kept after a failure).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
. tests/e2e/flows.sh
. tests/e2e/service.sh

PCAPS_DIR=${PCAPS_DIR:-../shared/pcaps/tcpdump}
# Real captures replayed per key scheme: IPv4/IPv6, TCP/UDP/ICMP/ICMPv6,
# VLAN and QinQ, IPv6 extension headers (hop-by-hop, routing, SRH), IPv4
# fragments, tunnels (GRE, VXLAN, GENEVE), broken headers, non-IP frames;
# gso-ipv4.pcap holds a frame longer than the MTU, which traffic.py skips.
REPLAY=(802.1ad_QinQ.pcap ldp-common-session.pcap NHRP_registration.pcap various_gre.pcap
	erspan-type-ii-3.pcap dns_tcp.pcap tcp_rst_data.pcap ntp.pcap HSRP_coup.pcap
	icmpv6.pcap icmpv6-ni-flags.pcap ipv6-routing-header.pcap ipv6-srh-tlv-pad1-padn-5.pcap
	dhcpv6-ia-na.pcap vxlan.pcap geneve.pcap vrrp-vrrp_print-oobr-2.pcap
	rip_error_hexdump.pcap kday3.pcap ipv4_invalid_hdr_length.pcap ipv6_39_byte_header.pcap
	LLDP_and_CDP.pcap gso-ipv4.pcap)
RATE=${E2E_RATE:-1000}
PARTS=4
NS=xse2e-$$
VA=xe$$a
VB=xe$$b
CONSUME=build/e2e/xs-consume
FOREIGN=build/e2e/xdp_pass.bpf.o
NS2=xse2g-$$
VA2=xg$$a
VB2=xg$$b
FWD_PID=
W=
BROKER_DIR=
BROKER=
KAFKA_MISSING=
REPLAY_ARGS=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	sensor_kill
	service_cleanup
	[ -z "$FWD_PID" ] || { kill "$FWD_PID" 2>/dev/null; wait "$FWD_PID" 2>/dev/null; }
	streams_stop
	scrub_iface "$VA"
	teardown_veth "$NS" "$VA"
	scrub_iface "$VA2"
	teardown_veth "$NS2" "$VA2"
	if [ -n "$BROKER_DIR" ]; then
		tests/kafka/broker.sh stop "$BROKER_DIR" >/dev/null 2>&1
	fi
	work_dir_end $rc "${E2E_KEEP:-0}"
	exit $rc
}

skip_all() {
	echo "1..1"
	echo "ok 1 - end to end on veth with Kafka # SKIP $*"
	exit 0
}

bail() {
	tap_not_ok "$*"
	tap_end
	exit 1
}

# ------------------------------------------------------------------ preparation

prepare() {
	local need
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (veth, netns, XDP)"
	for need in ip ethtool python3 bpftool; do
		command -v "$need" >/dev/null || skip_all "$need not installed (make deps)"
	done
	[ -x "$XS" ] || bail "$XS missing: run make"
	W=$(mktemp -d /tmp/xs-e2e.XXXXXX) || bail "mktemp failed"
	# built by `make test-build` with the project's one set of BPF flags
	for f in "$CONSUME" "$FOREIGN"; do
		[ -f "$f" ] || bail "$f missing: run make test-build"
	done
	# the broker starts in the middle of a test: get Kafka now (minutes, once)
	if ! tests/kafka/broker.sh fetch >/dev/null 2>"$W/fetch.err"; then
		KAFKA_MISSING="cannot fetch Kafka: $(tail -n 3 "$W/fetch.err" | tr '\n' ' ')"
		diag "$KAFKA_MISSING"
	fi
	setup_veth "$NS" "$VA" "$VB" || bail "cannot create the veth pair $VA/$VB in netns $NS"
	diag "veth $VA (sensor) <-> $VB (netns $NS, traffic); work dir $W"
	for f in "${REPLAY[@]}"; do
		if [ -f "$PCAPS_DIR/$f" ]; then
			REPLAY_ARGS+=(--pcap "$PCAPS_DIR/$f")
		else
			diag "missing capture $PCAPS_DIR/$f: not replayed"
		fi
	done
}

# ------------------------------------------------------------------ helpers

# traffic DIR [ARGS...]: sends (into the sensor's veth), classifies what was
# sent, and sets NSENT and NCAP (frames sent, frames to capture).
traffic() {
	local d=$1
	shift
	NSENT=0 NCAP=0
	if ! send_traffic "$NS" "$VB" --rate "$RATE" "$@" --manifest "$d/manifest.json" \
		--sent-pcap "$d/sent.pcap" 2>"$d/traffic.err"; then
		fail "traffic.py failed: $(tail -n 3 "$d/traffic.err")"
		return 1
	fi
	if ! "$XS" classify --json "$d/sent.pcap" >"$d/classify.jsonl" 2>"$d/classify.err"; then
		fail "classify failed: $(tail -n 3 "$d/classify.err")"
		return 1
	fi
	read -r NSENT NCAP < <(python3 "$E2E/check.py" count --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl")
	[ -n "$NCAP" ] || { fail "check.py count failed"; return 1; }
}

# run_expect_fail NAME RC SUBSTRING ARGS...: `xdpsensor run ARGS` must exit
# RC with a message naming SUBSTRING, and leave the interface alone.
run_expect_fail() {
	local name=$1 want_rc=$2 what=$3 d=$W/bad-$tap_n rc
	shift 3
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"
	timeout 60 "$XS" run "$@" >"$d/out" 2>"$d/err"
	rc=$?
	[ $rc -eq "$want_rc" ] || fail "exit $rc, expected $want_rc"
	grep -qF -- "$what" "$d/err" || fail "no message naming '$what'"
	[ -s "$d/out" ] && fail "wrote to stdout: $(head -c 200 "$d/out")"
	diag "stderr: $(head -n 1 "$d/err")"
	check_clean "$VA" "$d/settings.before"
	report "$name"
}

# ------------------------------------------------------------------ tests

test_bad_options() {
	run_expect_fail "unknown option: exit 2, names it" 2 "no-such-option" \
		-i "$VA" -b 127.0.0.1:9 --no-such-option
	run_expect_fail "unknown --key: exit 2, names it" 2 "sha256" \
		-i "$VA" -b 127.0.0.1:9 --key sha256
	run_expect_fail "unknown --ts-unit: exit 2, names it" 2 "parsec" \
		-i "$VA" -b 127.0.0.1:9 --key metron --ts-unit parsec
	run_expect_fail "unknown -X property: exit 2, names it" 2 "no.such.property" \
		-i "$VA" -b 127.0.0.1:9 -X no.such.property=1
	run_expect_fail "--rx-sleep-us out of range: exit 2, names it" 2 "--rx-sleep-us" \
		-i "$VA" -b 127.0.0.1:9 --rx-sleep-us 20000
	run_expect_fail "--umem-mb below 8: exit 2, names it" 2 "--umem-mb" \
		-i "$VA" -b 127.0.0.1:9 --umem-mb 4
	run_expect_fail "--park-mb not a power of 2: exit 2, names it" 2 "--park-mb" \
		-i "$VA" -b 127.0.0.1:9 --park-mb 3
	run_expect_fail "--handover without a parking ring: exit 2, names it" 2 "--handover" \
		-i "$VA" -b 127.0.0.1:9 --handover --park-mb 0
	run_expect_fail "--spool-max not a size: exit 2, names it" 2 "--spool-max" \
		-i "$VA" -b 127.0.0.1:9 --spool-max 12Q
	run_expect_fail "unknown --headers: exit 2, names it" 2 "--headers" \
		-i "$VA" -b 127.0.0.1:9 --headers some
	run_expect_fail "unknown --key-layer: exit 2, names it" 2 "sideways" \
		-i "$VA" -b 127.0.0.1:9 --key-layer sideways
	run_expect_fail "ether: rule below 0x0600 (an 802.3 length): exit 2, names it" 2 \
		"ether:0x05dc" -i "$VA" -b 127.0.0.1:9 --capture ether:0x05dc
	run_expect_fail "no -b: exit 2, says what is missing" 2 "-b" -i "$VA"
	run_expect_fail "unknown --producer: exit 2, names it" 2 "--producer" \
		-i "$VA" -b 127.0.0.1:9 --producer java
	run_expect_fail "--producer batch with TLS: exit 2, says plaintext only" 2 "plaintext" \
		-i "$VA" -b 127.0.0.1:9 --producer batch -X security.protocol=SSL
}

test_no_such_interface() {
	local d=$W/noif ifname=xsnoif$$ rc n
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"
	timeout 60 "$XS" run -i "$ifname" -b 127.0.0.1:9 -t t >"$d/out" 2>"$d/err"
	rc=$?
	n=$(grep -c . "$d/err")
	[ $rc -eq 1 ] || fail "exit $rc, expected 1"
	[ "$n" -eq 1 ] || fail "$n lines on stderr, expected one"
	grep -qF "'$ifname'" "$d/err" || fail "the message does not name '$ifname'"
	diag "stderr: $(head -n 1 "$d/err")"
	check_clean "$VA" "$d/settings.before"
	report "no such interface: exit 1, one line naming it"
}

test_not_root() {
	local d=$W/noroot rc drop
	mkdir -p "$d"
	if command -v setpriv >/dev/null; then
		drop=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	elif command -v runuser >/dev/null; then
		drop=(runuser -u nobody --)
	else
		tap_skip "not root: refused" "neither setpriv nor runuser installed"
		return
	fi
	iface_settings "$VA" >"$d/settings.before"
	timeout 60 "${drop[@]}" "$XS" run -i "$VA" -b 127.0.0.1:9 >"$d/out" 2>"$d/err"
	rc=$?
	[ $rc -ne 0 ] || fail "exit 0 as user nobody"
	case $rc in 126 | 127) fail "exit $rc: nobody cannot execute $XS" ;; esac
	grep -q "root" "$d/err" || fail "the message does not say it needs root"
	[ "$(grep -c . "$d/err")" -eq 1 ] || fail "not one line on stderr: $(tr '\n' '|' <"$d/err")"
	diag "stderr: $(head -n 1 "$d/err")"
	check_clean "$VA" "$d/settings.before"
	report "not root: exit $rc, one line saying it needs root"
}

test_busy() {
	local d=$W/busy obj=$FOREIGN rc name
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"
	if ! attach_foreign "$VA" "$obj" 2>"$d/attach.err"; then
		tap_skip "interface busy: refused" "cannot attach $obj: $(head -n 1 "$d/attach.err")"
		return
	fi
	name=$(xdp_prog_name "$VA")
	timeout 60 "$XS" run -i "$VA" --output null >"$d/out" 2>"$d/err"
	rc=$?
	[ $rc -eq 1 ] || fail "exit $rc, expected 1"
	grep -qF "'$name'" "$d/err" || fail "the message does not name the program '$name'"
	[ "$(xdp_prog_name "$VA")" = "$name" ] || fail "the foreign program '$name' is gone"
	[ ! -e "$PIN_ROOT/$VA" ] || fail "left pins in $PIN_ROOT/$VA"
	[ ! -e "$STATE_DIR/$VA.offloads" ] || fail "left $STATE_DIR/$VA.offloads"
	diff -q "$d/settings.before" <(iface_settings "$VA") >/dev/null || fail "changed the offloads"
	diag "stderr: $(head -n 1 "$d/err")"
	report "interface busy: exit 1 naming the program ('$name'), which stays; nothing else touched"

	sensor_start "$d/force" -i "$VA" --output null --force
	if sensor_wait_ready "$d/force.err"; then
		[ "$(xdp_prog_name "$VA")" = xdpsensor_xdp ] ||
			fail "attached: '$(xdp_prog_name "$VA")', not xdpsensor_xdp"
		traffic "$d" --generate
		wait_stats "$VA" 30 "s['read'] >= $NCAP" >"$d/stats.json" ||
			fail "read $(json_get read <"$d/stats.json") of $NCAP frames"
	else
		fail "with --force: not running: $(tail -n 2 "$d/force.err" | tr '\n' ' ')"
	fi
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	if [ -s "$d/manifest.json" ]; then
		python3 "$E2E/check.py" summary --sink null --manifest "$d/manifest.json" \
			--classify "$d/classify.jsonl" --summary "$d/force.out" >"$d/summary.tap" ||
			fail "summary: $(grep -v '^ok' "$d/summary.tap" | tr '\n' ' ')"
	fi
	check_clean "$VA" "$d/settings.before"
	ip link set dev "$VA" xdpgeneric off 2>/dev/null
	report "interface busy: --force replaces it, captures, stops on SIGTERM, leaves no program"
}

test_crash_recovery() {
	local d=$W/crash
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"

	sensor_start "$d/s1" -i "$VA" --output null
	sensor_wait_ready "$d/s1.err" || fail "first run did not start: $(tail -n 2 "$d/s1.err")"
	sensor_stop KILL
	[ "$(xdp_prog_name "$VA")" = xdpsensor_xdp ] || fail "no xdpsensor program left after kill -9"
	[ -e "$PIN_ROOT/$VA/flows" ] || fail "no pins left in $PIN_ROOT/$VA"
	[ -e "$STATE_DIR/$VA.offloads" ] || fail "no $STATE_DIR/$VA.offloads left"
	if [ -s "$STATE_DIR/$VA.offloads" ] &&
		diff -q "$d/settings.before" <(iface_settings "$VA") >/dev/null; then
		fail "state file lists $(tr '\n' ' ' <"$STATE_DIR/$VA.offloads") but no offload is off"
	fi
	report "crash: kill -9 leaves the program, pins and state file (offloads off)"

	"$XS" detach -i "$VA" >"$d/detach.out" 2>"$d/detach.err" ||
		fail "detach failed: $(cat "$d/detach.err")"
	diag "detach: $(tr '\n' '|' <"$d/detach.err")"
	check_clean "$VA" "$d/settings.before"
	report "crash: xdpsensor detach removes them and restores the offloads"

	sensor_start "$d/s2" -i "$VA" --output null
	sensor_wait_ready "$d/s2.err" || fail "second run did not start"
	sensor_stop KILL
	has_xdp_prog "$VA" || fail "no program left after the second kill -9"
	sensor_start "$d/s3" -i "$VA" --output null --duration 6
	if sensor_wait_ready "$d/s3.err"; then
		grep -q "stale" "$d/s3.err" || fail "the fresh run does not mention the stale program"
		traffic "$d" --generate
		wait_stats "$VA" 30 "s['read'] >= $NCAP" >"$d/stats.json" ||
			fail "read $(json_get read <"$d/stats.json") of $NCAP frames"
	else
		fail "fresh run after kill -9 did not start: $(tail -n 2 "$d/s3.err" | tr '\n' ' ')"
	fi
	sensor_wait_exit 30 || fail "still running 30 s after its --duration 6"
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC at the end of --duration"
	if [ -s "$d/manifest.json" ]; then
		python3 "$E2E/check.py" summary --sink null --manifest "$d/manifest.json" \
			--classify "$d/classify.jsonl" --summary "$d/s3.out" >"$d/summary.tap" ||
			fail "summary: $(grep -v '^ok' "$d/summary.tap" | tr '\n' ' ')"
	fi
	check_clean "$VA" "$d/settings.before"
	report "crash: a fresh run after kill -9 recovers by itself, captures, ends on --duration," \
		"leaves nothing"
}

# xdp_prog_id IFACE: the id of the XDP program attached, or nothing.
xdp_prog_id() {
	ip -d link show dev "$1" 2>/dev/null | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1
}

test_second_run() {
	local d=$W/second pcap=$W/second/capture.pcap rc id pins settings
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/s1" -i "$VA" --output "pcap:$pcap"
	if ! sensor_wait_ready "$d/s1.err"; then
		fail "the first run did not start: $(tail -n 2 "$d/s1.err" | tr '\n' ' ')"
		report "second run: refused"
		sensor_stop KILL
		scrub_iface "$VA"
		return
	fi
	id=$(xdp_prog_id "$VA")
	pins=$(ls "$PIN_ROOT/$VA")
	settings=$(iface_settings "$VA")
	timeout 60 "$XS" run -i "$VA" --output null >"$d/s2.out" 2>"$d/s2.err"
	rc=$?
	[ $rc -eq 1 ] || fail "second run: exit $rc, expected 1"
	[ "$(grep -c . "$d/s2.err")" -eq 1 ] || fail "second run: not one line: $(tr '\n' '|' <"$d/s2.err")"
	grep -q "pid $SENSOR_PID" "$d/s2.err" || fail "second run does not name pid $SENSOR_PID"
	diag "second run: $(head -n 1 "$d/s2.err")"
	timeout 60 "$XS" detach -i "$VA" >"$d/detach.out" 2>"$d/detach.err"
	rc=$?
	[ $rc -eq 1 ] || fail "detach: exit $rc, expected 1"
	grep -q "pid $SENSOR_PID" "$d/detach.err" || fail "detach does not name pid $SENSOR_PID"
	diag "detach: $(head -n 1 "$d/detach.err")"
	[ "$(xdp_prog_id "$VA")" = "$id" ] || fail "program id $id became '$(xdp_prog_id "$VA")'"
	[ "$(ls "$PIN_ROOT/$VA" 2>&1)" = "$pins" ] || fail "pins changed: $(ls "$PIN_ROOT/$VA" 2>&1)"
	[ "$(iface_settings "$VA")" = "$settings" ] || fail "offloads changed under the first run"
	alive "$SENSOR_PID" || fail "the first run died"
	report "second run and detach on a running sensor: exit 1 naming pid; program, pins, offloads unchanged"

	traffic "$d" --generate
	wait_stats "$VA" 30 "s['read'] >= $NCAP" >"$d/stats.json" ||
		fail "the first run read $(json_get read <"$d/stats.json") of the $NCAP frames sent after"
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "the first run: exit $SENSOR_RC after SIGINT"
	if [ -s "$d/manifest.json" ]; then
		python3 "$E2E/check.py" pcap --manifest "$d/manifest.json" --classify "$d/classify.jsonl" \
			--pcap "$pcap" >"$d/pcap.tap" 2>&1 ||
			fail "pcap: $(grep -v '^ok' "$d/pcap.tap" | head -n 5 | tr '\n' ' ')"
	fi
	check_clean "$VA" "$d/settings.before"
	report "second run: the first keeps capturing, writes all $NCAP frames sent after, leaves nothing"
}

test_iface_deleted() {
	local d=$W/deleted t0 t1 ms s
	mkdir -p "$d"
	if ! setup_veth "$NS2" "$VA2" "$VB2"; then
		tap_not_ok "interface deleted: cannot create the veth pair $VA2/$VB2"
		teardown_veth "$NS2" "$VA2"
		return
	fi
	sensor_start "$d/sensor" -i "$VA2" --output null
	if ! sensor_wait_ready "$d/sensor.err"; then
		fail "not capturing: $(tail -n 2 "$d/sensor.err" | tr '\n' ' ')"
		report "interface deleted: the sensor starts"
		sensor_stop KILL
		scrub_iface "$VA2"
		teardown_veth "$NS2" "$VA2"
		return
	fi
	NS=$NS2 VB=$VB2 traffic "$d" --generate
	s=$(wait_stats "$VA2" 30 "s['delivered'] >= $NCAP") ||
		fail "delivered $(json_get delivered <<<"$s") of $NCAP before the deletion"
	t0=$(date +%s%N)
	ip link del "$VA2"
	while ! grep -q "is gone" "$d/sensor.err" && alive "$SENSOR_PID"; do
		[ $(($(date +%s%N) - t0)) -lt 10000000000 ] || break
		sleep 0.05
	done
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	grep -q "is gone" "$d/sensor.err" || fail "nothing said about the deleted interface"
	[ "$ms" -le 2000 ] || fail "said after $ms ms, not within 2 s"
	sensor_wait_exit 30 || fail "still running 30 s after the deletion"
	[ "$SENSOR_RC" = 1 ] || fail "exit $SENSOR_RC, expected 1"
	check_summary_line "$d/sensor.out"
	python3 - "$d/sensor.out" "$NCAP" >"$d/summary.check" 2>&1 <<'EOF' || fail "summary: $(cat "$d/summary.check")"
import json, sys
s = json.loads(open(sys.argv[1]).read())
ncap = int(sys.argv[2])
bad = []
if s.get("end") != "iface_gone" or s.get("ifaces_gone") != 1:
    bad.append("end %r, ifaces_gone %r" % (s.get("end"), s.get("ifaces_gone")))
if s["received"] != s["produced"] + s["queue_full"] + s["sink_errors"]:
    bad.append("received != produced + queue_full + sink_errors")
if s["produced"] != s["delivered"] + s["failed"] or s["in_flight"]:
    bad.append("produced != delivered + failed, or in flight")
if s["delivered"] < ncap:
    bad.append("delivered %d < %d frames sent" % (s["delivered"], ncap))
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
EOF
	diag "$(grep "is gone" "$d/sensor.err" | head -n 1) (after $ms ms)"
	[ ! -e "$PIN_ROOT/$VA2" ] || fail "$PIN_ROOT/$VA2 is still there"
	[ -z "$(ls "$STATE_DIR/$VA2".* 2>/dev/null)" ] || fail "left $(ls "$STATE_DIR/$VA2".*)"
	teardown_veth "$NS2" "$VA2"
	report "interface deleted under the sensor: said within 2 s ($ms ms), flushed," \
		"summary adds up, exit 1, nothing left"
}

# forward PORT TO_ADDR: a TCP forwarder on 127.0.0.1:PORT, in the background
# (FWD_PID): the broker becomes reachable at that address only now.
forward() {
	python3 -c '
import socket, sys, threading
lsn = socket.socket()
lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsn.bind(("127.0.0.1", int(sys.argv[1])))
lsn.listen(8)
host, port = sys.argv[2].rsplit(":", 1)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = lsn.accept()
    u = socket.create_connection((host, int(port)))
    for a, b in ((c, u), (u, c)):
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
' "$1" "$2" &
	FWD_PID=$!
}

test_kafka_fatal() {
	local label="fatal producer error" d=$W/fatal topic=xs-e2e-fatal-$$ port sasl s n
	mkdir -p "$d"
	if [ -z "$BROKER" ] || [ ! -s "$BROKER_DIR/sasl_bootstrap" ]; then
		tap_not_ok "$label: no broker with a SASL listener (it should have started above)"
		return
	fi
	sasl=$(<"$BROKER_DIR/sasl_bootstrap")
	port=$(free_port)
	iface_settings "$VA" >"$d/settings.before"
	# the bootstrap address answers only once records are queued: the broker
	# then refuses the sensor's principal an idempotent producer id (fatal)
	sensor_start "$d/sensor" -i "$VA" -b "127.0.0.1:$port" -t "$topic" --spool-dir "$d/spool" \
		-X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN \
		-X sasl.username=sensor -X sasl.password=sensor-secret
	sensor_started "$label" "$d/sensor.err" "$VA" || return
	traffic "$d" --generate
	s=$(wait_stats "$VA" 30 "s['produced'] >= $NCAP") ||
		fail "produced $(json_get produced <<<"$s") of $NCAP before the broker answered"
	forward "$port" "$sasl"
	diag "bootstrap 127.0.0.1:$port now forwarded to the SASL listener $sasl"
	sensor_wait_exit 60 || fail "still running 60 s after the broker answered"
	kill "$FWD_PID" 2>/dev/null
	wait "$FWD_PID" 2>/dev/null
	FWD_PID=
	[ "$SENSOR_RC" = 1 ] || fail "exit $SENSOR_RC, expected 1"
	grep -q "fatal producer error" "$d/sensor.err" || fail "no message naming the fatal error"
	n=$(grep -c "does not allow the sensor's principal" "$d/sensor.err")
	[ "$n" -eq 1 ] || fail "the authorization failure said in plain words $n times, not once"
	grep "fatal\|authoriz" "$d/sensor.err" | while IFS= read -r line; do diag "$line"; done
	check_summary_line "$d/sensor.out"
	python3 - "$d/sensor.out" "$NCAP" >"$d/summary.check" 2>&1 <<'EOF' || fail "summary: $(cat "$d/summary.check")"
import json, sys
s = json.loads(open(sys.argv[1]).read())
ncap = int(sys.argv[2])
bad = []
if s.get("end") != "kafka_fatal":
    bad.append("end %r" % s.get("end"))
inflight = s["produced"] + s["spool_out"] - s["delivered"] - s["failed"] - s["reclaimed"]
if s["received"] != s["delivered"] + s["failed"] + s["queue_full"] + s["spool_full"] + \
        s["spool_errors"] + s["sink_errors"] + inflight + s["spooled"] or inflight:
    bad.append("the ledger does not add up, or records in flight after the end")
# a dead producer delivers nothing: each record is counted failed or kept in the spool
if s["delivered"] or s["failed"] + s["spooled"] < ncap:
    bad.append("delivered %d, failed %d + spooled %d < %d records captured before the fault"
               % (s["delivered"], s["failed"], s["spooled"], ncap))
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
EOF
	diag "summary: $(cat "$d/sensor.out")"
	check_clean "$VA" "$d/settings.before"
	report "$label: said once in plain words, $NCAP captured records counted as failed or" \
		"kept in the spool, exit 1, nothing left"
}

# Runs the checks that need Kafka records; $1 label, $2 dir, $3 topic, rest:
# check.py records options.
check_kafka_records() {
	local label=$1 d=$2 topic=$3
	shift 3
	if ! timeout 180 "$CONSUME" -b "$BROKER" -t "$topic" -e -I 20000 >"$d/records.jsonl" \
		2>"$d/consume.err"; then
		tap_not_ok "$label: consuming $topic failed: $(tail -n 2 "$d/consume.err" | tr '\n' ' ')"
		return
	fi
	diag "$(tail -n 1 "$d/consume.err")"
	tap_checker "$label" python3 "$E2E/check.py" records --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl" --records "$d/records.jsonl" --partitions "$PARTS" \
		--iface "$VA" --queues "$(ls -d /sys/class/net/"$VA"/queues/rx-* | wc -l)" "$@"
}

# test_unreachable_broker [ARGS...]: ARGS go to the sensor (--producer).
test_unreachable_broker() {
	local label="broker unreachable${1:+ ($*)}" d=$W/unreachable topic=xs-e2e-late-$$ port s
	mkdir -p "$d"
	port=$(free_port)
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/sensor" -i "$VA" -b "127.0.0.1:$port" -t "$topic" --spool-dir "$W/spool" "$@"
	if ! sensor_wait_ready "$d/sensor.err" 60; then
		fail "not capturing without a broker: $(tail -n 2 "$d/sensor.err" | tr '\n' ' ')"
		report "$label: the sensor starts and warns"
		sensor_stop KILL
		scrub_iface "$VA"
		return
	fi
	grep -q "not reachable" "$d/sensor.err" || fail "no warning that the broker is unreachable"
	traffic "$d" --generate
	s=$(wait_stats "$VA" 30 "s['produced'] >= $NCAP") ||
		fail "produced $(json_get produced <<<"$s") of $NCAP"
	sleep 2
	alive "$SENSOR_PID" || fail "the sensor died without a broker"
	[ "$(stats_json "$VA" | json_get delivered)" = 0 ] || fail "delivered records without a broker?"
	diag "$(grep "not reachable" "$d/sensor.err" | head -n 1)"
	report "$label: the sensor keeps running, warns, and holds $NCAP records"

	# The suite's one broker starts now, on the port the sensor is trying.
	BROKER_DIR=$W/kafka
	diag "starting the Kafka broker on 127.0.0.1:$port"
	if [ -n "$KAFKA_MISSING" ]; then
		fail "$KAFKA_MISSING"
	elif BROKER=$(KAFKA_SASL=1 KAFKA_TLS=1 KAFKA_PORT=$port tests/kafka/broker.sh start "$BROKER_DIR" 2>"$W/broker.err"); then
		tests/kafka/broker.sh create-topic "$BROKER_DIR" "$topic" "$PARTS" 2>>"$W/broker.err" ||
			fail "cannot create topic $topic: $(tail -n 2 "$W/broker.err")"
		diag "$(grep ready "$W/broker.err" | head -n 1)"
		s=$(wait_stats "$VA" 120 "s['delivered'] >= $NCAP") ||
			fail "delivered $(json_get delivered <<<"$s") of $NCAP in 120 s after the broker came up"
	else
		BROKER=
		fail "the broker did not start: $(tail -n 5 "$W/broker.err" | tr '\n' ' ')"
	fi
	report "$label: the records are delivered once the broker is up"

	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	check_summary_line "$d/sensor.out"
	report "$label: exits 0 on SIGINT with one summary line"
	tap_checker "$label" python3 "$E2E/check.py" summary --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl" --summary "$d/sensor.out"
	[ -n "$BROKER" ] && check_kafka_records "$label" "$d" "$topic" --key 5tuple
	check_clean "$VA" "$d/settings.before"
	report "$label: nothing left behind"
}

# test_key_scheme SCHEME [UNIT [ARGS...]]: ARGS go to the sensor and to check.py.
test_key_scheme() {
	local scheme=$1 unit=${2:-} label topic d line args=()
	args=(--key "$scheme")
	[ -n "$unit" ] && args+=(--ts-unit "$unit")
	args+=("${@:3}")
	label="${args[*]}"
	KEY_RUNS=$((${KEY_RUNS:-0} + 1)) # a scheme may run twice (--producer)
	topic=xs-e2e-$scheme-$$-$KEY_RUNS
	d=$W/key-$scheme-$KEY_RUNS
	mkdir -p "$d"
	if [ -z "$BROKER" ]; then
		tap_not_ok "$label: no Kafka broker (it should have started above)"
		return
	fi
	if ! tests/kafka/broker.sh create-topic "$BROKER_DIR" "$topic" "$PARTS" 2>"$d/topic.err"; then
		tap_not_ok "$label: cannot create topic $topic: $(tail -n 2 "$d/topic.err" | tr '\n' ' ')"
		return
	fi
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/sensor" -i "$VA" -b "$BROKER" -t "$topic" --spool-dir "$W/spool" "${args[@]}"
	sensor_started "$label" "$d/sensor.err" "$VA" || return
	traffic "$d" "${REPLAY_ARGS[@]}" --generate
	wait_stats "$VA" 60 \
		"s['rx_packets'] >= $NSENT and s['read'] >= $NCAP and s['delivered'] >= $NCAP" \
		>"$d/stats.json" || fail "not all delivered within 60 s: $(cat "$d/stats.json")"
	alive "$SENSOR_PID" || fail "the sensor died"
	while IFS= read -r line; do diag "$line"; done <"$d/traffic.err"
	report "$label: the sensor captures and delivers $NCAP of $NSENT frames"

	# while it runs
	"$XS" flows -i "$VA" --json >"$d/flows.jsonl" 2>"$d/flows.err" ||
		fail "flows --json failed: $(cat "$d/flows.err")"
	bpftool map dump pinned "$PIN_ROOT/$VA/flows" >"$d/dump.txt" 2>&1
	bpftool -j map dump pinned "$PIN_ROOT/$VA/flows" >"$d/dump.json" 2>&1
	tap_checker "$label" python3 "$E2E/check.py" stats --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl" --stats "$d/stats.json"
	tap_checker "$label" python3 "$E2E/check.py" bpftool --manifest "$d/manifest.json" \
		--dump-json "$d/dump.json" --dump-text "$d/dump.txt"
	tap_checker "$label" python3 "$E2E/check.py" flows --manifest "$d/manifest.json" \
		--flows "$d/flows.jsonl"

	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] ||
		fail "exit $SENSOR_RC after SIGINT: $(tail -n 2 "$d/sensor.err" | tr '\n' ' ')"
	check_summary_line "$d/sensor.out"
	report "$label: exits 0 on SIGINT with one JSON summary line"
	tap_checker "$label" python3 "$E2E/check.py" summary --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl" --summary "$d/sensor.out"
	check_kafka_records "$label" "$d" "$topic" "${args[@]}"
	check_clean "$VA" "$d/settings.before"
	report "$label: nothing left behind"
}

# Every Ethernet capture of PCAPS_DIR and a generated jumbo conversation at
# MTU 9000 (ARGS to the sensor): frames up to 9014 bytes (the largest here: 7306), in several
# buffers in the datapath and in several AF_XDP descriptors where the kernel
# has multi-buffer (6.6+); each arrives once, whole.
test_jumbo() {
	local label="MTU 9000, every capture${1:+ ($*)}" topic=xs-e2e-jumbo-$$-${#@} d=$W/jumbo${#@} mode
	mkdir -p "$d"
	if [ -z "$BROKER" ]; then
		tap_not_ok "$label: no Kafka broker (it should have started above)"
		return
	fi
	if ! ip link set dev "$VA" mtu 9000 || ! ip -n "$NS" link set dev "$VB" mtu 9000; then
		tap_skip "$label" "cannot set MTU 9000 on the veth pair"
		return
	fi
	tests/kafka/broker.sh create-topic "$BROKER_DIR" "$topic" "$PARTS" 2>"$d/topic.err" ||
		fail "cannot create topic $topic: $(tail -n 2 "$d/topic.err" | tr '\n' ' ')"
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/sensor" -i "$VA" -b "$BROKER" -t "$topic" --spool-dir "$W/spool" -v "$@"
	if ! sensor_wait_ready "$d/sensor.err"; then
		fail "not capturing: $(grep -v '^$' "$d/sensor.err" | tail -n 3 | tr '\n' ' ')"
		report "$label: the sensor starts at MTU 9000"
		sensor_stop KILL
		scrub_iface "$VA"
		ip link set dev "$VA" mtu 1500
		ip -n "$NS" link set dev "$VB" mtu 1500
		return
	fi
	mode=$(grep -o "attached in [a-z]* mode" "$d/sensor.err" | head -n 1)
	diag "$VA: XDP program $mode; $(grep -o 'AF_XDP socket in .*' "$d/sensor.err" | head -n 1)"
	case $mode in
	*native*) ;;
	*) fail "not native at MTU 9000 ($mode): $(grep -i native "$d/sensor.err" | head -n 1)" ;;
	esac
	traffic "$d" --pcap-dir "$PCAPS_DIR" --generate --jumbo
	wait_stats "$VA" 90 \
		"s['rx_packets'] >= $NSENT and s['read'] >= $NCAP and s['delivered'] >= $NCAP" \
		>"$d/stats.json" || fail "not all delivered within 90 s: $(cat "$d/stats.json")"
	diag "$(grep -c . "$d/traffic.err") lines from traffic.py; $(tail -n 1 "$d/traffic.err")"
	report "$label: the sensor captures and delivers $NCAP of $NSENT frames"
	tap_checker "$label" python3 "$E2E/check.py" stats --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl" --stats "$d/stats.json"
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	report "$label: exits 0 on SIGINT"
	tap_checker "$label" python3 "$E2E/check.py" summary --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl" --summary "$d/sensor.out"
	check_kafka_records "$label" "$d" "$topic" --key 5tuple
	check_clean "$VA" "$d/settings.before"
	ip link set dev "$VA" mtu 1500
	ip -n "$NS" link set dev "$VB" mtu 1500
	report "$label: nothing left behind"
}

# The bench's kafka-batch (bench/peers/kafka_batch.c: issue #11's measure
# of record batches of our own) must write what kafka-alone writes through
# librdkafka, or its figure means nothing: the broker checks each batch's
# CRC, and a consumer reads the same keys, values and header, partition by
# partition in the same order (the same murmur2).
test_batch_peer() {
	local label="kafka-batch (bench peer)" d=$W/batch n=5000 t
	mkdir -p "$d"
	if [ -z "$BROKER" ]; then
		tap_not_ok "$label: no Kafka broker (it should have started above)"
		return
	fi
	if [ ! -x build/bench/kafka-batch ] || [ ! -x build/bench/kafka-alone ]; then
		tap_skip "$label" "build/bench/kafka-batch or kafka-alone missing (make test-build)"
		return
	fi
	for t in batch alone; do
		tests/kafka/broker.sh create-topic "$BROKER_DIR" "xs-e2e-$t-$$" "$PARTS" 2>"$d/topic.err" ||
			fail "cannot create topic xs-e2e-$t-$$: $(tail -n 2 "$d/topic.err" | tr '\n' ' ')"
		"build/bench/kafka-$t" -b "$BROKER" -t "xs-e2e-$t-$$" -n "$n" -k 100 -M "$VA" \
			>"$d/$t.json" 2>"$d/$t.err" ||
			fail "kafka-$t exited $?: $(tail -n 2 "$d/$t.err" | tr '\n' ' ')"
		timeout 120 "$CONSUME" -b "$BROKER" -t "xs-e2e-$t-$$" -e -I 20000 >"$d/$t.jsonl" \
			2>"$d/$t.consume.err" || fail "consuming xs-e2e-$t-$$ failed"
	done
	python3 - "$d" "$n" "$VA" <<'PY' || fail "$(cat "$d/compare.err")"
import collections, json, sys
d, n, iface = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def load(t):
    by_part = collections.defaultdict(list)
    for line in open(f"{d}/{t}.jsonl"):
        r = json.loads(line)
        if r["key"] is None:  # kafka-alone's warm-up record
            continue
        meta = bytes.fromhex(r["headers"].get("xs.meta") or "")
        by_part[r["partition"]].append((r["key"], r["value"], meta[:1], meta[4:8], meta[16:]))
    return by_part
batch, alone = load("batch"), load("alone")
problems = []
total = sum(map(len, batch.values()))
if total != n:
    problems.append(f"{total} of {n} records in the topic")
if batch != alone:
    problems.append("its records differ from kafka-alone's (key, value, header or partition order)")
want = (b"\x01", (60).to_bytes(4, "big"), iface.encode())
if any(rec[2:] != want for recs in batch.values() for rec in recs):
    problems.append("a record without the compact header kafka-alone writes")
open(f"{d}/compare.err", "w").write("; ".join(problems))
sys.exit(1 if problems else 0)
PY
	report "$label: its $n records are kafka-alone's, read back by a consumer"
}

# ------------------------------------------------------------------ main

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

prepare
test_bad_options
test_no_such_interface
test_not_root
test_busy
test_crash_recovery
test_second_run
test_iface_deleted
test_unreachable_broker
test_kafka_fatal
if [ ${#REPLAY_ARGS[@]} -eq 0 ]; then
	tap_skip "replay real captures" "none of them in $PCAPS_DIR"
fi
test_key_scheme 5tuple
test_key_scheme community-id "" --headers all
test_key_scheme metron us
# the packet writer of our own: the same records, checked the same way
test_key_scheme 5tuple "" --producer batch
test_key_scheme metron ms --producer batch --headers all
test_flow_records
test_flow_table_full
test_metrics_port_busy
test_metrics
test_secured_kafka
test_jumbo
test_jumbo --producer batch
test_batch_peer
tap_end
