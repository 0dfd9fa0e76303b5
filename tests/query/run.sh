#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `xdpsensor query` and `inspect` against a real Kafka broker, on records the
# real sensor produced from real captures. TAP on stdout.
#
# The sensor runs on a veth pair (tests/e2e/lib.sh) and traffic.py replays
# the captures of PCAPS_DIR and generated conversations (both directions)
# into it, once per topic:
#   q5    --key 5tuple (--headers compact, the default: xs.meta): every
#         query case, inspect
#   qcid  --key community-id --snaplen 128 --headers all (five headers):
#         original lengths, --flow
#   qmet  --key metron --ts-unit us --headers none: times from the key
#   qnoh  --key 5tuple --headers none: times from the record timestamp
# For each query, oracle.py computes from the replayed frames (those the
# sensor captures, by `classify`) which the same filter selects — tshark's
# decode for Metron's fixed fields, tcpdump (libpcap) for expressions,
# Python's re for the byte regex, the records' times (read by the suite's
# own consumer, xs-consume) for time windows — and the pcap written must
# hold exactly those frames, byte-identical, with their capture times.
# -c FILE: a good file changes no result; the broker's SASL listener
# (broker.sh KAFKA_SASL=1: PLAIN, user sensor) answers a query only with the
# credentials in -c, and then only once its ACLs let it read the topic.
# Then bad input: one line on stderr, non-zero exit, no file.
#
# Environment: XDPSENSOR, PCAPS_DIR (as tests/e2e), QUERY_KEEP=1 (keep the
# work dir; always kept after a failure).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

PCAPS_DIR=${PCAPS_DIR:-../shared/pcaps/tcpdump}
REPLAY=(dns_tcp.pcap tcp_rst_data.pcap ntp.pcap kday3.pcap icmpv6.pcap 802.1ad_QinQ.pcap
	ipv6-routing-header.pcap vxlan.pcap various_gre.pcap dhcpv6-ia-na.pcap)
RATE=1000
PARTS=4
NS=xsq-$$
VA=xq$$a
VB=xq$$b
CONSUME=build/e2e/xs-consume
ORACLE=tests/query/oracle.py
W=
BROKER_DIR=
BROKER=
SASL_BROKER=
REPLAY_ARGS=()
# the generated TCP conversation (tests/e2e/traffic.py "tcp4")
FLOW_ARGS=(--src-addr 192.0.2.10 --dst-addr 198.51.100.20 --src-port 40000 --dst-port 80
	--proto tcp)
FLOW_JSON='{"src": "192.0.2.10", "dst": "198.51.100.20", "sport": 40000, "dport": 80, "proto": 6'
# the UDP exchange inside the generated VXLAN tunnel ("vxlan4"): the sensor
# keys its frames by this flow (--key-layer inner, its default)
INNER_ARGS=(--src-addr 10.201.0.1 --dst-addr 10.201.0.2 --src-port 5353 --dst-port 53
	--proto udp)
INNER_JSON='{"src": "10.201.0.1", "dst": "10.201.0.2", "sport": 5353, "dport": 53, "proto": 17'

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	sensor_kill
	scrub_iface "$VA"
	teardown_veth "$NS" "$VA"
	[ -n "$BROKER_DIR" ] && tests/kafka/broker.sh stop "$BROKER_DIR" >/dev/null 2>&1
	work_dir_end $rc "${QUERY_KEEP:-0}"
	exit $rc
}

skip_all() {
	echo "1..1"
	echo "ok 1 - query and inspect # SKIP $*"
	exit 0
}

bail() {
	tap_not_ok "$*"
	tap_end
	exit 1
}

prepare() {
	local need f
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (veth, netns, XDP)"
	for need in ip ethtool python3 tshark tcpdump; do
		command -v "$need" >/dev/null || skip_all "$need not installed (make deps)"
	done
	[ -x "$XS" ] || bail "$XS missing: run make"
	[ -x "$CONSUME" ] || bail "$CONSUME missing: run make test-build"
	W=$(mktemp -d /tmp/xs-query.XXXXXX) || bail "mktemp failed"
	tests/kafka/broker.sh fetch >/dev/null 2>"$W/fetch.err" ||
		skip_all "cannot fetch Kafka: $(tail -n 2 "$W/fetch.err" | tr '\n' ' ')"
	BROKER_DIR=$W/kafka
	BROKER=$(KAFKA_SASL=1 tests/kafka/broker.sh start "$BROKER_DIR" 2>"$W/broker.err") ||
		bail "the broker did not start: $(tail -n 3 "$W/broker.err" | tr '\n' ' ')"
	SASL_BROKER=$(<"$BROKER_DIR/sasl_bootstrap")
	setup_veth "$NS" "$VA" "$VB" || bail "cannot create the veth pair $VA/$VB in netns $NS"
	diag "broker $BROKER (SASL listener $SASL_BROKER); veth $VA <-> $VB (netns $NS); work dir $W"
	for f in "${REPLAY[@]}"; do
		if [ -f "$PCAPS_DIR/$f" ]; then
			REPLAY_ARGS+=(--pcap "$PCAPS_DIR/$f")
		else
			diag "missing capture $PCAPS_DIR/$f: not replayed"
		fi
	done
}

# feed TOPIC TRAFFIC_ARGS -- SENSOR_ARGS: the sensor on the veth produces the
# replay to TOPIC (PARTS partitions); in $W/TOPIC: manifest.json, sent.pcap,
# captured.pcap + views.json (oracle.py prepare), records.jsonl (xs-consume).
feed() {
	local topic=$1 d=$W/$1 ncap targs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do targs+=("$1"); shift; done
	shift
	mkdir -p "$d"
	tests/kafka/broker.sh create-topic "$BROKER_DIR" "$topic" "$PARTS" 2>"$d/topic.err" ||
		{ fail "cannot create $topic: $(tail -n 2 "$d/topic.err")"; return 1; }
	sensor_start "$d/sensor" -i "$VA" -b "$BROKER" -t "$topic" --spool-dir "$W/spool" "$@"
	if ! sensor_wait_ready "$d/sensor.err"; then
		fail "the sensor did not start: $(tail -n 3 "$d/sensor.err" | tr '\n' ' ')"
		sensor_stop KILL
		return 1
	fi
	send_traffic "$NS" "$VB" --rate "$RATE" "${targs[@]}" --manifest "$d/manifest.json" \
		--sent-pcap "$d/sent.pcap" 2>"$d/traffic.err" ||
		fail "traffic.py failed: $(tail -n 3 "$d/traffic.err")"
	"$XS" classify --json "$d/sent.pcap" >"$d/classify.jsonl" 2>"$d/classify.err" ||
		fail "classify failed: $(tail -n 2 "$d/classify.err")"
	python3 "$ORACLE" prepare --sent "$d/sent.pcap" --classify "$d/classify.jsonl" \
		--out "$d/captured.pcap" --views "$d/views.json" >"$d/prepare.out" 2>&1 ||
		fail "oracle.py prepare: $(tail -n 2 "$d/prepare.out")"
	ncap=$(grep -c '"verdict":"capture"' "$d/classify.jsonl")
	wait_stats "$VA" 60 "s['delivered'] >= $ncap" >"$d/stats.json" ||
		fail "delivered $(json_get delivered <"$d/stats.json") of $ncap in 60 s"
	sensor_stop INT
	[ "$SENSOR_RC" = 0 ] || fail "sensor exit $SENSOR_RC"
	timeout 120 "$CONSUME" -b "$BROKER" -t "$topic" -e -I 20000 >"$d/records.jsonl" \
		2>"$d/consume.err" || fail "xs-consume: $(tail -n 2 "$d/consume.err")"
	[ "$(grep -c . "$d/records.jsonl")" -eq "$ncap" ] ||
		fail "$(grep -c . "$d/records.jsonl") records in $topic, $ncap captured"
	report "$topic: the sensor produced the $ncap captured frames of the replay ($*)"
}

# query_case LABEL TOPIC ORACLE_ARGS -- QUERY_ARGS: runs the query to a
# file and compares it with the oracle.
QN=0
query_case() {
	local label=$1 topic=$2 d=$W/$2 out oargs=() rc
	shift 2
	while [ "$1" != -- ]; do oargs+=("$1"); shift; done
	shift
	QN=$((QN + 1))
	out=$d/q$QN.pcap
	timeout 120 "$XS" query -b "$BROKER" -t "$topic" "$@" -w "$out" >"$out.stdout" \
		2>"$out.stderr"
	rc=$?
	if [ $rc -ne 0 ]; then
		tap_not_ok "$label: query exit $rc: $(tail -n 2 "$out.stderr" | tr '\n' ' ')"
		return
	fi
	diag "$(tail -n 1 "$out.stderr")"
	tap_checker "$label" python3 "$ORACLE" compare --captured \
		"$d/captured.pcap" --views "$d/views.json" --records "$d/records.jsonl" \
		--manifest "$d/manifest.json" --got "$out" "${oargs[@]}"
}

# pcap_count FILE: packets in a pcap file.
pcap_count() {
	python3 -c 'import sys; sys.path.insert(0, "tests/query"); import oracle
print(len(oracle.read_pcap(sys.argv[1])[0]))' "$1"
}

# bpf_selected TOPIC EXPR: the frames of the replay tcpdump selects.
bpf_selected() {
	local d=$W/$1 f=$W/$1/bpf-$RANDOM.pcap
	tcpdump -r "$d/captured.pcap" -w "$f" "$2" 2>/dev/null || return 1
	echo "$f"
}

# ------------------------------------------------------------------ tests

test_queries_5tuple() {
	local t=q5 d=$W/q5 sel first mid last start_ms part rc n flow_rev udp mid_text
	read -r first mid last < <(python3 "$ORACLE" times --records "$d/records.jsonl")
	start_ms=$((first / 1000000))

	query_case "flow, one direction" $t --fixed "$FLOW_JSON}" -- \
		--start "$start_ms" "${FLOW_ARGS[@]}"
	query_case "flow --include-reverse" $t --fixed "$FLOW_JSON, \"reverse\": true}" -- \
		--start "$start_ms" "${FLOW_ARGS[@]}" --include-reverse
	flow_rev=$d/q$QN.pcap
	query_case "IPv6 prefix --src-addr 2001:db8::/32" $t --fixed '{"src": "2001:db8::/32"}' -- \
		--start "$start_ms" --src-addr 2001:db8::/32
	query_case "IPv4 prefix --dst-addr 198.51.100.0/24 --include-reverse" $t \
		--fixed '{"dst": "198.51.100.0/24", "reverse": true}' -- \
		--start "$start_ms" --dst-addr 198.51.100.0/24 --include-reverse
	query_case "port --dst-port 53" $t --fixed '{"dport": 53}' -- \
		--start "$start_ms" --dst-port 53
	query_case "protocol --proto udp" $t --fixed '{"proto": 17}' -- \
		--start "$start_ms" --proto udp
	udp=$d/q$QN.pcap
	sel=$(bpf_selected $t 'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 or icmp6') ||
		tap_not_ok "tcpdump rejected the oracle's expression"
	[ -n "$sel" ] && query_case "--filter (tcpdump expression)" $t --bpf "$sel" -- \
		--start "$start_ms" --filter 'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 or icmp6'
	query_case "--packet-filter (PCRE2 over the bytes, \\x escapes)" $t \
		--regex 're\x73ponse [0-9]+ ' -- --start "$start_ms" \
		--packet-filter 're\x73ponse [0-9]+ '
	# the median capture time, as RFC 3339 with ns (once as Z, once as +00:00)
	mid_text=$(date -u -d "@$((mid / 1000000000))" +%FT%T).$(printf %09d $((mid % 1000000000)))
	query_case "first half of the replay (--end RFC 3339 ns)" $t --all --window 0 "$mid" -- \
		--start "$start_ms" --end "${mid_text}Z"
	query_case "second half of the replay (--start RFC 3339 ns)" $t --all --window "$mid" \
		$((last + 1)) -- --start "${mid_text}+00:00"
	query_case "--limit 7 (the first by capture time)" $t --all --limit 7 -- \
		--start "$start_ms" --limit 7
	query_case "relative --start (\"1h ago\"), no filter" $t --all -- --start "1h ago"

	# --flow reads one partition: the one murmur2 gives the flow's key
	part=$(python3 "$ORACLE" partition --scheme 5tuple --flow "$FLOW_JSON}" --parts $PARTS)
	query_case "--flow --include-reverse" $t --fixed "$FLOW_JSON, \"reverse\": true}" -- \
		--start "$start_ms" "${FLOW_ARGS[@]}" --include-reverse --flow
	grep -q "read 1 of $PARTS partitions (--flow: partition $part)" "$d/q$QN.pcap.stderr" ||
		fail "stderr does not say 'read 1 of $PARTS partitions (--flow: partition $part)':" \
			"$(tail -n 1 "$d/q$QN.pcap.stderr")"
	report "--flow: reads only partition $part (murmur2 of the 5tuple key, as the Java client)"

	# a flow inside a tunnel: its records are on its own key's partition
	part=$(python3 "$ORACLE" partition --scheme 5tuple --flow "$INNER_JSON}" --parts $PARTS)
	query_case "--flow of the flow inside a VXLAN tunnel" $t \
		--fixed "$INNER_JSON, \"reverse\": true}" -- \
		--start "$start_ms" "${INNER_ARGS[@]}" --include-reverse --flow
	grep -q "read 1 of $PARTS partitions (--flow: partition $part)" "$d/q$QN.pcap.stderr" ||
		fail "stderr does not say 'read 1 of $PARTS partitions (--flow: partition $part)':" \
			"$(tail -n 1 "$d/q$QN.pcap.stderr")"
	report "--flow of a tunnelled flow: reads only partition $part (its inner key's)"
	# the fixed fields on the tunnel's own header, as a sensor run with
	# --key-layer outer keys it
	query_case "--key-layer outer --dst-port 4789 (the VXLAN tunnels)" $t --key-layer outer \
		--fixed '{"dport": 4789, "proto": 17}' -- \
		--start "$start_ms" --key-layer outer --dst-port 4789 --proto udp

	# -w - into tshark, and --count: as many as the files above hold
	n=$("$XS" query -b "$BROKER" -t $t --start "$start_ms" "${FLOW_ARGS[@]}" \
		--include-reverse -w - 2>"$d/stdout.err" | tshark -r - -T fields -e frame.number \
		2>/dev/null | wc -l)
	[ "$n" -eq "$(pcap_count "$flow_rev")" ] ||
		fail "tshark -r - read $n packets, the file has $(pcap_count "$flow_rev")"
	report "-w - | tshark -r -: $n packets"
	n=$("$XS" query -b "$BROKER" -t $t --start "$start_ms" --proto udp --count -q 2>"$d/count.err")
	rc=$?
	[ $rc -eq 0 ] || fail "exit $rc"
	[ "$n" = "$(pcap_count "$udp")" ] ||
		fail "--count printed '$n', the --proto udp query wrote $(pcap_count "$udp")"
	report "--count: $n (as many as the --proto udp query wrote)"
}

test_inspect() {
	local t=q5 d=$W/q5 n
	"$XS" inspect -b "$BROKER" -t $t -n 5 >"$d/inspect.txt" 2>"$d/inspect.err" ||
		fail "inspect exit $?: $(head -n 2 "$d/inspect.err")"
	n=$(grep -c . "$d/inspect.txt")
	[ "$n" -eq 5 ] || fail "$n lines, not 5"
	grep -qvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z [0-9]+/[0-9]+ 5tuple\[.*\] .* len [0-9]+/[0-9]+ xs\.meta=ts_ns:[0-9]+,iface:'"$VA"',queue:[0-9]+,dir:[01],orig_len:[0-9]+$' \
		"$d/inspect.txt" && fail "a line not of the documented form: $(head -n 1 "$d/inspect.txt")"
	diag "$(head -n 1 "$d/inspect.txt")"
	report "inspect -n 5: five lines (time, partition/offset, key, frame 5-tuple, headers)"

	"$XS" inspect -b "$BROKER" -t $t -n 0 --json >"$d/inspect.jsonl" 2>"$d/inspect.err" ||
		fail "inspect --json exit $?: $(head -n 2 "$d/inspect.err")"
	python3 - "$d/inspect.jsonl" "$d/records.jsonl" <<'EOF' || fail "$(cat "$d/inspect.check")"
import json, sys
sys.path.insert(0, "tests/query")
from oracle import record_header
got = [json.loads(l) for l in open(sys.argv[1])]
recs = {(r["partition"], r["offset"]): r for r in map(json.loads, open(sys.argv[2]))}
bad = []
if len(got) != len(recs):
    bad.append("%d objects, %d records" % (len(got), len(recs)))
for g in got:
    r = recs.get((g["partition"], g["offset"]))
    if not r:
        bad.append("no record %s/%s" % (g["partition"], g["offset"]))
        continue
    if g["ts_ns"] != record_header(r, "xs.ts_ns") or g["ts_source"] != "header":
        bad.append("ts_ns %s" % g)
    if g["caplen"] != len(r["value"]) // 2 or g["key_scheme"] != "5tuple":
        bad.append("caplen/key %s" % g)
    meta = g["headers"]["xs.meta"]
    if meta["orig_len"] != record_header(r, "xs.orig_len") or meta["ts_ns"] != g["ts_ns"] \
            or meta["dir"] != record_header(r, "xs.dir"):
        bad.append("headers %s" % g)
ts = [g["ts_ns"] for g in got]
if ts != sorted(ts):
    bad.append("not in capture-time order")
open(sys.argv[1].replace(".jsonl", ".check"), "w").write("; ".join(bad[:3]))
sys.exit(1 if bad else 0)
EOF
	report "inspect -n 0 --json: one object per record, times, lengths, headers as consumed"
}

test_other_schemes() {
	local start part d
	# community-id, --snaplen 128, --headers all: lengths from xs.orig_len
	d=$W/qcid
	start=$(($(python3 "$ORACLE" times --records "$d/records.jsonl" | cut -d' ' -f1) / 1000000))
	query_case "community-id, --snaplen 128: --proto udp, original lengths" qcid \
		--fixed '{"proto": 17}' --snaplen 128 -- --start "$start" --proto udp
	part=$(python3 "$ORACLE" partition --scheme community-id --flow "$FLOW_JSON}" --parts $PARTS)
	query_case "community-id: --flow --key community-id --include-reverse" qcid \
		--fixed "$FLOW_JSON, \"reverse\": true}" --snaplen 128 -- --start "$start" \
		"${FLOW_ARGS[@]}" --include-reverse --flow --key community-id
	grep -q "(--flow: partition $part)" "$d/q$QN.pcap.stderr" ||
		fail "not partition $part: $(tail -n 1 "$d/q$QN.pcap.stderr")"
	report "community-id --flow: reads only partition $part (murmur2 of the Community ID)"

	# metron us, no headers: times from the key
	d=$W/qmet
	start=$(($(python3 "$ORACLE" times --ts-unit us --records "$d/records.jsonl" | cut -d' ' -f1) / 1000000))
	query_case "metron --ts-unit us, no headers: times from the key" qmet \
		--fixed '{"proto": 6}' --ts-unit us -- --start "$start" --proto tcp
	# no headers, 5tuple key: times from the record timestamp (ms)
	d=$W/qnoh
	start=$(($(python3 "$ORACLE" times --records "$d/records.jsonl" | cut -d' ' -f1) / 1000000))
	query_case "5tuple, no headers: times from the record timestamp, --flow" qnoh \
		--fixed "$FLOW_JSON, \"reverse\": true}" -- --start "$start" "${FLOW_ARGS[@]}" \
		--include-reverse --flow

	# inspect decodes each key scheme and says where the time came from
	inspect_scheme qcid community-id header '^1:[A-Za-z0-9+/]{27}=$' '^l2:[A-Za-z0-9+/]{27}=$'
	inspect_scheme qmet metron metron-key '^[0-9]{16}$' '^[0-9]{16}$'
	inspect_scheme qnoh 5tuple record '^(tcp|udp|icmp|icmpv6|sctp|[0-9]+) .* <> .*:[0-9]+$' \
		'^(ether|llc) ([0-9a-f]{2}:){5}[0-9a-f]{2}/0x[0-9a-f]{4} <> ([0-9a-f]{2}:){5}[0-9a-f]{2}/0x[0-9a-f]{4}$'
}

# inspect_scheme TOPIC SCHEME TS_SOURCE KEY_REGEX L2_KEY_REGEX: inspect
# --json on every record of TOPIC: the key decoded as SCHEME, of the first
# form for a frame keyed at IP, of the second for one keyed at L2 (the
# generated ARP, LLDP, LLC... frames: some), the time from TS_SOURCE.
inspect_scheme() {
	local t=$1 d=$W/$1
	"$XS" inspect -b "$BROKER" -t "$t" -n 0 --json >"$d/inspect.jsonl" 2>"$d/inspect.err" ||
		fail "exit $?: $(head -n 2 "$d/inspect.err")"
	python3 - "$d/inspect.jsonl" "$d/records.jsonl" "$2" "$3" "$4" "$5" \
		>"$d/inspect.check" <<'EOF' ||
import json, re, sys
got = [json.loads(l) for l in open(sys.argv[1])]
n = sum(1 for l in open(sys.argv[2]) if l.strip())
l2 = [g for g in got if g.get("family") == 0]
bad = [g for g in got if g["key_scheme"] != sys.argv[3] or g["ts_source"] != sys.argv[4]
       or not re.match(sys.argv[6] if g.get("family") == 0 else sys.argv[5], g["key"])
       or (g.get("family") == 0) != ("l2_reason" in g)]
print("%d objects of %d records (%d keyed at L2); %d not as expected: %s"
      % (len(got), n, len(l2), len(bad), bad[:1]))
sys.exit(1 if bad or not l2 or len(got) != n else 0)
EOF
		fail "$(cat "$d/inspect.check")"
	report "inspect --json $t: every key decoded as $2 (IP and L2), times from the $3"
}

# -c FILE over PLAINTEXT, then through the SASL listener (see the top).
test_config() {
	local t=q5 d=$W/conf start want n rc
	mkdir -p "$d"
	start=$(($(python3 "$ORACLE" times --records "$W/$t/records.jsonl" | cut -d' ' -f1) / 1000000))
	want=$("$XS" query -b "$BROKER" -t $t --start "$start" --proto udp --count -q 2>"$d/plain.err")
	printf '# the consumer'"'"'s own\n\n  client.id = xs-query-test\nfetch.wait.max.ms=50\n' \
		>"$d/good.conf"
	n=$("$XS" query -c "$d/good.conf" -b "$BROKER" -t $t --start "$start" --proto udp --count -q \
		2>"$d/good.err")
	rc=$?
	[ $rc -eq 0 ] || fail "exit $rc: $(head -n 2 "$d/good.err")"
	[ -n "$want" ] && [ "$n" = "$want" ] || fail "counted '$n', '$want' without -c"
	report "query -c FILE (a comment, blanks, client.id, fetch.wait.max.ms): $n, as without it"
	"$XS" inspect -b "$BROKER" -t $t -n 5 >"$d/inspect.txt" 2>"$d/inspect.err"
	"$XS" inspect -c "$d/good.conf" -b "$BROKER" -t $t -n 5 >"$d/inspect-c.txt" \
		2>"$d/inspect-c.err" || fail "exit $?: $(head -n 2 "$d/inspect-c.err")"
	[ -s "$d/inspect.txt" ] && cmp -s "$d/inspect.txt" "$d/inspect-c.txt" ||
		fail "inspect -c printed other lines: $(diff "$d/inspect.txt" "$d/inspect-c.txt" | head -n 3)"
	report "inspect -c FILE: the same five lines as without it"

	printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=sensor\n%s\n' \
		'sasl.password=sensor-secret' >"$d/sasl.conf"
	bad "SASL listener without -c: exit 1, not reached" 1 "cannot reach Kafka" \
		query -b "$SASL_BROKER" -t $t --start "$start" --count --timeout 2
	bad "SASL, -X overrides -c's password: exit 1, says it" 1 "Authentication failed" \
		query -c "$d/sasl.conf" -X sasl.password=not-the-secret -b "$SASL_BROKER" -t $t \
		--start "$start" --count --timeout 2
	bad "SASL through -c, no ACL yet: exit 1, says it" 1 "Topic authorization failed" \
		query -c "$d/sasl.conf" -b "$SASL_BROKER" -t $t --start "$start" --count
	tests/kafka/broker.sh allow-read "$BROKER_DIR" sensor $t 2>"$d/acl.err" ||
		{ tap_not_ok "broker.sh allow-read: $(tail -n 2 "$d/acl.err")"; return; }
	n=$("$XS" query -c "$d/sasl.conf" -b "$SASL_BROKER" -t $t --start "$start" --proto udp \
		--count -q 2>"$d/sasl.err")
	rc=$?
	[ $rc -eq 0 ] || fail "exit $rc: $(head -n 2 "$d/sasl.err")"
	[ -n "$want" ] && [ "$n" = "$want" ] || fail "counted '$n', '$want' over PLAINTEXT"
	report "query -c FILE through SASL (PLAIN), allowed to read: $n, as over PLAINTEXT"
	"$XS" inspect -c "$d/sasl.conf" -b "$SASL_BROKER" -t $t -n 5 >"$d/inspect-sasl.txt" \
		2>"$d/inspect-sasl.err" || fail "exit $?: $(head -n 2 "$d/inspect-sasl.err")"
	cmp -s "$d/inspect.txt" "$d/inspect-sasl.txt" ||
		fail "other lines: $(diff "$d/inspect.txt" "$d/inspect-sasl.txt" | head -n 3)"
	report "inspect -c FILE through SASL: the same five lines"
}

# bad NAME RC WHAT QUERY_ARGS...: exits RC, one line on stderr naming WHAT,
# nothing on stdout, and no file at -w (nor a temporary one beside it).
bad() {
	local name=$1 want=$2 what=$3 d=$W/bad t0 t1 rc
	shift 3
	mkdir -p "$d"
	t0=$(date +%s%N)
	timeout 60 "$XS" "$@" >"$d/out" 2>"$d/err"
	rc=$?
	t1=$(date +%s%N)
	[ $rc -eq "$want" ] || fail "exit $rc, expected $want"
	[ "$(grep -c . "$d/err")" -eq 1 ] || fail "not one line on stderr: $(tr '\n' '|' <"$d/err")"
	grep -qF -- "$what" "$d/err" || fail "the message does not say '$what': $(cat "$d/err")"
	[ -s "$d/out" ] && fail "wrote to stdout"
	[ -z "$(ls -A "$d/files" 2>/dev/null)" ] || fail "left $(ls -A "$d/files")"
	diag "$(head -n 1 "$d/err") ($(((t1 - t0) / 1000000)) ms)"
	BAD_MS=$(((t1 - t0) / 1000000))
	report "bad input: $name"
}

test_bad_input() {
	local out=$W/bad/files/out.pcap
	mkdir -p "$W/bad/files"
	bad "--end before --start: exit 2" 2 "is not after --start" \
		query -b "$BROKER" -t q5 --start "1h ago" --end "2h ago" -w "$out"
	bad "unparsable time: exit 2, names it" 2 "yesterday-ish" \
		query -b "$BROKER" -t q5 --start yesterday-ish -w "$out"
	bad "RFC 3339 without a zone: exit 2" 2 "2024-05-01T12:00:00" \
		query -b "$BROKER" -t q5 --start 2024-05-01T12:00:00 -w "$out"
	bad "unknown topic: exit 1, names it, no file" 1 "'no-such-topic' does not exist" \
		query -b "$BROKER" -t no-such-topic --start "1h ago" -w "$out"
	bad "libpcap rejects the filter: exit 2 with its message" 2 "syntax error" \
		query -b "$BROKER" -t q5 --start "1h ago" --filter "tcp and and" -w "$out"
	bad "bad regex: exit 2 with PCRE2's message" 2 "missing closing parenthesis" \
		query -b "$BROKER" -t q5 --start "1h ago" --packet-filter "(GET" -w "$out"
	bad "unwritable output: exit 1, names it" 1 "$W/bad/no-such-dir/x.pcap" \
		query -b "$BROKER" -t q5 --start "1h ago" -w "$W/bad/no-such-dir/x.pcap"
	bad "--flow with a prefix: exit 2, says what it needs" 2 "--flow needs the whole flow" \
		query -b "$BROKER" -t q5 --start "1h ago" --flow --src-addr 192.0.2.0/24 \
		--dst-addr 198.51.100.20 --proto tcp -w "$out"
	bad "unreachable broker: exit 1 within --timeout 3, no file" 1 "cannot reach Kafka" \
		query -b "127.0.0.1:$(free_port)" -t q5 --start "1h ago" --timeout 3 -w "$out"
	[ "$BAD_MS" -lt 6000 ] || fail "took $BAD_MS ms with --timeout 3"
	report "unreachable broker: gave up within the timeout ($BAD_MS ms for --timeout 3)"
	bad "inspect, unreachable broker: exit 1" 1 "cannot reach Kafka" \
		inspect -b "127.0.0.1:$(free_port)" -t q5 --timeout 2
	printf 'client.id=xs-query-test\n# the next one is not a property\nno.such.property=1\n' \
		>"$W/bad/bad.conf"
	bad "-c FILE with a bad property: exit 2, names FILE:LINE, no file" 2 \
		"$W/bad/bad.conf:3: No such configuration property: \"no.such.property\"" \
		query -c "$W/bad/bad.conf" -b "$BROKER" -t q5 --start "1h ago" -w "$out"
	printf '\tfetch.wait.max.ms  \n' >"$W/bad/noeq.conf"
	bad "-c FILE with a line not NAME=VALUE: exit 2, names FILE:LINE" 2 \
		"$W/bad/noeq.conf:1: 'fetch.wait.max.ms' is not NAME=VALUE" \
		inspect -c "$W/bad/noeq.conf" -b "$BROKER" -t q5
	bad "-c FILE missing: exit 2, names it" 2 "cannot read Kafka config file $W/bad/none.conf" \
		inspect -c "$W/bad/none.conf" -b "$BROKER" -t q5
	bad "-X with a bad property: exit 2, names it, no file" 2 "-X: No such configuration property" \
		query -X no.such.property=1 -b "$BROKER" -t q5 --start "1h ago" -w "$out"
}

# ------------------------------------------------------------------ main

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

prepare
feed q5 "${REPLAY_ARGS[@]}" --generate -- --key 5tuple
feed qcid --generate -- --key community-id --snaplen 128 --headers all
feed qmet --generate -- --key metron --ts-unit us --headers none
feed qnoh --generate -- --key 5tuple --headers none
test_queries_5tuple
test_inspect
test_other_schemes
test_config
test_bad_input
tap_end
