#!/usr/bin/env bash
# The real captures against tshark: runs `build/xdpsensor classify --json` on
# every capture of PCAPS_DIR (default ../shared/pcaps/tcpdump, relative to the
# project root) and checks each packet's flow key and Community ID against
# tshark's decode of the same frame (tests/pcaps/compare_tshark.py; its
# DIFFERENCES table lists the deliberate differences, with their reasons:
# `tests/pcaps/compare_tshark.py --differences`).
# TAP on stdout, one test per capture; exit 0 if all pass (or skipped).
# Environment: PCAPS_DIR, JOBS (parallel runs, default: number of CPUs),
#   XDPSENSOR (default build/xdpsensor), TSHARK (default tshark),
#   PCAPS_TIMEOUT (seconds per classify/tshark run, default 60).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

pcaps=${PCAPS_DIR:-../shared/pcaps/tcpdump}
xdpsensor=${XDPSENSOR:-build/xdpsensor}
tshark=${TSHARK:-tshark}
name="classify vs tshark on the real captures"

skip() {
	echo "1..1"
	echo "ok 1 - $name # SKIP $*"
	exit 0
}
bail() {
	echo "1..1"
	echo "not ok 1 - $name: $*"
	exit 1
}

[ -d "$pcaps" ] || skip "no capture directory $pcaps (set PCAPS_DIR)"
shopt -s nullglob
files=("$pcaps"/*.pcap)
shopt -u nullglob
[ ${#files[@]} -gt 0 ] || skip "no .pcap in $pcaps"
command -v python3 >/dev/null || skip "python3 not installed"
command -v "$tshark" >/dev/null || skip "tshark not installed (make deps)"
[ -x "$xdpsensor" ] || bail "$xdpsensor missing (run make)"
[ "$(id -u)" -eq 0 ] || skip "needs root to load the BPF program"

# Can this host load the program? classify loads it before it opens the
# capture, so /dev/null (not a pcap) tells without running anything.
probe=$("$xdpsensor" classify --json /dev/null 2>&1 >/dev/null)
case $probe in
*"cannot load"* | *"cannot open the BPF object"*)
	case $probe in
	*"Operation not permitted"*) skip "cannot load BPF here: ${probe//$'\n'/ }" ;;
	*) bail "cannot load the XDP program: ${probe//$'\n'/ }" ;;
	esac ;;
esac

jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
exec timeout 900 python3 tests/pcaps/compare_tshark.py --xdpsensor "$xdpsensor" \
	--tshark "$tshark" --jobs "$jobs" --timeout "${PCAPS_TIMEOUT:-60}" "${files[@]}"
