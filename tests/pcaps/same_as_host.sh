#!/usr/bin/env bash
# Runs `classify` on every real capture and checks that this kernel gives
# the same verdicts, keys and flow counters as the reference run REF (made
# by tests/run.sh on the host before it boots the VM). TAP output.
# Usage: tests/pcaps/same_as_host.sh REF.jsonl
set -uo pipefail
cd "$(dirname "$0")/../.."
ref=${1:?usage: same_as_host.sh REF.jsonl}
pcaps=${PCAPS_DIR:-../shared/pcaps/tcpdump}

echo "1..1"
if [ ! -r "$ref" ] || [ ! -d "$pcaps" ]; then
	echo "ok 1 - classify matches the host # SKIP no reference $ref or no $pcaps"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 - classify matches the host # SKIP needs root to load BPF"
	exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
tests/pcaps/classify_all.sh "$pcaps" >"$out"
# flow times are wall-clock: everything else must be identical
strip() { sed -E 's/"(time|first_ns|last_ns)":[0-9]+/"\1":0/g' "$1"; }
if diff <(strip "$ref") <(strip "$out") >/dev/null; then
	echo "ok 1 - classify on $(uname -r) matches the host ($(grep -c '"type":"packet"' "$out") packets)"
else
	echo "not ok 1 - classify on $(uname -r) differs from the host"
	diff <(strip "$ref") <(strip "$out") | head -20 | sed 's/^/# /'
	exit 1
fi
