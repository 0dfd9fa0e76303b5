#!/usr/bin/env bash
# classify --json over every capture of DIR in name order, in one run, so
# two kernels' outputs can be compared line by line. Captures that are not
# Ethernet are reported on stderr and skipped by classify itself.
# Usage: tests/pcaps/classify_all.sh DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
build/xdpsensor classify --json "${1:?usage: classify_all.sh DIR}"/*.pcap 2>/dev/null
exit 0
