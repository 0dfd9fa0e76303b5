#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make bench-query: records scanned per second by `xdpsensor query` with a
# filter that matches nothing, against `kcat -C -e -o beginning` reading the
# same topic (raw consumption, no filtering: the anchor); and a --flow query
# against the same question answered by scanning every partition.
#
# A local broker (tests/kafka/broker.sh) gets a topic of PARTS partitions
# filled by xs-topic-fill with records exactly as the sensor writes them
# (UDP/IPv4 frames of FLOWS flows, 5tuple keys, the five headers). Each
# trial runs every reader once, in turn; the figures are medians over the
# trials of the wall-clock time of the whole process (connection set-up
# included, for kcat as for query).
#
# usage: bench/query.sh [--records N] [--trials T] [--partitions P] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=1000000
TRIALS=3
PARTS=4
FLOWS=1024
SIZE=60
OUT=build/bench
XS=build/xdpsensor
FILL=build/bench/xs-topic-fill
TOPIC=xsbench-query

while [ $# -gt 0 ]; do
	case $1 in
	--records) RECORDS=$2; shift 2 ;;
	--trials) TRIALS=$2; shift 2 ;;
	--partitions) PARTS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "usage: $0 [--records N] [--trials T] [--partitions P] [--out DIR]" >&2; exit 2 ;;
	esac
done
for need in kcat python3; do
	command -v $need >/dev/null || { echo "bench-query: $need missing (make deps)" >&2; exit 1; }
done
[ -x "$XS" ] && [ -x "$FILL" ] || { echo "bench-query: run make bench-build first" >&2; exit 1; }

mkdir -p "$OUT"
W=$(mktemp -d "$OUT/query.XXXXXX")
cleanup() {
	tests/kafka/broker.sh stop "$W/kafka" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

log() { printf 'bench-query: %s\n' "$*" >&2; }

BROKER=$(tests/kafka/broker.sh start "$W/kafka" 2>"$W/broker.err") ||
	{ tail -n 5 "$W/broker.err" >&2; exit 1; }
tests/kafka/broker.sh create-topic "$W/kafka" $TOPIC "$PARTS" 2>>"$W/broker.err"
log "broker $BROKER, topic $TOPIC ($PARTS partitions): filling with $RECORDS records"
"$FILL" -b "$BROKER" -t $TOPIC -n "$RECORDS" -k $FLOWS -s $SIZE >"$W/fill.json"
log "$(cat "$W/fill.json")"

# run NAME CMD...: wall ns of CMD appended to $W/NAME.ns; its stderr kept
run() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$W/$name.err" || { log "$name failed: $(tail -n 2 "$W/$name.err")"; exit 1; }
	t1=$(date +%s%N)
	echo $((t1 - t0)) >>"$W/$name.ns"
}

# scanned NAME: the records the last query NAME says it scanned
scanned() { sed -n 's/.*, \([0-9]*\) records scanned.*/\1/p' "$W/$1.err" | tail -n 1; }
written() { sed -n 's/.* \([0-9]*\) written to.*/\1/p' "$W/$1.err" | tail -n 1; }

Q=("$XS" query -b "$BROKER" -t $TOPIC --start 0 -q)
# flow 5 of xs-topic-fill, both directions
FLOW=(--src-addr 198.18.0.5 --src-port 1029 --dst-addr 198.19.0.1 --dst-port 9 --proto udp
	--include-reverse)
for ((t = 1; t <= TRIALS; t++)); do
	log "trial $t of $TRIALS"
	run kcat kcat -C -b "$BROKER" -t $TOPIC -e -o beginning -q
	run fixed "${Q[@]}" --src-addr 203.0.113.1 -w "$W/out.pcap"
	run bpf "${Q[@]}" --filter 'host 203.0.113.1' -w "$W/out.pcap"
	run regex "${Q[@]}" --packet-filter '\xde\xad\xbe\xef' -w "$W/out.pcap"
	run scan_all "${Q[@]}" "${FLOW[@]}" -w "$W/out.pcap"
	run flow "${Q[@]}" "${FLOW[@]}" --flow -w "$W/out.pcap"
	for q in fixed bpf regex scan_all; do
		[ "$(scanned $q)" = "$RECORDS" ] ||
			{ log "$q scanned $(scanned $q) records, not $RECORDS"; exit 1; }
	done
	for q in fixed bpf regex; do
		[ "$(written $q)" = 0 ] || { log "$q matched $(written $q) records"; exit 1; }
	done
	[ "$(written flow)" = "$(written scan_all)" ] && [ "$(written flow)" -gt 0 ] ||
		{ log "--flow wrote $(written flow), the scan $(written scan_all)"; exit 1; }
done

python3 - "$W" "$RECORDS" "$PARTS" "$(scanned flow)" "$(written flow)" <<'EOF'
import statistics, sys
w, n, parts, flow_scanned, flow_written = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])
def med(name):
    v = [int(x) for x in open("%s/%s.ns" % (w, name))]
    return statistics.median(v), min(v), max(v)
k = med("kcat")
print("| reader | wall s, median (min-max) | records/s | vs kcat |")
print("|---|---:|---:|---:|")
def row(label, name, records):
    m, lo, hi = med(name)
    print("| %s | %.2f (%.2f-%.2f) | %.0f | %.2fx |" % (label, m / 1e9, lo / 1e9, hi / 1e9,
                                                   records * 1e9 / m, k[0] / m))
row("`kcat -C -e -o beginning` (anchor)", "kcat", n)
row("query, fixed fields (`--src-addr`), no match", "fixed", n)
row("query, `--filter 'host ...'` (libpcap), no match", "bpf", n)
row("query, `--packet-filter` (PCRE2), no match", "regex", n)
print()
s, f = med("scan_all")[0], med("flow")[0]
print("One flow, both directions (%d packets): every partition %.2f s (%d records scanned),"
      " --flow %.2f s (1 of %d partitions, %d records scanned): %.1fx faster."
      % (flow_written, s / 1e9, n, f / 1e9, parts, flow_scanned, s / f))
EOF
