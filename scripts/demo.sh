#!/usr/bin/env bash
# The sensor's main job on a self-contained default: a veth pair with one
# end in a network namespace, a local Kafka broker, real captures and
# generated conversations sent through it, the counters, the flow table and
# records read back from Kafka. Removes everything it made on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (sudo make demo)" >&2; exit 1; }
ns=xsdemo$$ if_sensor=xsd$$ if_peer=xsp$$ topic=packets
work=$(mktemp -d) sensor_pid= streams_pid=
streams_jar=build/examples/kafka-streams/xdpsensor-streams.jar
pcaps=${PCAPS_DIR:-../shared/pcaps/tcpdump}

cleanup() {
	set +e # every step, whatever one returns (a process killed by TERM: 143)
	[ -n "$streams_pid" ] && kill -TERM "$streams_pid" 2>/dev/null && wait "$streams_pid" 2>/dev/null
	[ -n "$sensor_pid" ] && kill -INT "$sensor_pid" 2>/dev/null && wait "$sensor_pid" 2>/dev/null
	ip link del "$if_sensor" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	[ -f "$work/kafka/pid" ] && tests/kafka/broker.sh stop "$work/kafka" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting a local Kafka broker (fetched from Maven Central on first use)"
mkdir "$work/kafka"
brokers=$(tests/kafka/broker.sh start "$work/kafka")
tests/kafka/broker.sh create-topic "$work/kafka" "$topic" 4 >/dev/null 2>&1
echo "broker at $brokers, topic $topic with 4 partitions"

step "Creating namespace $ns and veth pair $if_sensor <-> $if_peer"
ip netns add "$ns"
ip link add "$if_sensor" type veth peer name "$if_peer" netns "$ns"
# no IPv6 autoconfiguration noise: the demo shows only the traffic it sends
sysctl -qw "net.ipv6.conf.$if_sensor.disable_ipv6=1"
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$if_peer.disable_ipv6=1"
ip link set "$if_sensor" up
ip -n "$ns" link set "$if_peer" up

step "build/xdpsensor run -i $if_sensor -b $brokers -t $topic --flows-topic flows"
build/xdpsensor run -i "$if_sensor" -b "$brokers" -t "$topic" --flows-topic flows \
	>"$work/summary.json" &
sensor_pid=$!
for _ in $(seq 50); do
	[ -e "/sys/fs/bpf/xdpsensor/$if_sensor/workers" ] && break
	sleep 0.2
done
sleep 1

step "Sending real captures and generated TCP/UDP/ICMP conversations from $ns"
for f in "$pcaps"/accecn_handshake.pcap "$pcaps"/icmpv6.pcap "$pcaps"/ipv6-routing-header.pcap; do
	[ -r "$f" ] || continue
	echo "replaying $(basename "$f")"
	ip netns exec "$ns" python3 tests/e2e/traffic.py send -i "$if_peer" --pcap "$f" --rate 2000
done
echo "generated conversations"
ip netns exec "$ns" python3 tests/e2e/traffic.py send -i "$if_peer" --generate --rate 2000
sleep 2

step "xdpsensor stats -i $if_sensor"
build/xdpsensor stats -i "$if_sensor"

step "bpftool map dump pinned /sys/fs/bpf/xdpsensor/$if_sensor/flows (first entry)"
# sed reads it all: head would end bpftool with SIGPIPE, and pipefail the demo
bpftool map dump pinned "/sys/fs/bpf/xdpsensor/$if_sensor/flows" | sed -n 1,40p

step "xdpsensor flows -i $if_sensor --top 10"
build/xdpsensor flows -i "$if_sensor" --top 10

step "Stopping the sensor (SIGINT): flush, detach, restore, unpin"
kill -INT "$sensor_pid"
wait "$sensor_pid"
sensor_pid=
cat "$work/summary.json"

step "Records read back from Kafka with kcat (topic $topic, first 10)"
kcat -b "$brokers" -C -t "$topic" -e -o beginning -q -c 10 \
	-f 'partition %p offset %o timestamp %T key %K bytes value %S bytes\n'
step "Flow records (topic flows, first 3)"
kcat -b "$brokers" -C -t flows -e -o beginning -q -c 3

if [ -f "$streams_jar" ]; then
	step "The Kafka Streams example (examples/kafka-streams) on topic $topic, 30 s"
	java -jar "$streams_jar" --bootstrap "$brokers" --input "$topic" --output flow-stats \
		--state-dir "$work/streams" 2>"$work/streams.log" &
	streams_pid=$!
	sleep 30
	kcat -b "$brokers" -C -t flow-stats -e -o beginning -q -c 5 -f '%s\n' ||
		tail -n 5 "$work/streams.log"
else
	step "Kafka Streams example skipped: make streams-example builds it"
fi

step "Cleaning up"
