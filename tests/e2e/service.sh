# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
# Sourced by tests/e2e/run.sh (after lib.sh; uses its broker, veth and
# traffic()): the sensor as a service.
#
#   --metrics: promtool accepts the page; a Prometheus server started here
#     scrapes it and answers a PromQL query with exactly the frames sent; the
#     page, `stats --json` and the exit summary hold the same numbers; a
#     flood of requests leaves the counters adding up; bad requests get a
#     4xx; a port in use is one line at start, with nothing touched
#   a secured Kafka (broker.sh KAFKA_TLS=1: TLS + SCRAM): delivers with the
#     right properties; a wrong password, an untrusted certificate and a
#     missing ACL are each one line, every record counted

METRICS=tests/e2e/metrics.py
PROM_PID=
PROM_URL=

service_cleanup() {
	[ -z "$PROM_PID" ] || { kill "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; }
	PROM_PID=
}

# prom_start DIR TARGET: a Prometheus server on a free port of 127.0.0.1,
# its data in DIR, scraping TARGET every second (PROM_PID, PROM_URL).
prom_start() {
	local dir=$1 target=$2 port i
	port=$(free_port)
	cat >"$dir/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: xdpsensor
    static_configs: [{targets: ["$target"]}]
YML
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
		--web.listen-address="127.0.0.1:$port" >"$dir/prometheus.log" 2>&1 &
	PROM_PID=$!
	PROM_URL=http://127.0.0.1:$port
	for ((i = 0; i < 600; i++)); do
		python3 "$METRICS" get "$PROM_URL/-/ready" >/dev/null 2>&1 && return 0
		alive "$PROM_PID" || break
		sleep 0.1
	done
	return 1
}

# settled IFACE FILE: waits until `stats --json` stops changing (the workers'
# rows are published once a second), leaves the last line in FILE.
settled() {
	local a b i
	a=$(stats_json "$1")
	for ((i = 0; i < 30; i++)); do
		sleep 1.2
		b=$(stats_json "$1")
		[ "$a" = "$b" ] && break
		a=$b
	done
	echo "$b" >"$2"
}

test_metrics() {
	local label="--metrics" d=$W/metrics topic=xs-e2e-metrics-$$ port url n1 c1 page
	mkdir -p "$d"
	if [ -z "$BROKER" ]; then
		tap_not_ok "$label: no Kafka broker (it should have started above)"
		return
	fi
	if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
		tap_skip "$label" "promtool/prometheus not installed (Debian package prometheus; make deps)"
		return
	fi
	port=$(free_port)
	url=http://127.0.0.1:$port/metrics
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/sensor" -i "$VA" -b "$BROKER" -t "$topic" --metrics "$port" \
		--flows-topic "$topic-flows" --spool-dir "$d/spool" -X statistics.interval.ms=1000
	sensor_started "$label" "$d/sensor.err" "$VA" || return
	grep -q "serving /metrics" "$d/sensor.err" && fail "warned about 127.0.0.1 as if it were open"
	prom_start "$d" "127.0.0.1:$port" ||
		fail "Prometheus did not start: $(tail -n 3 "$d/prometheus.log" | tr '\n' ' ')"
	traffic "$d" --generate
	wait_stats "$VA" 60 "s['delivered'] >= $NCAP" >/dev/null || fail "not all delivered"
	sleep 1.5 # librdkafka's statistics: one interval
	settled "$VA" "$d/stats.json"
	python3 "$METRICS" get "$url" >"$d/page.txt" || fail "GET $url failed"
	promtool check metrics <"$d/page.txt" >"$d/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(head -n 5 "$d/promtool.out" | tr '\n' ' ')"
	report "$label: promtool check metrics accepts the page ($(grep -c '^# TYPE' "$d/page.txt") families)"

	for want in 'xdpsensor_build_info{version=' \
		"xdpsensor_kafka_queue_messages{iface=\"$VA\",queue=\"0\"} " \
		'xdpsensor_kafka_queue_messages{producer="flows"} ' \
		"xdpsensor_kafka_broker_up{iface=\"$VA\",queue=\"0\",broker=\"$BROKER/1\",nodeid=\"1\",state=\"UP\"} 1" \
		"xdpsensor_kafka_broker_up{producer=\"flows\",broker=\"$BROKER/1\",nodeid=\"1\",state=\"UP\"} 1" \
		"xdpsensor_spooled{iface=\"$VA\",queue=\"0\"} 0" \
		"xdpsensor_dropped_total{iface=\"$VA\",queue=\"0\",reason=\"spool_full\"} 0" \
		'xdpsensor_kafka_broker_rtt_avg_seconds{' 'xdpsensor_kafka_broker_request_errors_total{' \
		"xdpsensor_worker_running{iface=\"$VA\",queue=\"0\"} 1" \
		"xdpsensor_flow_table_capacity{iface=\"$VA\"} 131072" \
		"xdpsensor_dropped_total{iface=\"$VA\",queue=\"0\",reason=\"queue_full\"} 0" \
		"xdpsensor_flows_removed_total{iface=\"$VA\",reason=\"expired\"} " \
		"xdpsensor_flows_removed_total{iface=\"$VA\",reason=\"evicted\"} " \
		'xdpsensor_flow_records_total{result="delivered"} '; do
		grep -qF -- "$want" "$d/page.txt" || fail "no '$want'"
	done
	page=$(grep "^xdpsensor_flow_table_entries{iface=\"$VA\"}" "$d/page.txt" | cut -d' ' -f2)
	[ "$page" = "$(json_get flow_new <"$d/stats.json")" ] ||
		fail "flow_table_entries $page != flows created $(json_get flow_new <"$d/stats.json")"
	report "$label: build info, librdkafka's statistics of each producer (queue, broker" \
		"state, rtt, errors), worker state, the spool, flow table occupancy and capacity," \
		"flows removed, flow records"
	tap_checker "$label" python3 "$METRICS" same --page "$d/page.txt" --stats "$d/stats.json" \
		--iface "$VA"
	tap_checker "$label" python3 "$METRICS" query "$PROM_URL" \
		"xdpsensor_rx_packets_total{iface=\"$VA\"}" "$NSENT" 30

	# a flood of scrapes while a second round of traffic is captured
	n1=$NSENT c1=$NCAP
	mkdir -p "$d/2"
	python3 "$METRICS" flood "$url" 3000 >"$d/flood.out" 2>&1 &
	local flood=$!
	traffic "$d/2" --generate
	wait "$flood" || fail "the flood got bad answers: $(cat "$d/flood.out")"
	diag "$(cat "$d/flood.out")"
	wait_stats "$VA" 60 "s['delivered'] >= $((c1 + NCAP))" >/dev/null ||
		fail "not all delivered after the flood"
	settled "$VA" "$d/stats2.json"
	python3 - "$d/stats2.json" "$((n1 + NSENT))" "$((c1 + NCAP))" >"$d/adds.check" <<'PY' || fail "$(cat "$d/adds.check")"
import json, sys
s = json.loads(open(sys.argv[1]).read())
sent, cap = int(sys.argv[2]), int(sys.argv[3])
bad = []
outcomes = s["captured"] + s["capture_no_socket"] + s["parked"] + s["counted"] + s["dropped"]
if s["rx_packets"] != sent or outcomes != sent:
    bad.append("rx_packets %d, outcomes %d, sent %d" % (s["rx_packets"], outcomes, sent))
for k in ("captured", "read", "produced", "delivered"):
    if s[k] != cap:
        bad.append("%s %d != %d captured" % (k, s[k], cap))
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
PY
	report "$label: 3000 requests during capture: every frame read and delivered, counters add up"
	tap_checker "$label" python3 "$METRICS" bad 127.0.0.1 "$port"
	python3 "$METRICS" get "$url" >"$d/page2.txt" || fail "GET $url failed"
	service_cleanup

	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	check_summary_line "$d/sensor.out"
	report "$label: exits 0 on SIGINT with one summary line"
	tap_checker "$label" python3 "$METRICS" same --page "$d/page2.txt" --stats "$d/stats2.json" \
		--iface "$VA" --summary "$d/sensor.out"
	python3 "$METRICS" get "$url" >/dev/null 2>&1 && fail "still answering after the exit"
	check_clean "$VA" "$d/settings.before"
	report "$label: nothing left behind, the port closed"
}

test_metrics_port_busy() {
	local port holder d=$W/metrics-busy
	mkdir -p "$d"
	port=$(free_port)
	python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(120)' "$port" &
	holder=$!
	sleep 0.5
	run_expect_fail "--metrics on a port in use: exit 1, one line naming it" 1 \
		"127.0.0.1:$port: cannot listen there: Address already in use" \
		-i "$VA" -b 127.0.0.1:9 --metrics "$port"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
}

# secured_run NAME DIR ARGS...: the sensor against the TLS listener with ARGS,
# generated traffic, SIGINT; sets SEC_RC. Caller checks.
secured_run() {
	local name=$1 d=$2
	shift 2
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"
	sensor_start "$d/sensor" -i "$VA" -b "$(<"$BROKER_DIR/tls_bootstrap")" \
		-t "xs-e2e-tls-$name-$$" -c "$W/tls.properties" --spool-dir "$d/spool" "$@"
	if ! sensor_wait_ready "$d/sensor.err"; then
		fail "not capturing: $(tail -n 3 "$d/sensor.err" | tr '\n' ' ')"
		sensor_stop KILL
		scrub_iface "$VA"
		return 1
	fi
	traffic "$d" --generate
	wait_stats "$VA" 30 "s['read'] >= $NCAP" >/dev/null || fail "read fewer than $NCAP"
	sleep 3 # the broker's answers, or their absence
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGINT"
	check_summary_line "$d/sensor.out"
}

# counted DIR EXPR: every one of the $NCAP records in EXPR (a python
# expression over the summary s), and the summary's ledger adds up.
counted() {
	python3 - "$1/sensor.out" "$NCAP" "$2" >"$1/summary.check" 2>&1 <<'PY' || fail "summary: $(cat "$1/summary.check")"
import json, sys
sys.path.insert(0, "tests/e2e")
from check import ledger_problems
s = json.loads(open(sys.argv[1]).read())
n = int(sys.argv[2])
bad = ledger_problems(s)
if s["received"] != n:
    bad.append("received %d, %d sent to capture" % (s["received"], n))
v = eval(sys.argv[3])
if v != n:
    bad.append("%s = %d, not %d" % (sys.argv[3], v, n))
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
PY
}

# said_once DIR TEXT: TEXT said exactly once, and no other Kafka warning
# (but the accounting of the flush at exit).
said_once() {
	local n others
	n=$(grep -cF -- "$2" "$1/sensor.err")
	[ "$n" -eq 1 ] || fail "'$2' said $n times, not once"
	others=$(grep '^xdpsensor: Kafka' "$1/sensor.err" | grep -vF -- "$2" |
		grep -v 'flush timed out\|records were not delivered\|connected to')
	[ -z "$others" ] || fail "more Kafka lines: $(echo "$others" | head -n 3 | tr '\n' '|')"
	diag "$(grep -F -- "$2" "$1/sensor.err" | head -n 1 | cut -c1-200)"
}

# Not delivered, every one counted: failed, refused at produce time, or kept
# in the spool for a run with the right credentials.
UNDELIVERED='s["failed"] + s["sink_errors"] + s["spooled"]'

test_secured_kafka() {
	local label="secured Kafka" d=$W/tls
	if [ -z "$BROKER" ] || [ ! -s "$BROKER_DIR/tls_bootstrap" ]; then
		tap_not_ok "$label: no broker with a TLS listener (it should have started above)"
		return
	fi
	mkdir -p "$d"
	# what an operator writes in /etc/xdpsensor/IFACE.kafka.properties
	cat >"$W/tls.properties" <<PROPS
# TLS + SCRAM (broker.sh KAFKA_TLS=1)
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
ssl.ca.location=$BROKER_DIR/tls/ca.crt
sasl.username=sensor-tls
sasl.password=tls-secret
PROPS
	# a CA the broker's certificate does not come from
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=not-the-brokers-ca \
		-keyout "$d/other-ca.key" -out "$d/other-ca.crt" >/dev/null 2>&1 ||
		fail "openssl could not make a second CA"

	if secured_run good "$d/good"; then
		counted "$d/good" 's["delivered"]'
		grep -q '^xdpsensor: Kafka: connected to' "$d/good/sensor.err" || fail "did not say connected"
		timeout 120 "$CONSUME" -b "$BROKER" -t "xs-e2e-tls-good-$$" -e -I 20000 \
			>"$d/good/records.jsonl" 2>"$d/good/consume.err" || fail "consuming failed"
		[ "$(grep -c . "$d/good/records.jsonl")" = "$NCAP" ] ||
			fail "$(grep -c . "$d/good/records.jsonl") records in the topic, not $NCAP"
		check_clean "$VA" "$d/good/settings.before"
	fi
	report "$label: TLS + SCRAM-SHA-512 through -c: all $NCAP records delivered and in the topic"

	if secured_run wrong-password "$d/pw" -X sasl.password=not-the-secret; then
		said_once "$d/pw" "the broker refused the sensor's credentials"
		counted "$d/pw" "$UNDELIVERED"
		check_clean "$VA" "$d/pw/settings.before"
	fi
	report "$label: a wrong password is one line; every record counted (failed or spooled)"

	if secured_run untrusted "$d/ca" -X "ssl.ca.location=$d/other-ca.crt"; then
		said_once "$d/ca" "the broker's TLS certificate is not trusted"
		counted "$d/ca" "$UNDELIVERED"
		check_clean "$VA" "$d/ca/settings.before"
	fi
	report "$label: an untrusted certificate is one line; every record counted (failed or spooled)"

	if secured_run no-acl "$d/acl" -X sasl.username=sensor-noacl -X sasl.password=noacl-secret; then
		said_once "$d/acl" "does not allow the sensor's principal to produce"
		counted "$d/acl" "$UNDELIVERED"
		check_clean "$VA" "$d/acl/settings.before"
	fi
	report "$label: a missing ACL (no WRITE on the topic) is one line; every record counted"
}
