#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: the spool, against a real Kafka broker of its own (this suite
# stops and kills it). TAP on stdout; exit 0 when every test passed.
#
#   the broker stopped (kill -STOP) during traffic, then resumed
#   the broker killed (kill -9) during traffic, then restarted
#   the broker down before the sensor starts, then started
#   two brokers, the second (leading half the partitions) killed and restarted
#   (with E2E_PRODUCER=batch)
#   the sensor killed (kill -9) during the backlog, restarted on its spool
#   the sensor killed (kill -9) while frames flow into the backlog: what its
#   socket had received and not read, and what its spool had not written yet,
#   taken by the next run
#   traffic from while no sensor ran (killed) into the next run: parked
#   frames first, then the socket's, in order; a parking ring too small: counted
#   the sensor stopped (SIGTERM) during the backlog: the next run sends the rest
#   the sensor stopped (SIGTERM) while 100 kpps flow: every frame taken is read
#   a restart with --handover while traffic flows: nothing lost in between;
#   detach removes what the last run left
#   spool full (--spool-max), spool directory unwritable, a corrupt segment
# Every frame captured must reach the topic byte-identical, in order per
# key, exactly once (or as copies the sensor counted in maybe_dup), and
# the ledger must add up. Rates are modest: the machine is shared.
#
# Environment: XDPSENSOR, E2E_SPOOL_RATE (frames/s, default 300), E2E_PRODUCER
# (librdkafka or batch), E2E_KEEP=1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

RATE=${E2E_SPOOL_RATE:-300}
PRODUCER=${E2E_PRODUCER:-} # --producer for every run (default: the sensor's)
PARTS=4
FLOWS=8
NS=xssp-$$
VA=xs$$a
VB=xs$$b
CONSUME=build/e2e/xs-consume
W=
BROKER_DIR=
BROKER2_DIR=
BROKER=
TRAFFIC_PID=
RO_MOUNT=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	sensor_kill
	[ -z "$TRAFFIC_PID" ] || { kill "$TRAFFIC_PID" 2>/dev/null; wait "$TRAFFIC_PID" 2>/dev/null; }
	broker_cont
	scrub_iface "$VA"
	teardown_veth "$NS" "$VA"
	[ -z "$RO_MOUNT" ] || umount "$RO_MOUNT" 2>/dev/null
	[ -z "$BROKER2_DIR" ] || tests/kafka/broker.sh stop "$BROKER2_DIR" >/dev/null 2>&1
	[ -z "$BROKER_DIR" ] || tests/kafka/broker.sh stop "$BROKER_DIR" >/dev/null 2>&1
	work_dir_end $rc "${E2E_KEEP:-0}"
	exit $rc
}

skip_all() {
	echo "1..1"
	echo "ok 1 - spool end to end # SKIP $*"
	exit 0
}

broker_pid() { cat "$BROKER_DIR/pid" 2>/dev/null; }
broker_stop() { kill -STOP "$(broker_pid)"; }
broker_cont() { [ -z "$BROKER_DIR" ] || kill -CONT "$(broker_pid)" 2>/dev/null; }

prepare() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (veth, netns, XDP)"
	for need in ip ethtool python3; do
		command -v "$need" >/dev/null || skip_all "$need not installed (make deps)"
	done
	[ -x "$XS" ] && [ -f "$CONSUME" ] || { echo "1..1"; echo "not ok 1 - run make test-build"; exit 1; }
	W=$(mktemp -d /tmp/xs-spool.XXXXXX)
	tests/kafka/broker.sh fetch >/dev/null 2>"$W/fetch.err" ||
		skip_all "cannot fetch Kafka: $(tail -n 1 "$W/fetch.err")"
	BROKER_DIR=$W/kafka
	BROKER=$(tests/kafka/broker.sh start "$BROKER_DIR" 2>"$W/broker.err") ||
		{ echo "1..1"; echo "not ok 1 - the broker did not start: $(tail -n 3 "$W/broker.err" | tr '\n' ' ')"; exit 1; }
	setup_veth "$NS" "$VA" "$VB" || { echo "1..1"; echo "not ok 1 - cannot create veth $VA"; exit 1; }
	diag "veth $VA <-> $VB (netns $NS), broker $BROKER (pid $(broker_pid)), work dir $W"
}

# new_topic NAME: a topic of PARTS partitions; prints its name.
new_topic() {
	local t=xs-spool-$1-$$
	tests/kafka/broker.sh create-topic "$BROKER_DIR" "$t" "$PARTS" 2>>"$W/broker.err" || return 1
	echo "$t"
}

# traffic_bg DIR COUNT: COUNT numbered frames over FLOWS flows at RATE, in the background.
traffic_bg() {
	local d=$1 count=$2
	send_traffic "$NS" "$VB" --rate "$RATE" --stream "$FLOWS:$count" \
		--manifest "$d/manifest.json" --sent-pcap "$d/sent.pcap" 2>"$d/traffic.err" &
	TRAFFIC_PID=$!
}

traffic_wait() {
	local d=$1
	wait "$TRAFFIC_PID" || fail "traffic.py failed: $(tail -n 2 "$d/traffic.err")"
	TRAFFIC_PID=
	"$XS" classify --json "$d/sent.pcap" >"$d/classify.jsonl" 2>/dev/null
	NCAP=$(python3 "$E2E/check.py" count --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl" | cut -d' ' -f2)
}

# start D TOPIC ARGS...: the sensor on the veth, spooling in D/spool.
start() {
	local d=$1 topic=$2
	shift 2
	sensor_start "$d/sensor$RUN" -i "$VA" -b "$BROKER" -t "$topic" --spool-dir "$d/spool" \
		${PRODUCER:+--producer "$PRODUCER"} "$@"
	sensor_wait_ready "$d/sensor$RUN.err" || {
		fail "not capturing: $(tail -n 3 "$d/sensor$RUN.err" | tr '\n' ' ')"
		return 1
	}
}

# begin NAME [ARGS...]: for the calling test (its locals d, label, topic,
# RUN): the work dir, a topic of its own, the interface's settings to
# compare at the end, the sensor started with ARGS. 1, reported, if any fails.
begin() {
	local name=$1
	shift
	mkdir -p "$d"
	topic=$(new_topic "$name") || { tap_not_ok "$label: cannot create a topic"; return 1; }
	iface_settings "$VA" >"$d/settings.before"
	start "$d" "$topic" "$@" || { report "$label: the sensor starts"; sensor_stop KILL; return 1; }
}

# j FILE FIELD: a field of the one JSON line in FILE.
j() { json_get "$2" <"$1"; }

# check_summary FILE: the ledger adds up, nothing in flight at the end.
check_summary() {
	python3 - "$1" >"$1.check" 2>&1 <<'EOF' || fail "summary $(basename "$1"): $(cat "$1.check")"
import json, sys
s = json.loads(open(sys.argv[1]).read())
inflight = s["produced"] + s["spool_out"] - s["delivered"] - s["failed"] - s["reclaimed"]
out = s["delivered"] + s["failed"] + s["queue_full"] + s["spool_full"] + s["spool_errors"] + \
    s["sink_errors"] + inflight + s["spooled"]
bad = []
if s["received"] + s["unparked"] + s["spool_recovered"] != out:
    bad.append("ledger: received %d + unparked %d + recovered %d != %d"
               % (s["received"], s["unparked"], s["spool_recovered"], out))
if inflight or s["in_flight"]:
    bad.append("in flight at the end: %d" % inflight)
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
EOF
}

# stopped_clean D: SIGTERM ends the sensor with 0, its summary adds up,
# nothing in flight, nothing dropped or failed.
stopped_clean() {
	local d=$1 k
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary_line "$d/sensor.out"
	check_summary "$d/sensor.out"
	for k in queue_full spool_full spool_errors failed; do
		[ "$(j "$d/sensor.out" $k)" = 0 ] || fail "$k = $(j "$d/sensor.out" $k)"
	done
}

# records D TOPIC MAXDUPS: every frame in the topic once, byte-identical, in order per key.
records() {
	local d=$1 topic=$2 dups=$3 label=$4
	if ! timeout 180 "$CONSUME" -b "$BROKER" -t "$topic" -e -I 20000 >"$d/records.jsonl" \
		2>"$d/consume.err"; then
		tap_not_ok "$label: consuming failed: $(tail -n 2 "$d/consume.err" | tr '\n' ' ')"
		return
	fi
	tap_checker "$label" python3 "$E2E/check.py" records --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl" --records "$d/records.jsonl" --partitions "$PARTS" \
		--iface "$VA" --key 5tuple --max-dups "$dups"
}

# The broker away while traffic flows: FAULT is stop or kill.
test_broker_outage() {
	local fault=$1
	local label="broker $fault" d=$W/outage-$1 topic s count=$((RATE * 14)) RUN=
	begin "$fault" || return
	traffic_bg "$d" "$count"
	sleep 3
	if [ "$fault" = stop ]; then
		broker_stop
	else
		kill -KILL "$(broker_pid)"
	fi
	diag "broker ${fault}ped at $(date +%T); traffic goes on"
	sleep 8
	s=$(stats_json "$VA")
	diag "during the outage: $(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print({k: s[k] for k in ("read","produced","spool_in","reclaimed","spooled","delivered")})' "$s")"
	[ "$(json_get spooled <<<"$s")" -gt 0 ] 2>/dev/null || fail "nothing in the spool during the outage"
	if [ "$fault" = stop ]; then
		broker_cont
	else
		tests/kafka/broker.sh restart "$BROKER_DIR" 2>>"$W/broker.err" ||
			fail "the broker did not restart: $(tail -n 2 "$W/broker.err")"
	fi
	diag "broker back at $(date +%T)"
	traffic_wait "$d"
	s=$(wait_stats "$VA" 120 "s['read'] >= $NCAP and s['spooled'] == 0 and s['in_flight'] == 0") ||
		fail "not all delivered 120 s after the broker came back: $s"
	stopped_clean "$d"
	[ "$(j "$d/sensor.out" delivered)" -ge "$NCAP" ] 2>/dev/null ||
		fail "delivered $(j "$d/sensor.out" delivered) of $NCAP"
	diag "summary: $(cat "$d/sensor.out")"
	check_clean "$VA" "$d/settings.before"
	[ ! -e "$d/spool/$VA.q0" ] || fail "the emptied spool left $d/spool/$VA.q0"
	report "$label: $NCAP frames at $RATE/s, 8 s outage: 0 lost, spooled" \
		"$(j "$d/sensor.out" spool_in) + reclaimed $(j "$d/sensor.out" reclaimed), ledger adds up"
	records "$d" "$topic" "$(j "$d/sensor.out" maybe_dup)" "$label"
}

# Two brokers, each leading two of the topic's partitions; the second
# killed during traffic and restarted: the records of its partitions wait
# (and go to the spool), the first's keep flowing, and every frame arrives.
test_second_broker() {
	local label="two brokers, one killed" d=$W/twobrokers topic s b2 leaders count=$((RATE * 14)) RUN=
	BROKER2_DIR=$W/kafka2
	if ! tests/kafka/broker.sh join "$BROKER_DIR" "$BROKER2_DIR" >/dev/null 2>"$W/broker2.err"; then
		tap_not_ok "$label: the second broker did not start: $(tail -n 2 "$W/broker2.err" | tr '\n' ' ')"
		return
	fi
	b2=$(cat "$BROKER2_DIR/pid")
	begin twobrokers || return
	leaders=$(kcat -b "$BROKER" -L -t "$topic" 2>/dev/null | grep -o 'partition [0-9]*, leader [0-9]*')
	diag "$(tr '\n' ' ' <<<"$leaders")"
	[ "$(awk '{ print $NF }' <<<"$leaders" | sort -u | wc -l)" = 2 ] ||
		fail "the topic's partitions are not led by both brokers"
	traffic_bg "$d" "$count"
	sleep 3
	kill -KILL "$b2"
	diag "broker 2 killed at $(date +%T); traffic goes on"
	sleep 5
	tests/kafka/broker.sh restart "$BROKER2_DIR" 2>>"$W/broker2.err" ||
		fail "broker 2 did not restart: $(tail -n 2 "$W/broker2.err")"
	diag "broker 2 back at $(date +%T)"
	traffic_wait "$d"
	s=$(wait_stats "$VA" 120 "s['read'] >= $NCAP and s['spooled'] == 0 and s['in_flight'] == 0") ||
		fail "not all delivered 120 s after broker 2 came back: $s"
	stopped_clean "$d"
	check_clean "$VA" "$d/settings.before"
	report "$label: $NCAP frames at $RATE/s, partitions on both: 0 lost, spooled" \
		"$(j "$d/sensor.out" spool_in) + reclaimed $(j "$d/sensor.out" reclaimed), ledger adds up"
	records "$d" "$topic" "$(j "$d/sensor.out" maybe_dup)" "$label"
	tests/kafka/broker.sh stop "$BROKER2_DIR" 2>>"$W/broker2.err"
	BROKER2_DIR=
}

# The broker down (killed) before the sensor starts: it starts anyway, says
# so, keeps what it captures, and sends it all once the broker is back.
test_broker_down_at_start() {
	local label="broker down at start" d=$W/downatstart topic s count=$((RATE * 6)) RUN=
	mkdir -p "$d"
	topic=$(new_topic downatstart) || { tap_not_ok "$label: cannot create a topic"; return; }
	iface_settings "$VA" >"$d/settings.before"
	kill -KILL "$(broker_pid)"
	start "$d" "$topic" || { report "$label: the sensor starts"; sensor_stop KILL; return; }
	grep -q "not reachable" "$d/sensor.err" || fail "no line saying the broker is not reachable"
	diag "$(grep "not reachable" "$d/sensor.err" | head -n 1)"
	traffic_bg "$d" "$count"
	traffic_wait "$d"
	s=$(wait_stats "$VA" 30 "s['read'] >= $NCAP") || fail "not all read: $s"
	[ "$(json_get delivered <<<"$s")" = 0 ] || fail "delivered without a broker? $s"
	tests/kafka/broker.sh restart "$BROKER_DIR" 2>>"$W/broker.err" ||
		fail "the broker did not restart: $(tail -n 2 "$W/broker.err")"
	s=$(wait_stats "$VA" 120 "s['delivered'] >= $NCAP and s['spooled'] == 0 and s['in_flight'] == 0") ||
		fail "not all delivered 120 s after the broker came up: $s"
	stopped_clean "$d"
	check_clean "$VA" "$d/settings.before"
	report "$label: starts, says so, $NCAP frames kept and delivered once the broker is up"
	records "$d" "$topic" "$(j "$d/sensor.out" maybe_dup)" "$label"
}

# The sensor killed while the broker is stopped and records wait in the spool.
test_sensor_kill() {
	local label="sensor kill -9 in the backlog" d=$W/sensorkill topic s s1 count=$((RATE * 6)) RUN=1
	begin sensorkill || return
	traffic_bg "$d" "$count"
	sleep 2
	broker_stop
	traffic_wait "$d"
	# every frame read, none left in the producer: all on disk
	s=$(wait_stats "$VA" 30 "s['read'] >= $NCAP and s['in_flight'] == 0 and s['spooled'] > 0") ||
		fail "backlog not all in the spool: $s"
	s1=$s
	diag "before kill -9: $(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print({k: s[k] for k in ("read","delivered","spool_in","reclaimed","maybe_dup","spooled","spool_bytes")})' "$s")"
	sensor_stop KILL
	broker_cont
	RUN=2
	start "$d" "$topic" || { report "$label: the sensor restarts"; sensor_stop KILL; return; }
	grep -q "left by an earlier run" "$d/sensor2.err" || fail "the restart does not say it found records"
	s=$(wait_stats "$VA" 120 "s['spooled'] == 0 and s['in_flight'] == 0 and s['spool_recovered'] > 0") ||
		fail "the restart did not send the spool: $s"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary "$d/sensor2.out"
	diag "restart: $(cat "$d/sensor2.out")"
	check_clean "$VA" "$d/settings.before"
	report "$label: the restart finds $(j "$d/sensor2.out" spool_recovered) records and sends them," \
		"ledger adds up"
	# copies: taken back while sent, counted by each run (the first one in its stats)
	records "$d" "$topic" "$(($(json_get maybe_dup <<<"$s1") + $(j "$d/sensor2.out" maybe_dup)))" "$label"
}

# SIGTERM during the backlog: the summary says what is kept; the next run sends it.
test_sigterm_replay() {
	local label="SIGTERM in the backlog, restart" d=$W/sigterm topic count=$((RATE * 4)) RUN=1 kept
	begin sigterm || return
	broker_stop
	traffic_bg "$d" "$count"
	traffic_wait "$d"
	wait_stats "$VA" 30 "s['read'] >= $NCAP" >/dev/null || fail "not all read"
	sensor_stop TERM 60
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary "$d/sensor1.out"
	kept=$(j "$d/sensor1.out" spooled)
	[ "$kept" = "$NCAP" ] || fail "kept $kept of $NCAP in the spool at exit"
	broker_cont
	RUN=2
	start "$d" "$topic" --duration 30 || { report "$label"; sensor_stop KILL; return; }
	wait_stats "$VA" 60 "s['spooled'] == 0 and s['in_flight'] == 0" >/dev/null ||
		fail "the spool was not sent"
	sensor_stop TERM
	check_summary "$d/sensor2.out"
	[ "$(j "$d/sensor2.out" spool_recovered)" = "$kept" ] ||
		fail "recovered $(j "$d/sensor2.out" spool_recovered), kept $kept"
	[ "$(j "$d/sensor2.out" delivered)" = "$kept" ] || fail "delivered $(j "$d/sensor2.out" delivered) of $kept"
	check_clean "$VA" "$d/settings.before"
	report "$label: $kept records kept at exit (summary), all sent by the next run"
	records "$d" "$topic" "$(($(j "$d/sensor1.out" maybe_dup) + $(j "$d/sensor2.out" maybe_dup)))" "$label"
}

test_spool_full() {
	local label="spool full" d=$W/full topic count=$((RATE * 4)) RUN= full
	begin full --spool-max 32K || return
	broker_stop
	traffic_bg "$d" "$count"
	traffic_wait "$d"
	wait_stats "$VA" 30 "s['read'] >= $NCAP and s['spool_full'] > 0" >"$d/stats.json" ||
		fail "no spool_full: $(cat "$d/stats.json")"
	broker_cont
	wait_stats "$VA" 60 "s['spooled'] == 0 and s['in_flight'] == 0" >/dev/null || fail "not drained"
	sensor_stop TERM
	check_summary "$d/sensor.out"
	full=$(j "$d/sensor.out" spool_full)
	[ "$(($(j "$d/sensor.out" delivered) + full))" = "$NCAP" ] ||
		fail "delivered $(j "$d/sensor.out" delivered) + spool_full $full != $NCAP"
	diag "summary: $(cat "$d/sensor.out")"
	report "$label: --spool-max 32K, broker stopped: $full of $NCAP dropped as spool_full," \
		"the rest delivered, ledger adds up"
}

test_unwritable() {
	local label="spool directory unwritable" d=$W/ro topic RUN= n
	mkdir -p "$d/ro"
	topic=$(new_topic ro) || { tap_not_ok "$label: cannot create a topic"; return; }
	if ! mount -t tmpfs -o ro,size=64k xs-spool-ro "$d/ro"; then
		tap_skip "$label" "cannot mount a read-only tmpfs"
		return
	fi
	RO_MOUNT=$d/ro
	sensor_start "$d/sensor" -i "$VA" -b "$BROKER" -t "$topic" --spool-dir "$d/ro/spool" \
		${PRODUCER:+--producer "$PRODUCER"}
	sensor_wait_ready "$d/sensor.err" || fail "not capturing: $(tail -n 2 "$d/sensor.err")"
	n=$(grep -c "spool $d/ro/spool" "$d/sensor.err")
	[ "$n" -eq 1 ] || fail "$n lines about the spool directory, not one"
	diag "$(grep "spool " "$d/sensor.err" | head -n 1)"
	traffic_bg "$d" $((RATE * 2))
	traffic_wait "$d"
	wait_stats "$VA" 60 "s['delivered'] >= $NCAP" >/dev/null || fail "capture did not go on"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC"
	check_summary "$d/sensor.out"
	umount "$d/ro" && RO_MOUNT=
	report "$label: one line naming it, capture goes on ($NCAP delivered), ledger adds up"
}

test_corrupt_segment() {
	local label="corrupt segment" d=$W/corrupt topic count=$((RATE * 3)) RUN=1 seg
	begin corrupt || return
	broker_stop
	traffic_bg "$d" "$count"
	traffic_wait "$d"
	wait_stats "$VA" 30 "s['read'] >= $NCAP" >/dev/null || fail "not all read"
	sensor_stop TERM 60
	broker_cont
	seg=$(ls "$d/spool/$VA.q0"/*.seg 2>/dev/null | head -n 1)
	if [ -z "$seg" ]; then
		fail "no segment kept"
		report "$label"
		return
	fi
	# one byte in the middle of the segment flipped
	python3 - "$seg" <<'EOF'
import os, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    at = os.path.getsize(p) // 2
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0xff]))
EOF
	RUN=2
	start "$d" "$topic" || { report "$label"; sensor_stop KILL; return; }
	[ "$(grep -c "fails its CRC" "$d/sensor2.err")" = 1 ] || fail "not one line about the CRC"
	diag "$(grep "fails its CRC" "$d/sensor2.err")"
	wait_stats "$VA" 60 "s['spooled'] == 0 and s['in_flight'] == 0" >/dev/null || fail "not drained"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC"
	check_summary "$d/sensor2.out"
	[ "$(j "$d/sensor2.out" spool_corrupt)" = 1 ] || fail "spool_corrupt $(j "$d/sensor2.out" spool_corrupt)"
	[ "$(j "$d/sensor2.out" delivered)" = "$(j "$d/sensor2.out" spool_recovered)" ] ||
		fail "delivered $(j "$d/sensor2.out" delivered) != recovered $(j "$d/sensor2.out" spool_recovered)"
	[ "$(j "$d/sensor2.out" spool_recovered)" -gt 0 ] 2>/dev/null || fail "nothing recovered before the damage"
	report "$label: one line, counted (spool_corrupt 1), the $(j "$d/sensor2.out" spool_recovered)" \
		"records before the damage sent, the run goes on"
}

# kill -9 while frames flow into the backlog (the broker stopped). The
# sensor is stopped (SIGSTOP) a second first, so that frames wait unread in
# its socket's ring (its UMEM, a file on tmpfs) and records in its spool's
# write buffers (a staging file), then killed: the next run takes both,
# before what was parked after the kill. Nothing may be lost.
test_kill_in_traffic() {
	local label="sensor kill -9 in traffic" d=$W/killflow topic count=$((RATE * 6)) RUN=1 s1 k m1 staged
	begin killflow || return
	broker_stop
	traffic_bg "$d" "$count"
	# frozen once its stall has taken back what its producer sent (the
	# copies it may cause are counted, maybe_dup): the counters are
	# published once a second, and the next take-back is 2 s away
	s1=$(wait_stats "$VA" 10 "s['reclaimed'] > 0") ||
		fail "no records taken back while the broker is stopped: $s1"
	kill -STOP "$SENSOR_PID"
	sleep 1
	sensor_stop KILL
	RUN=2
	start "$d" "$topic" || { report "$label: the sensor restarts"; sensor_stop KILL; return; }
	k=$(sed -n "s/.* \([0-9]*\) frames the last run's sockets had received and not read.*/\1/p" \
		"$d/sensor2.err")
	[ "${k:-0}" -gt 0 ] 2>/dev/null ||
		fail "the restart does not take the killed run's unread frames from its UMEM"
	broker_cont
	traffic_wait "$d"
	wait_stats "$VA" 120 "s['spooled'] == 0 and s['in_flight'] == 0 and s['delivered'] >= $NCAP" >/dev/null ||
		fail "the backlog was not sent"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary "$d/sensor2.out"
	check_clean "$VA" "$d/settings.before"
	staged=$(sed -n 's/.*: \([0-9]*\) records an earlier run appended and had not written.*/\1/p' \
		"$d/sensor2.err" | awk '{ n += $1 } END { print n + 0 }')
	report "$label: the next run takes $k frames the killed run had not read from its UMEM," \
		"$staged records from its spool's staging file, then the parked ones"
	m1=$(json_get maybe_dup <<<"$s1")
	records "$d" "$topic" "$((${m1:-0} + $(j "$d/sensor2.out" maybe_dup)))" "$label"
}

# Frames that come while no sensor runs (it was killed): its program, still
# attached, counts them; the next run says how many, and sums them in its
# summary (lost_in_restart).
# Traffic starts while no sensor runs (the last one killed) and goes on
# after the next one starts: the frames parked meanwhile come first, then
# those its sockets receive, per key in send order.
test_parked_in_restart() {
	local label="frames while no sensor ran" d=$W/gap topic count=$((RATE * 4)) RUN=1 n r
	begin gap || return
	sensor_stop KILL
	traffic_bg "$d" "$count"
	sleep 1.5
	RUN=2
	start "$d" "$topic" || { report "$label: the sensor restarts"; sensor_stop KILL; return; }
	traffic_wait "$d"
	wait_stats "$VA" 60 "s['in_flight'] == 0 and s['delivered'] >= $NCAP" >/dev/null ||
		fail "not all delivered"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary "$d/sensor2.out"
	check_clean "$VA" "$d/settings.before"
	n=$(j "$d/sensor2.out" unparked)
	r=$(j "$d/sensor2.out" received)
	# both ways in: parked before the restart, read from the socket after
	# (the host's own few frames, IPv6 neighbour discovery, may come too)
	[ "$n" -gt 0 ] 2>/dev/null && [ "$r" -gt 0 ] 2>/dev/null &&
		[ "$((n + r))" -ge "$NCAP" ] && [ "$((n + r))" -le $((NCAP + 20)) ] ||
		fail "unparked $n + received $r; $NCAP frames to capture were sent"
	[ "$(j "$d/sensor2.out" lost_in_restart)" = 0 ] ||
		fail "lost_in_restart $(j "$d/sensor2.out" lost_in_restart)"
	grep -q "taken from the parking ring" "$d/sensor2.err" ||
		fail "the restart does not say it: $(grep -v '^{' "$d/sensor2.err" | head -n 3 | tr '\n' ' ')"
	# the broker stayed up: the parked frames' reports are no stall
	[ "$(j "$d/sensor2.out" reclaimed)" = 0 ] ||
		fail "run 2 took $(j "$d/sensor2.out" reclaimed) records back from its producer"
	report "$label: parked by the dead run's program, sent by the next one before what its" \
		"socket received (unparked $n, received $r, $NCAP sent, lost_in_restart 0, none taken back)"
	records "$d" "$topic" "$(j "$d/sensor2.out" maybe_dup)" "$label"
}

# A parking ring too small for what came while no sensor ran (--park-mb 1,
# 40,000 frames at 100 kpps): what it kept is sent, the rest is counted
# by the dead run's program and said by the next run (lost_in_restart).
test_parking_full() {
	local label="parking ring full" d=$W/park-full topic mac sent RUN=1
	begin parkfull --park-mb 1 || return
	sensor_stop KILL
	mac=$(cat "/sys/class/net/$VA/address")
	ip netns exec "$NS" build/bench/xs-gen -i "$VB" -m "$mac" -r 100000 -n 40000 -s 64 \
		-f 64 >"$d/gen.json" 2>"$d/gen.err" || fail "xs-gen failed: $(tail -n 2 "$d/gen.err")"
	sent=$(tail -n 1 "$d/gen.json" | json_get sent)
	RUN=2
	start "$d" "$topic" --park-mb 1 || { report "$label: the sensor restarts"; sensor_stop KILL; return; }
	wait_stats "$VA" 60 "s['unparked'] > 0 and s['in_flight'] == 0 and s['delivered'] >= s['unparked']" \
		>/dev/null || fail "the parked frames were not delivered"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary "$d/sensor2.out"
	check_clean "$VA" "$d/settings.before"
	python3 - "$d/sensor2.out" "$sent" >"$d/full.check" 2>&1 <<'EOF' || fail "$(cat "$d/full.check")"
import json, sys
s, sent = json.loads(open(sys.argv[1]).read()), int(sys.argv[2])
kept, lost = s["unparked"], s["lost_in_restart"]
bad = []
# the host's own few frames (IPv6 neighbour discovery) may come too
if not sent <= kept + lost <= sent + 20:
    bad.append("unparked %d + lost_in_restart %d, %d sent" % (kept, lost, sent))
if not kept or not lost:
    bad.append("unparked %d, lost_in_restart %d: the ring should have kept some and not all"
               % (kept, lost))
if s["delivered"] < kept:
    bad.append("delivered %d < unparked %d" % (s["delivered"], kept))
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
EOF
	grep -q "found no socket after the last run died" "$d/sensor2.err" ||
		fail "the restart does not say what was lost"
	report "$label: $sent sent while no sensor ran: $(j "$d/sensor2.out" unparked) kept and sent," \
		"$(j "$d/sensor2.out" lost_in_restart) counted as lost_in_restart, said once"
}

# SIGTERM while 100 kpps flow: the sockets leave the program's map first,
# then each worker reads its ring to the end, and what came meanwhile was
# parked and is read too: every frame the program took to capture is read.
test_sigterm_in_traffic() {
	local label="SIGTERM in traffic" d=$W/stop-traffic topic mac gen RUN=
	begin stoptraffic || return
	mac=$(cat "/sys/class/net/$VA/address")
	ip netns exec "$NS" build/bench/xs-gen -i "$VB" -m "$mac" -r 100000 -n 400000 -s 64 \
		-f 64 >"$d/gen.json" 2>"$d/gen.err" &
	gen=$!
	sleep 1.5
	sensor_stop TERM 60
	wait "$gen" || fail "xs-gen failed: $(tail -n 2 "$d/gen.err")"
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary "$d/sensor.out"
	check_clean "$VA" "$d/settings.before"
	python3 - "$d/sensor.out" >"$d/stop.check" 2>&1 <<'EOF' || fail "$(cat "$d/stop.check")"
import json, sys
s = json.loads(open(sys.argv[1]).read())
took, read = s["captured"] + s["parked"], s["received"] + s["unparked"]
bad = []
if took != read:
    bad.append("captured %d + parked %d != received %d + unparked %d (%d not read)"
               % (s["captured"], s["parked"], s["received"], s["unparked"], took - read))
if not s["parked"]:
    bad.append("nothing parked: the stop did not come while frames flowed")
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
EOF
	report "$label: every frame the program took was read: captured $(j "$d/sensor.out" captured)" \
		"+ parked $(j "$d/sensor.out" parked) = received + unparked, ledger adds up"
}

# A restart (SIGTERM, then start) with --handover while traffic flows: the
# stopped run leaves its program attached and parking, the next one takes
# it over and sends the parked frames first; `detach` removes what the
# last one left. Every frame arrives once, in order.
test_handover() {
	local label="restart with --handover" d=$W/handover topic count=$((RATE * 6)) RUN=1 n1 n2 u held
	begin handover --handover || return
	traffic_bg "$d" "$count"
	sleep 1.5
	! "$XS" stats -i "$VA" | grep -q "no sensor runs" || fail "stats says no sensor runs while one does"
	[ "$(stats_json "$VA" | json_get sensor)" = running ] || fail "stats --json: sensor is not running"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary "$d/sensor1.out"
	has_xdp_prog "$VA" && [ -e "$PIN_ROOT/$VA/parked" ] ||
		fail "the program and its ring are not left for the next run"
	grep -q "left attached, parking" "$d/sensor1.err" || fail "the stop does not say it hands over"
	"$XS" stats -i "$VA" >"$d/stats.left" 2>&1
	grep -q "no sensor runs here" "$d/stats.left" && grep -q "parks the frames" "$d/stats.left" ||
		fail "stats does not say the run is gone and its program parks: $(head -n 3 "$d/stats.left" | tr '\n' ' ')"
	held=$(stats_json "$VA" | json_get sensor)
	[ "$held" = left_parking ] || fail "stats --json: sensor is '$held', not left_parking"
	sleep 1
	RUN=2
	start "$d" "$topic" --handover || { report "$label: the sensor restarts"; sensor_stop KILL; return; }
	traffic_wait "$d"
	n1=$(($(j "$d/sensor1.out" received) + $(j "$d/sensor1.out" unparked)))
	wait_stats "$VA" 60 "s['in_flight'] == 0 and s['read'] + s['unparked'] >= $NCAP - $n1" >/dev/null ||
		fail "not all delivered"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM"
	check_summary "$d/sensor2.out"
	"$XS" detach -i "$VA" >"$d/detach.out" 2>&1 || fail "detach: $(tail -n 2 "$d/detach.out")"
	check_clean "$VA" "$d/settings.before"
	u=$(j "$d/sensor2.out" unparked)
	n2=$(($(j "$d/sensor2.out" received) + u))
	# the host's own few frames (IPv6 neighbour discovery) may come too
	[ "$u" -gt 0 ] 2>/dev/null && [ "$((n1 + n2))" -ge "$NCAP" ] &&
		[ "$((n1 + n2))" -le $((NCAP + 20)) ] ||
		fail "run 1 read $n1, run 2 $n2 (unparked $u); $NCAP frames to capture were sent"
	[ "$(j "$d/sensor2.out" lost_in_restart)" = 0 ] ||
		fail "lost_in_restart $(j "$d/sensor2.out" lost_in_restart)"
	# the broker stayed up: no stall, nothing taken back from the producer
	[ "$(j "$d/sensor2.out" reclaimed)" = 0 ] ||
		fail "run 2 took $(j "$d/sensor2.out" reclaimed) records back from its producer"
	report "$label: run 1 read $n1, run 2 took $u parked between the runs and read" \
		"$((n2 - u)) more; $NCAP sent, lost_in_restart 0; detach cleans up"
	records "$d" "$topic" "$(($(j "$d/sensor1.out" maybe_dup) + $(j "$d/sensor2.out" maybe_dup)))" "$label"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

prepare
test_broker_outage stop
test_broker_outage kill
test_sensor_kill
test_kill_in_traffic
test_parked_in_restart
test_parking_full
test_sigterm_replay
test_sigterm_in_traffic
test_handover
test_spool_full
test_unwritable
test_corrupt_segment
# last: they restart brokers, which leaves them slow for a while. The
# second broker is for the writer's connection per leader (librdkafka's
# variant failed once on a fresh machine, cause not yet found: issue #11's note)
[ "$PRODUCER" != batch ] || test_second_broker
test_broker_down_at_start
tap_end
