# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
# Flow records on Kafka (`run --flows-topic`) and the Kafka Streams example
# (examples/kafka-streams) against them. Sourced by tests/e2e/run.sh, whose
# broker ($BROKER, $BROKER_DIR), veth ($VA, $NS), work dir ($W) and helpers
# (traffic, sensor_start, check_clean, ...) it uses.
#
#   test_flow_records: real captures, generated conversations and long-lived
#     flows crossing several active timeouts (2 s); the example's per-flow
#     counts equal the sums of the flow records' deltas for every flow
#   test_flow_table_full: a table of 1,024 flows under 10,000 new ones

STREAMS_DIR=examples/kafka-streams
STREAMS_JAR=build/examples/kafka-streams/xdpsensor-streams.jar
STREAMS_PID=

# Builds the example with Maven (Kafka Streams from Maven Central: minutes
# the first time, cached in ~/.m2 after); sets STREAMS_MISSING on failure.
build_streams_example() {
	STREAMS_MISSING=
	if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
		STREAMS_MISSING="mvn or javac missing (make deps installs maven and default-jdk-headless)"
		return 1
	fi
	if ! mvn -B -q -Dstyle.color=never -f "$STREAMS_DIR/pom.xml" package \
		>"$W/streams-build.log" 2>&1; then
		STREAMS_MISSING="mvn package failed: $(tail -n 5 "$W/streams-build.log" | tr '\n' ' ')"
		return 1
	fi
}

streams_stop() {
	[ -n "$STREAMS_PID" ] || return 0
	kill -TERM "$STREAMS_PID" 2>/dev/null
	for _ in $(seq 1 300); do
		kill -0 "$STREAMS_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$STREAMS_PID" 2>/dev/null
	wait "$STREAMS_PID" 2>/dev/null
	STREAMS_PID=
} 2>/dev/null

# create_topics D TOPIC...: on the suite's broker; a problem (and 1) if not.
create_topics() {
	local d=$1 t
	shift
	for t in "$@"; do
		if ! tests/kafka/broker.sh create-topic "$BROKER_DIR" "$t" "$PARTS" 2>>"$d/topic.err"; then
			fail "cannot create topic $t: $(tail -n 2 "$d/topic.err" | tr '\n' ' ')"
			return 1
		fi
	done
}

consume_all() { # TOPIC OUT
	timeout 180 "$CONSUME" -b "$BROKER" -t "$1" -e -I 20000 >"$2" 2>"$2.err" ||
		fail "consuming $1 failed: $(tail -n 2 "$2.err" | tr '\n' ' ')"
}

test_flow_records() {
	local label="flow records" d=$W/flows pk=xs-e2e-fpk-$$ rec=xs-e2e-frec-$$
	local st=xs-e2e-fstats-$$ ncap=0 i ok=
	mkdir -p "$d/replay" "$d/long"
	if [ -z "$BROKER" ]; then
		tap_not_ok "$label: no Kafka broker (it should have started above)"
		return
	fi
	if ! build_streams_example; then
		tap_not_ok "$label: cannot build the Kafka Streams example: $STREAMS_MISSING"
		return
	fi
	create_topics "$d" "$pk" "$rec" "$st" || { report "$label: topics"; return; }
	java -jar "$STREAMS_JAR" --bootstrap "$BROKER" --input "$pk" --output "$st" \
		--app-id "xs-e2e-streams-$$" --state-dir "$d/streams-state" >"$d/streams.log" 2>&1 &
	STREAMS_PID=$!
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/sensor" -i "$VA" -b "$BROKER" -t "$pk" --flows-topic "$rec" \
		--spool-dir "$W/spool" --flow-active-timeout 2 --flow-timeout 5
	if ! sensor_wait_ready "$d/sensor.err"; then
		fail "not capturing: $(tail -n 3 "$d/sensor.err" | tr '\n' ' ')"
		report "$label: the sensor starts"
		sensor_stop KILL
		streams_stop
		scrub_iface "$VA"
		return
	fi
	# the captures and conversations (they go idle: idle records), then 6
	# flows of 50 frames over 12 s (6 active timeouts)
	traffic "$d/replay" "${REPLAY_ARGS[@]}" --generate && ncap=$NCAP
	traffic "$d/long" --long-lived 6:50 --rate 25 && ncap=$((ncap + NCAP))
	wait_stats "$VA" 60 "s['delivered'] >= $ncap" >"$d/stats.json" ||
		fail "delivered $(json_get delivered <"$d/stats.json") of $ncap"
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	check_summary_line "$d/sensor.out"
	check_clean "$VA" "$d/settings.before"
	report "$label: --flow-active-timeout 2 --flow-timeout 5, $ncap frames, exits cleanly"

	consume_all "$rec" "$d/records.jsonl"
	report "$label: read back"
	tap_checker "$label" python3 "$E2E/check_flows.py" records --manifest "$d/replay/manifest.json" \
		--manifest "$d/long/manifest.json" --records "$d/records.jsonl" --active-s 2 \
		--long long- --summary "$d/sensor.out"

	# the example commits every second; give it the time a loaded machine needs
	for i in $(seq 1 60); do
		consume_all "$st" "$d/streams.jsonl"
		if python3 "$E2E/check_flows.py" streams --records "$d/records.jsonl" \
			--stats "$d/streams.jsonl" --quiet; then
			ok=1
			break
		fi
		kill -0 "$STREAMS_PID" 2>/dev/null || break
		sleep 2
	done
	[ -n "$ok" ] || diag "the example's log: $(tail -n 5 "$d/streams.log" | tr '\n' ' ')"
	tap_checker "$label" python3 "$E2E/check_flows.py" streams --records "$d/records.jsonl" \
		--stats "$d/streams.jsonl"
	streams_stop
}

test_flow_table_full() {
	local label="full flow table" d=$W/flows-full pk=xs-e2e-fullpk-$$ rec=xs-e2e-fullrec-$$
	mkdir -p "$d"
	if [ -z "$BROKER" ]; then
		tap_not_ok "$label: no Kafka broker (it should have started above)"
		return
	fi
	create_topics "$d" "$pk" "$rec" || { report "$label: topics"; return; }
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/sensor" -i "$VA" -b "$BROKER" -t "$pk" --flows-topic "$rec" \
		--spool-dir "$W/spool" --flows-max 1024
	sensor_started "$label" "$d/sensor.err" "$VA" || return
	traffic "$d" --many-flows 10000 --rate 1000
	wait_stats "$VA" 60 "s['rx_packets'] >= $NSENT and s['delivered'] >= $NCAP" \
		>"$d/stats.json" || fail "not all delivered: $(cat "$d/stats.json")"
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	check_summary_line "$d/sensor.out"
	check_clean "$VA" "$d/settings.before"
	report "$label: --flows-max 1024 under 10,000 new flows, exits cleanly"
	consume_all "$rec" "$d/records.jsonl"
	tap_checker "$label" python3 "$E2E/check_flows.py" full --manifest "$d/manifest.json" \
		--records "$d/records.jsonl" --stats "$d/stats.json" --summary "$d/sensor.out" \
		--flows-max 1024
}
