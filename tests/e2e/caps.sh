#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Least privilege: `xdpsensor run` as an unprivileged user (nobody) holding
# exactly the capabilities xdpsensor(8) documents, as the systemd unit gives
# them (ambient), captures and delivers; with any one of them removed it
# says which in one line, exits 1 and leaves nothing behind. What it makes
# (pins, state files, the pcap, the spool) is not readable by others.
# As that user, a run takes over the program a killed run or a stop with
# --handover left, and `detach` (CAP_BPF, CAP_NET_ADMIN) removes it.
#
# It runs in a private mount namespace of its own with a fresh bpffs at
# /sys/fs/bpf and a tmpfs at /run/xdpsensor, owned by the user, as the unit's
# ExecStartPre and RuntimeDirectory make them (bpffs' root searchable by
# others, o+x, as the unit makes it): sensors of other runs on this
# machine are not seen and cannot interfere. TAP on stdout.
#
# Environment: XDPSENSOR, CAPS_KAFKA=1 (default): deliver to a Kafka broker
#   started here (tests/kafka/broker.sh); 0: to a pcap file (the VM suite).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

if [ -z "${XS_CAPS_NS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	XS_CAPS_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
. tests/e2e/lib.sh

# the set documented in xdpsensor(8) and granted by the unit
CAPS=(bpf perfmon net_admin net_raw ipc_lock)
USER_ID=65534
NS=xscap-$$
VA=xc$$a
VB=xc$$b
W=
BROKER_DIR=
BROKER=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	sensor_kill
	scrub_iface "$VA"
	teardown_veth "$NS" "$VA"
	[ -z "$BROKER_DIR" ] || tests/kafka/broker.sh stop "$BROKER_DIR" >/dev/null 2>&1
	[ -z "$W" ] || rm -rf "$W"
	exit $rc
}

skip_all() {
	echo "1..1"
	echo "ok 1 - least privilege # SKIP $*"
	exit 0
}

prepare() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (it drops to an unprivileged user)"
	[ -n "${XS_CAPS_NS:-}" ] || skip_all "unshare (util-linux) not installed"
	command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not installed"
	[ -x "$XS" ] || { echo "1..1"; echo "not ok 1 - $XS missing: run make"; exit 1; }
	setpriv --reuid=$USER_ID test -x "$XS" ||
		skip_all "user $USER_ID cannot execute $XS (a private home above it?)"
	# this mount namespace only: a fresh bpffs and state dir, the user's
	mount -t bpf bpf /sys/fs/bpf -o mode=0700 || skip_all "cannot mount a bpffs"
	chmod o+x /sys/fs/bpf # as the unit does: searchable, not listable
	mkdir -p /run/xdpsensor
	mount -t tmpfs tmpfs /run/xdpsensor -o mode=0700 || skip_all "cannot mount a tmpfs"
	install -d -o $USER_ID -g $USER_ID -m 0700 /sys/fs/bpf/xdpsensor
	chown $USER_ID:$USER_ID /run/xdpsensor
	W=$(mktemp -d /tmp/xs-caps.XXXXXX)
	chmod 0755 "$W"
	install -d -o $USER_ID -g $USER_ID -m 0700 "$W/out"
	setup_veth "$NS" "$VA" "$VB" || { echo "not ok 1 - cannot create veth"; exit 1; }
	if [ "${CAPS_KAFKA:-1}" = 1 ]; then
		BROKER_DIR=$W/kafka
		BROKER=$(tests/kafka/broker.sh start "$BROKER_DIR" 2>"$W/broker.err") || {
			BROKER=
			diag "no Kafka broker ($(tail -n 1 "$W/broker.err")): the pcap sink instead"
		}
	fi
}

# as_user CAPS OUT ARGS...: `xdpsensor run ARGS` as the user, holding CAPS
# (comma list) as the unit gives them: inheritable + ambient + bounding.
# MEMLOCK=BYTES: with that RLIMIT_MEMLOCK (what CAP_IPC_LOCK stands in for).
as_user() {
	local caps=$1 out=$2
	shift 2
	user_argv "$caps"
	"${USER_ARGV[@]}" run "$@" >"$out.out" 2>"$out.err" &
	SENSOR_PID=$!
}

# user_argv CAPS: USER_ARGV, the command line that runs xdpsensor as the user
# holding CAPS (the pid of `USER_ARGV... &` is then xdpsensor's)
user_argv() {
	local caps=$1 limit=()
	[ -z "${MEMLOCK:-}" ] || limit=(prlimit "--memlock=$MEMLOCK:$MEMLOCK")
	USER_ARGV=("${limit[@]}" setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups
		--inh-caps="-all,$caps" --ambient-caps="-all,$caps" --bounding-set="-all,$caps" "$XS")
}

capset() { local c out=; for c in "$@"; do out+=${out:+,}+$c; done; echo "$out"; }

# mode PATH: octal permissions
mode() { stat -c %a "$1"; }

# nothing of a run is left: pins, state files, lock (the dirs are the unit's)
check_nothing_left() {
	[ -z "$(ls -A /sys/fs/bpf/xdpsensor)" ] ||
		fail "left in bpffs: $(ls -A /sys/fs/bpf/xdpsensor | tr '\n' ' ')"
	[ -z "$(ls -A /run/xdpsensor)" ] || fail "left in /run/xdpsensor: $(ls -A /run/xdpsensor)"
}

test_documented_caps() {
	local d=$W/all sink=() f bad
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"
	if [ -n "$BROKER" ]; then
		sink=(-b "$BROKER" -t xs-caps-$$ --spool-dir "$W/out/spool")
	else
		sink=(--output "pcap:$W/out/capture.pcap")
	fi
	as_user "$(capset "${CAPS[@]}")" "$d/sensor" -i "$VA" "${sink[@]}"
	if ! sensor_wait_ready "$d/sensor.err"; then
		fail "not capturing: $(tail -n 3 "$d/sensor.err" | tr '\n' ' ')"
		report "user $USER_ID with ${CAPS[*]}: captures"
		sensor_stop KILL
		return
	fi
	send_traffic "$NS" "$VB" --generate --rate 1000 --manifest "$d/manifest.json" \
		--sent-pcap "$d/sent.pcap" 2>"$d/traffic.err" || fail "traffic.py failed"
	"$XS" classify --json "$d/sent.pcap" >"$d/classify.jsonl" 2>/dev/null
	read -r NSENT NCAP < <(python3 "$E2E/check.py" count --manifest "$d/manifest.json" \
		--classify "$d/classify.jsonl")
	wait_stats "$VA" 60 "s['delivered'] >= $NCAP" >"$d/stats.json" ||
		fail "delivered $(json_get delivered <"$d/stats.json") of $NCAP"
	# while it runs: nothing it made is open to others
	for f in /sys/fs/bpf/xdpsensor/"$VA" /sys/fs/bpf/xdpsensor/"$VA"/* /run/xdpsensor/* \
		$(find "$W/out/spool" 2>/dev/null); do
		[ -e "$f" ] || continue
		bad=$(find "$f" -maxdepth 0 -perm /077)
		[ -z "$bad" ] || fail "$f is mode $(mode "$f"): open to group or others"
		[ "$(stat -c %u "$f")" = $USER_ID ] || fail "$f is not owned by the user"
	done
	[ -e /run/xdpsensor/"$VA".lock ] || fail "no lock file"
	[ -z "$BROKER" ] || [ -d "$W/out/spool" ] || fail "no spool directory $W/out/spool"
	diag "modes: $(stat -c '%n %a' /sys/fs/bpf/xdpsensor/"$VA" /sys/fs/bpf/xdpsensor/"$VA"/stats /run/xdpsensor/* | tr '\n' ' ')"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC after SIGTERM: $(tail -n 2 "$d/sensor.err" | tr '\n' ' ')"
	python3 - "$d/sensor.out" "$NCAP" >"$d/summary.check" 2>&1 <<'PY' || fail "summary: $(cat "$d/summary.check")"
import json, sys
s = json.loads(open(sys.argv[1]).read())
n = int(sys.argv[2])
bad = ["%s %d, expected %d" % (k, s[k], n) for k in ("received", "produced", "delivered")
       if s[k] != n]
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
PY
	if [ -z "$BROKER" ] && [ -e "$W/out/capture.pcap" ]; then
		bad=$(find "$W/out/capture.pcap" -perm /077)
		[ -z "$bad" ] || fail "the pcap is mode $(mode "$W/out/capture.pcap")"
	fi
	check_clean "$VA" "$d/settings.before"
	check_nothing_left
	report "user $USER_ID with exactly ${CAPS[*]}: captures and delivers $NCAP of $NSENT" \
		"frames (to ${BROKER:+Kafka at }${BROKER:-a pcap file}), private files, nothing left"
}

test_one_removed() {
	local gone=$1 d=$W/no-$1 keep=() c rc up
	mkdir -p "$d"
	for c in "${CAPS[@]}"; do [ "$c" = "$gone" ] || keep+=("$c"); done
	up=CAP_$(tr '[:lower:]' '[:upper:]' <<<"$gone")
	iface_settings "$VA" >"$d/settings.before"
	# CAP_IPC_LOCK matters under a memlock limit below the UMEM's 128 MiB:
	# Debian's default, 8 MiB (a VM's may be unlimited)
	MEMLOCK=$((8 << 20)) as_user "$(capset "${keep[@]}")" "$d/sensor" -i "$VA" \
		--output "pcap:$W/out/no.pcap"
	sensor_wait_exit 60 || fail "still running 60 s later"
	rc=$SENSOR_RC
	[ "$rc" = 1 ] || fail "exit $rc, expected 1"
	[ "$(grep -c . "$d/sensor.err")" -eq 1 ] || fail "not one line: $(tr '\n' '|' <"$d/sensor.err")"
	grep -q "missing capability $up " "$d/sensor.err" || fail "does not name $up alone"
	[ -s "$d/sensor.out" ] && fail "wrote to stdout"
	diag "without $up: $(head -n 1 "$d/sensor.err")"
	check_clean "$VA" "$d/settings.before"
	check_nothing_left
	[ ${#problems[@]} -eq 0 ] || scrub_iface "$VA"
	report "without $up: exit 1, one line naming it, nothing left"
}

# runs_within_memlock MIB LABEL ARGS...: without CAP_IPC_LOCK, under an
# RLIMIT_MEMLOCK of MIB MiB, `run ARGS` captures for 2 s, exits 0 and leaves
# nothing: the UMEM is the locked memory the kernel charges.
runs_within_memlock() {
	local mib=$1 label=$2 d=$W/memlock-$1 keep=() c
	shift 2
	mkdir -p "$d"
	for c in "${CAPS[@]}"; do [ "$c" = ipc_lock ] || keep+=("$c"); done
	if ! prlimit --memlock=$((mib << 20)):$((mib << 20)) true 2>/dev/null; then
		tap_skip "$label" "cannot raise RLIMIT_MEMLOCK here (no CAP_SYS_RESOURCE)"
		return
	fi
	iface_settings "$VA" >"$d/settings.before"
	MEMLOCK=$((mib << 20)) as_user "$(capset "${keep[@]}")" "$d/sensor" -i "$VA" \
		--output null --duration 2 "$@"
	sensor_wait_exit 60 || fail "still running 60 s later"
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC: $(head -n 2 "$d/sensor.err" | tr '\n' ' ')"
	check_clean "$VA" "$d/settings.before"
	check_nothing_left
	[ ${#problems[@]} -eq 0 ] || scrub_iface "$VA"
	report "$label"
}

# kill -9 as the unit's user, then a new run as that user (Restart=):
# it recognises the dead run's program by its pin (no CAP_SYS_ADMIN to read
# names), removes it and captures.
test_crash_recovery() {
	local d=$W/crash
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"
	as_user "$(capset "${CAPS[@]}")" "$d/s1" -i "$VA" --output null
	sensor_wait_ready "$d/s1.err" || fail "first run: $(tail -n 2 "$d/s1.err" | tr '\n' ' ')"
	sensor_stop KILL
	has_xdp_prog "$VA" || fail "no program left by kill -9"
	as_user "$(capset "${CAPS[@]}")" "$d/s2" -i "$VA" --output null --duration 3
	sensor_wait_ready "$d/s2.err" || fail "second run: $(tail -n 2 "$d/s2.err" | tr '\n' ' ')"
	grep -q "stale" "$d/s2.err" || fail "the second run does not mention the stale program"
	sensor_wait_exit 30 || fail "still running after --duration 3"
	[ "$SENSOR_RC" = 0 ] || fail "exit $SENSOR_RC"
	check_clean "$VA" "$d/settings.before"
	check_nothing_left
	[ ${#problems[@]} -eq 0 ] || scrub_iface "$VA" # the next tests start clean
	report "as the user, after kill -9 a new run removes the dead run's program and captures"
}

# --handover as the unit's user (`systemctl restart`): the stop leaves the
# program parking, a new run as that user takes it over; stopped the same
# way again, `detach` as the user, with what the man page says it needs
# (CAP_BPF, CAP_NET_ADMIN), removes it all.
test_handover() {
	local d=$W/handover
	mkdir -p "$d"
	iface_settings "$VA" >"$d/settings.before"
	as_user "$(capset "${CAPS[@]}")" "$d/s1" -i "$VA" --output null --handover
	sensor_wait_ready "$d/s1.err" || fail "first run: $(tail -n 2 "$d/s1.err" | tr '\n' ' ')"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "first run: exit $SENSOR_RC"
	has_xdp_prog "$VA" || fail "no program left by the stop with --handover"
	as_user "$(capset "${CAPS[@]}")" "$d/s2" -i "$VA" --output null --handover
	sensor_wait_ready "$d/s2.err" || fail "second run: $(tail -n 2 "$d/s2.err" | tr '\n' ' ')"
	grep -q "in place of the stale one" "$d/s2.err" ||
		fail "the second run does not take the program over: $(grep -v offload "$d/s2.err" | head -n 3 | tr '\n' ' ')"
	sensor_stop TERM
	[ "$SENSOR_RC" = 0 ] || fail "second run: exit $SENSOR_RC"
	user_argv "$(capset bpf net_admin)"
	"${USER_ARGV[@]}" detach -i "$VA" >"$d/detach.out" 2>&1 ||
		fail "detach as the user: $(tail -n 2 "$d/detach.out" | tr '\n' ' ')"
	check_clean "$VA" "$d/settings.before"
	check_nothing_left
	[ ${#problems[@]} -eq 0 ] || scrub_iface "$VA"
	report "as the user, --handover: the next run takes the program over; detach with" \
		"CAP_BPF and CAP_NET_ADMIN removes it"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
prepare
test_documented_caps
test_crash_recovery
test_handover
for cap in "${CAPS[@]}"; do
	test_one_removed "$cap"
done
# a memlock limit that holds the default UMEM does instead of CAP_IPC_LOCK
runs_within_memlock 128 "without CAP_IPC_LOCK, with RLIMIT_MEMLOCK 128 MiB: runs, nothing left"
# under Debian's default 8 MiB the default 128 MiB is refused (test_one_removed)
# and --umem-mb 8 fits
runs_within_memlock 8 "without CAP_IPC_LOCK, RLIMIT_MEMLOCK 8 MiB: --umem-mb 8 runs, nothing left" \
	--umem-mb 8
tap_end
