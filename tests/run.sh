#!/usr/bin/env bash
# Runs the test suites and sums their TAP output into one closing line:
# "N passed, N failed, N skipped". Usage: tests/run.sh [SUITE...]
# Suites: build (CFLAGS=-O0, missing packages named, BPF include dirs),
# unit (BPF_PROG_TEST_RUN, cmocka), pcaps (real captures vs tshark),
# e2e (veth + real Kafka broker; the spool's faults), query (`query` and
# `inspect` on records the sensor produced, against tshark/tcpdump), caps
# (least privilege: an unprivileged user with the documented capabilities),
# install (make install/uninstall, man page, systemd unit), vm (unit,
# same-as-host, live and caps inside a VM on another kernel), live (veth
# capture to a pcap file, no Kafka; parking on two RX queues),
# same-as-host (classify on this kernel = classify on the host), fresh (the
# README's two commands on a pristine Debian 12 root; not in the default list:
# CI runs it after `make test`).
set -uo pipefail
cd "$(dirname "$0")/.."

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(build unit pcaps e2e live query caps install vm)

passed=0 failed=0 skipped=0
failures=()

# Reads TAP on stdin, echoes it, and adds to the totals.
count_tap() {
	local suite=$1 line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		"not ok "*"# SKIP"* | "not ok "*"# skip"*) skipped=$((skipped + 1)) ;;
		"ok "*"# SKIP"* | "ok "*"# skip"*) skipped=$((skipped + 1)) ;;
		"not ok "*) failed=$((failed + 1)); failures+=("$suite: ${line#not ok }") ;;
		"ok "*) passed=$((passed + 1)) ;;
		esac
	done
}


run_suite() {
	local suite=$1 out rc rc2 before=$failed
	echo "# suite: $suite"
	out=$(mktemp)
	case $suite in
	unit)
		for t in build/tests/test_*; do
			[ -x "$t" ] || continue
			CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1
			rc=$?
			count_tap "unit/$(basename "$t")" <"$out"
			if [ $rc -ne 0 ] && [ $failed -eq $before ]; then
				failed=$((failed + 1)); failures+=("unit: $t exited $rc")
			fi
		done ;;
	build) tests/build/run.sh >"$out" 2>&1; rc=$?; count_tap build <"$out" ;;
	pcaps) tests/pcaps/run.sh >"$out" 2>&1; rc=$?; count_tap pcaps <"$out" ;;
	e2e)
		# the spool's faults need a broker of their own: tests/e2e/spool.sh,
		# once with each producer (--producer batch: the sensor's own writer)
		tests/e2e/run.sh >"$out" 2>&1; rc=$?; count_tap e2e <"$out"
		tests/e2e/spool.sh >"$out" 2>&1; rc2=$?; count_tap e2e/spool <"$out"
		[ $rc -ne 0 ] || rc=$rc2
		E2E_PRODUCER=batch tests/e2e/spool.sh >"$out" 2>&1; rc2=$?
		count_tap e2e/spool-batch <"$out"
		[ $rc -ne 0 ] || rc=$rc2 ;;
	query) tests/query/run.sh >"$out" 2>&1; rc=$?; count_tap query <"$out" ;;
	vm)
		# the guest checks its classify output against this kernel's
		mkdir -p build/vmtest
		tests/pcaps/classify_all.sh "${PCAPS_DIR:-../shared/pcaps/tcpdump}" \
			>build/vmtest/classify-host.jsonl
		vmtest/run.sh -- env CAPS_KAFKA=0 tests/run.sh unit same-as-host live caps >"$out" 2>&1
		rc=$?
		count_tap vm <"$out" ;;
	same-as-host)
		tests/pcaps/same_as_host.sh build/vmtest/classify-host.jsonl >"$out" 2>&1
		rc=$?
		count_tap same-as-host <"$out" ;;
	live) tests/e2e/live.sh >"$out" 2>&1; rc=$?; count_tap live <"$out" ;;
	caps) tests/e2e/caps.sh >"$out" 2>&1; rc=$?; count_tap caps <"$out" ;;
	install) tests/install/run.sh >"$out" 2>&1; rc=$?; count_tap install <"$out" ;;
	fresh) tests/fresh/run.sh >"$out" 2>&1; rc=$?; count_tap fresh <"$out" ;;
	*) echo "unknown suite '$suite'" >&2; rm -f "$out"; exit 2 ;;
	esac
	if [ "${rc:-0}" -ne 0 ] && [ $failed -eq $before ]; then
		failed=$((failed + 1)); failures+=("$suite: exited $rc with no failing test named")
	fi
	rm -f "$out"
}

for s in "${suites[@]}"; do
	run_suite "$s"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "# failures:"
	printf '#   %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
