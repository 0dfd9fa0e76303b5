#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# flows-variant.sh TYPE SRCDIR OUTDIR
#
# Copies the datapath (SRCDIR/xdpsensor.bpf.c, SRCDIR/xdpsensor_maps.h) into
# OUTDIR so that it builds with the flows map type given by
# -DXS_FLOWS_MAP_TYPE=BPF_MAP_TYPE_<TYPE>; TYPE is hash, lru_hash or
# percpu_hash. SRCDIR is not modified. Used by `make bench-xdp-maptypes`.
#
# The change made to the copy, if the source does not have it already:
#   xdpsensor_maps.h:  #ifndef XS_FLOWS_MAP_TYPE
#                      #define XS_FLOWS_MAP_TYPE BPF_MAP_TYPE_HASH
#                      #endif
#                      and `__uint(type, XS_FLOWS_MAP_TYPE);` in the flows map
# and for percpu_hash only: the flow counters' atomics become plain adds and
# ors (each CPU owns its copy of the value).
set -eu

type=$1 src=$2 out=$3
case $type in
hash|lru_hash|percpu_hash) ;;
*) echo "flows-variant.sh: unknown type '$type' (hash, lru_hash, percpu_hash)" >&2; exit 1 ;;
esac

mkdir -p "$out"
cp "$src/xdpsensor.bpf.c" "$src/xdpsensor_maps.h" "$out/"
maps=$out/xdpsensor_maps.h prog=$out/xdpsensor.bpf.c

if ! grep -q 'XS_FLOWS_MAP_TYPE' "$maps"; then
	sed -i -e '/^#ifndef XS_RULES_MAX/i #ifndef XS_FLOWS_MAP_TYPE\n#define XS_FLOWS_MAP_TYPE BPF_MAP_TYPE_HASH\n#endif' \
	       -e '/__uint(type, BPF_MAP_TYPE_HASH);/{N;s/BPF_MAP_TYPE_HASH\();\n\t__uint(max_entries, XS_FLOWS_MAX)\)/XS_FLOWS_MAP_TYPE\1/}' \
	       "$maps"
	if [ "$(grep -c 'XS_FLOWS_MAP_TYPE' "$maps")" -ne 3 ]; then
		echo "flows-variant.sh: $src/xdpsensor_maps.h no longer looks as expected;" \
		     "update the sed in $0" >&2
		exit 1
	fi
fi

if [ "$type" = percpu_hash ]; then
	sed -i -e 's/__sync_fetch_and_add(&\(fs->[a-z_]*\[p->dir & 1\]\), \([a-z0-9]*\));/\1 += \2;/' \
	       -e 's/__sync_fetch_and_or(&fs->tcp_flags, p->tcp_flags);/fs->tcp_flags |= p->tcp_flags;/' \
	       "$prog"
	if grep -q '__sync_' "$prog"; then
		echo "flows-variant.sh: atomics left in $prog; update the sed in $0" >&2
		exit 1
	fi
fi
