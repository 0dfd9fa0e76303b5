#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Instructions per delivered record in the packet thread of the sensor and
# of the classic probe, by function, under callgrind (valgrind): a count,
# not a time, so the machine's load does not move it (these VMs have no
# perf counters). Collected: the sensor's worker_main, the probe's
# pcap_dispatch and rd_kafka_poll (its packet loop); not start-up, nor
# librdkafka's broker threads (Debian's librdkafka has no symbols for its
# internal functions: bench/cpu_split.sh gives their CPU time). callgrind
# runs the code ~50x slower: keep the rate low.
#
# usage: bench/callgrind.sh [--rate PPS] [--seconds S] [-- RUN ARGS...]
# Root. One JSON line per receiver; the profiles are kept in
# build/bench/callgrind-{xdpsensor,probe}.out (callgrind_annotate reads
# them), the dearest functions (inclusive) in callgrind-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=5000 secs=10 args=()
while (($#)); do
	case $1 in
	--rate) rate=$2; shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	--) shift; args=("$@"); break ;;
	*) echo "usage: bench/callgrind.sh [--rate PPS] [--seconds S] [-- RUN ARGS...]" >&2; exit 2 ;;
	esac
done
command -v valgrind >/dev/null || { echo "bench/callgrind.sh: needs valgrind (apt install valgrind)" >&2; exit 1; }
out=build/bench w=$(mktemp -d /tmp/xs-cg.XXXXXX)
trap 'rm -rf "$w"' EXIT
mkdir -p "$out"

measure() { # measure NAME LOOP_FN... [-- CPU_SPLIT ARGS]
	local name=$1 toggles=() cg=$out/callgrind-$1.out
	shift
	while (($#)) && [[ $1 != -- ]]; do toggles+=(--toggle-collect="$1"); shift; done
	shift
	WRAP="valgrind --tool=callgrind --callgrind-out-file=$cg --collect-atstart=no ${toggles[*]}" \
		bench/cpu_split.sh --rate "$rate" --seconds "$secs" "$@" >"$w/$name.json"
	callgrind_annotate --inclusive=yes "$cg" 2>/dev/null | sed -n 1,80p >"$out/callgrind-$name.txt"
	python3 - "$w/$name.json" "$cg" "$name" "${toggles[@]#--toggle-collect=}" <<'PY'
import json, re, subprocess, sys
split, cg, name, loop_fns = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4:]
n = max(split["delivered"], 1)
ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", cg],
                     capture_output=True, text=True).stdout
def incl(fn):  # a function's inclusive instructions ("1,234 (5.0%)  file:fn [obj]")
    for line in ann.splitlines():
        m = re.match(r"\s*([\d,]+) .*:%s\b" % re.escape(fn), line)
        if m:
            return int(m.group(1).replace(",", ""))
    return 0
print(json.dumps({"receiver": name, "rate": split["rate"], "delivered": split["delivered"],
                  "packet_thread_instructions_per_record":
                  round(sum(incl(f) for f in loop_fns) / n)}))
PY
}

measure xdpsensor worker_main -- -- "${args[@]}"
measure probe pcap_dispatch rd_kafka_poll -- --probe
