#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The build's promises, in a throw-away build directory (TAP on stdout):
#   1. the user's CFLAGS replace only the optimisation: `make CFLAGS=-O0`
#      builds the sensor and every test and bench program;
#   2. a missing pkg-config package is named (one line), not hidden;
#   3. the BPF objects are compiled with the compiler's own system include
#      directories (what makes <asm/types.h> resolve on a fresh Debian).
set -uo pipefail
cd "$(dirname "$0")/../.."

out=$(mktemp -d /tmp/xs-build.XXXXXX)
trap 'rm -rf "$out"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; printf '#   %s\n' "$@"; }

echo "1..3"

if make -s -j2 BUILD="$out/o0" CFLAGS=-O0 test-build >"$out/o0.log" 2>&1; then
	ok "make CFLAGS=-O0 test-build builds the sensor, tests, e2e and bench programs"
else
	not_ok "make CFLAGS=-O0 test-build failed" "$(tail -n 5 "$out/o0.log")"
fi

make -s BUILD="$out/pkg" PKGS="libbpf xs-no-such-package" all >"$out/pkg.log" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "missing pkg-config package(s): xs-no-such-package" "$out/pkg.log"; then
	ok "a missing pkg-config package is named: $(grep -m1 missing "$out/pkg.log")"
else
	not_ok "a missing pkg-config package is not named (exit $rc)" "$(tail -n 3 "$out/pkg.log")"
fi

flags=$(make -s -n BUILD="$out/o0" -W bpf/xdpsensor.bpf.c "$out/o0/xdpsensor.bpf.o" 2>&1)
sys=$(clang -v -E - </dev/null 2>&1 | sed -n '/<\.\.\.> search starts here:/,/End of search list/s|^ \(/.*\)|\1|p')
missing=
for d in $sys; do
	grep -q -- "-idirafter $d" <<<"$flags" || missing="$missing $d"
done
if [ -n "$sys" ] && [ -z "$missing" ]; then
	ok "BPF objects get clang's system include directories ($(wc -w <<<"$sys") of them)"
else
	not_ok "BPF compile lacks clang's system include directories:${missing:- (clang printed none)}" \
		"$(head -c 400 <<<"$flags")"
fi
exit $failed
