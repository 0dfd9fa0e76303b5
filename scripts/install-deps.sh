#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need. The
# VM suite's own (qemu, a Debian kernel, virtme-ng) come from vmtest/install.sh,
# the Kafka jars from tests/kafka/broker.sh, and the fresh-machine check's
# debootstrap from tests/fresh/run.sh, each on first use.
# Idempotent: installs only what is missing; quiet when nothing is.
set -euo pipefail

packages=(
	# build: BPF object, skeleton, userspace
	make gcc clang llvm pkg-config bpftool libbpf-dev libxdp-dev libelf-dev zlib1g-dev
	librdkafka-dev libpcap-dev libssl-dev libjemalloc-dev libpcre2-dev libmicrohttpd-dev
	libjansson-dev
	# tests and demo: unit tests, reference decoders (tshark, tcpdump), traffic,
	# Kafka client, and the commands the scripts call that a minimal Debian
	# lacks (procps: sysctl, ps, pgrep; iproute2: ip, tc)
	libcmocka-dev tshark tcpdump kcat ethtool iproute2 iputils-ping python3 procps
	# the local Kafka broker (tests/kafka/broker.sh fetches Kafka itself) and
	# the Kafka Streams example (examples/kafka-streams: javac, Maven)
	default-jre-headless default-jdk-headless maven
	# the man page (scdoc builds it, man-db's man renders it in the tests); the
	# service tests: promtool and a Prometheus server, openssl for the test
	# broker's CA, setpriv and unshare (util-linux)
	scdoc man-db prometheus openssl util-linux
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

# The tests start a Prometheus server of their own; Debian's package also
# starts one as a service on :9090 where systemd runs. One we installed
# ourselves is stopped and disabled again (one that was there is left alone).
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
	systemctl disable --now prometheus >/dev/null 2>&1 &&
		echo "install-deps: stopped and disabled the prometheus service Debian started (the tests run their own)" >&2
fi
exit 0
