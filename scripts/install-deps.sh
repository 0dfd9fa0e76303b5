#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need.
# Idempotent: installs only what is missing; quiet when nothing is.
set -euo pipefail

packages=(
	# build: BPF object, skeleton, userspace
	make gcc clang llvm pkg-config bpftool libbpf-dev libxdp-dev libelf-dev zlib1g-dev
	librdkafka-dev libpcap-dev libssl-dev libjemalloc-dev
	# tests: unit tests, reference decoder, traffic, Kafka client
	libcmocka-dev tshark kcat ethtool iproute2 iputils-ping python3
	# the local Kafka broker (tests/kafka/broker.sh fetches Kafka itself) and
	# the Kafka Streams example (examples/kafka-streams: javac, Maven)
	default-jre-headless default-jdk-headless maven
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (sudo make deps)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
