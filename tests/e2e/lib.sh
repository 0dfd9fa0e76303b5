# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034  # SENSOR_RC is read by the sourcing scripts
# Shared by tests/e2e/run.sh, spool.sh, live.sh and tests/query/run.sh
# (source it from the project root): TAP output, a netns + veth pair, the sensor as a background
# process, and the "nothing left behind" checks. Bash; needs ip, ethtool,
# python3.

XS=${XDPSENSOR:-build/xdpsensor}
E2E=tests/e2e
PIN_ROOT=/sys/fs/bpf/xdpsensor
STATE_DIR=/run/xdpsensor
KEEP_FALLBACK=/dev/shm/xdpsensor # where /run is not a tmpfs (keep_dir.h)

# ------------------------------------------------------------------ TAP

tap_n=0
tap_failed=0
problems=()

tap_ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
tap_not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
tap_skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
diag() { printf '# %s\n' "$@"; }

# Collect what is wrong in a test, then report it as one TAP line.
fail() { problems+=("$*"); }
report() {
	if [ ${#problems[@]} -eq 0 ]; then
		tap_ok "$*"
	else
		tap_not_ok "$*"
		printf '#   %s\n' "${problems[@]}"
	fi
	problems=()
}

# tap_checker PREFIX CMD...: runs a checker that prints unnumbered TAP
# ("ok - X", "not ok - X", "# ..."), numbers its lines, prefixes the names.
tap_checker() {
	local prefix=$1 out rc line seen=0
	shift
	out=$("$@" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) tap_ok "$prefix: ${line#ok - }"; seen=1 ;;
		"not ok - "*) tap_not_ok "$prefix: ${line#not ok - }"; seen=1 ;;
		"#"*) printf '%s\n' "$line" ;;
		*) printf '# %s\n' "$line" ;;
		esac
	done <<<"$out"
	if [ $rc -ne 0 ] && [ $seen -eq 0 ]; then
		tap_not_ok "$prefix: checker failed (exit $rc)"
	fi
	return $rc
}

tap_end() {
	echo "1..$tap_n"
	[ $tap_failed -eq 0 ]
}

# work_dir_end RC KEEP: removes the work dir $W after a run that passed
# (RC 0, no test failed) unless KEEP is 1; else says where it is kept.
work_dir_end() {
	[ -n "$W" ] && [ -d "$W" ] || return 0
	if [ $tap_failed -eq 0 ] && [ "$1" -eq 0 ] && [ "$2" != 1 ]; then
		rm -rf "$W"
	else
		echo "# work files kept in $W"
	fi
}

# ------------------------------------------------------------------ netns + veth

# setup_veth NS VA VB [QUEUES]: a veth pair, VA here (the sensor's side), VB
# in the new namespace NS (the traffic's side), with QUEUES RX and TX queues
# each (default 1). No addresses, IPv6 off on both ends so that the kernel
# sends nothing of its own.
setup_veth() {
	local ns=$1 va=$2 vb=$3 q=${4:-1}
	ip netns add "$ns" || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	ip link add "$va" numtxqueues "$q" numrxqueues "$q" type veth \
		peer name "$vb" numtxqueues "$q" numrxqueues "$q" netns "$ns" || return 1
	if [ -d /proc/sys/net/ipv6 ]; then
		sysctl -qw "net.ipv6.conf.$va.disable_ipv6=1" || return 1
		ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$vb.disable_ipv6=1" || return 1
	fi
	ip link set "$va" up && ip -n "$ns" link set "$vb" up
}

teardown_veth() {
	local ns=$1 va=$2
	ip netns del "$ns" 2>/dev/null # takes the veth pair with it
	ip link del "$va" 2>/dev/null
	return 0
}

# send_traffic NS VB ARGS...: traffic.py send inside the namespace.
send_traffic() {
	local ns=$1 vb=$2
	shift 2
	ip netns exec "$ns" python3 "$E2E/traffic.py" send -i "$vb" "$@"
}

# ------------------------------------------------------------------ the sensor

SENSOR_PID=
SENSOR_RC= # exit status of the last sensor_stop

# sensor_start OUT_PREFIX ARGS...: `xdpsensor run ARGS` in the background;
# stdout to OUT_PREFIX.out, stderr to OUT_PREFIX.err. One at a time.
sensor_start() {
	local out=$1
	shift
	"$XS" run "$@" >"$out.out" 2>"$out.err" &
	SENSOR_PID=$!
}

alive() { kill -0 "$1" 2>/dev/null; }

# sensor_wait_ready ERRFILE [SECS]: until it says it is capturing.
sensor_wait_ready() {
	local err=$1 secs=${2:-60} i
	for ((i = 0; i < secs * 10; i++)); do
		grep -q "capturing;" "$err" 2>/dev/null && return 0
		alive "$SENSOR_PID" || return 1
		sleep 0.1
	done
	return 1
}

# sensor_started LABEL ERR IFACE: the sensor is capturing; else the test
# LABEL fails ("the sensor starts", with ERR's last lines), the sensor is
# killed and IFACE scrubbed, and it returns 1.
sensor_started() {
	sensor_wait_ready "$2" && return 0
	fail "not capturing: $(tail -n 3 "$2" | tr '\n' ' ')"
	report "$1: the sensor starts"
	sensor_stop KILL
	scrub_iface "$3"
	return 1
}

# sensor_stop [SIGNAL] [SECS]: signals the sensor and waits for it; sets
# SENSOR_RC (124 when it had to be killed after SECS). Its stderr is quiet:
# bash would report "Killed" for a kill -9.
sensor_stop() {
	local sig=${1:-INT} secs=${2:-60} i
	SENSOR_RC=
	[ -n "$SENSOR_PID" ] || return 1
	kill -"$sig" "$SENSOR_PID" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		alive "$SENSOR_PID" || break
		sleep 0.1
	done
	if alive "$SENSOR_PID"; then
		kill -KILL "$SENSOR_PID" 2>/dev/null
		wait "$SENSOR_PID" 2>/dev/null
		SENSOR_RC=124
	else
		wait "$SENSOR_PID" 2>/dev/null
		SENSOR_RC=$?
	fi
	SENSOR_PID=
	return 0
} 2>/dev/null

# sensor_wait_exit SECS: waits for the sensor to end by itself; sets
# SENSOR_RC. Returns 1 (and kills it) if it still runs after SECS.
sensor_wait_exit() {
	local secs=$1 i
	for ((i = 0; i < secs * 10; i++)); do
		alive "$SENSOR_PID" || break
		sleep 0.1
	done
	alive "$SENSOR_PID" && { sensor_stop KILL; return 1; }
	wait "$SENSOR_PID"
	SENSOR_RC=$?
	SENSOR_PID=
	return 0
} 2>/dev/null

# Kills the sensor this script started, if it still runs: by its pid, and
# only if that pid is still an `xdpsensor run` (not a reused pid).
sensor_kill() {
	local pid=$SENSOR_PID cmd
	[ -n "$pid" ] || return 0
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")
	case $cmd in
	*xdpsensor\ run*) kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null ;;
	esac
	SENSOR_PID=
}

# check_summary_line FILE: the sensor's stdout must be exactly one JSON line.
check_summary_line() {
	local n
	n=$(grep -c . "$1")
	[ "$n" -eq 1 ] || fail "stdout has $n lines, not one summary line: $(head -c 300 "$1")"
}

# stats_json IFACE: one line of `xdpsensor stats --json`.
stats_json() { "$XS" stats -i "$1" --json 2>/dev/null; }

# json_get FIELD: reads one JSON object on stdin, prints FIELD (or nothing).
json_get() {
	python3 -c 'import json,sys
try:
    print(json.loads(sys.stdin.read()).get(sys.argv[1], ""))
except ValueError:
    pass' "$1"
}

# wait_stats IFACE SECS EXPR: until the python expression EXPR over the
# stats (a dict s) is true; prints the last stats line.
wait_stats() {
	local ifname=$1 secs=$2 expr=$3 i s
	for ((i = 0; i < secs * 5; i++)); do
		s=$(stats_json "$ifname")
		if [ -n "$s" ] && python3 -c "import json, sys
s = json.loads(sys.argv[1])
sys.exit(0 if ($expr) else 1)" "$s"; then
			echo "$s"
			return 0
		fi
		sleep 0.2
	done
	echo "$s"
	return 1
}

# ------------------------------------------------------------------ leftovers

# iface_settings IFACE: the settings a run may change (offloads), sorted.
iface_settings() { ethtool -k "$1" 2>&1 | sort; }

# check_clean IFACE SETTINGS_FILE: adds a problem for everything a run
# left behind: an XDP program, pins, the state and lock files, changed offloads.
check_clean() {
	local ifname=$1 before=$2 d
	if ip -d link show dev "$ifname" 2>/dev/null | grep -q "prog/xdp"; then
		fail "an XDP program is still attached to $ifname:" \
			"$(ip -d link show dev "$ifname" | grep -o 'prog/xdp.*')"
	fi
	[ ! -e "$PIN_ROOT/$ifname" ] ||
		fail "$PIN_ROOT/$ifname is still there: $(ls "$PIN_ROOT/$ifname" | tr '\n' ' ')"
	[ ! -e "$STATE_DIR/$ifname.offloads" ] || fail "$STATE_DIR/$ifname.offloads is still there"
	[ ! -e "$STATE_DIR/$ifname.lock" ] || fail "$STATE_DIR/$ifname.lock is still there"
	for d in "$STATE_DIR" "$KEEP_FALLBACK"; do # the sockets' UMEM files
		! compgen -G "$d/$ifname.q*.umem" >/dev/null ||
			fail "a UMEM file is still there: $(compgen -G "$d/$ifname.q*.umem" | tr '\n' ' ')"
	done
	d=$(diff "$before" <(iface_settings "$ifname")) ||
		fail "offloads of $ifname differ from before: $(echo "$d" | grep '^[<>]' | tr '\n' ' ')"
}

# has_xdp_prog IFACE: is any XDP program attached?
has_xdp_prog() { ip -d link show dev "$1" 2>/dev/null | grep -q "prog/xdp"; }

# Leaves nothing of ours on IFACE, whatever happened (cleanup path).
# `detach` also works on a vanished interface: it removes pins and state.
scrub_iface() {
	local ifname=$1
	"$XS" detach -i "$ifname" --force >/dev/null 2>&1
	if [ -e "/sys/class/net/$ifname" ]; then
		ip link set dev "$ifname" xdp off 2>/dev/null
		ip link set dev "$ifname" xdpgeneric off 2>/dev/null
	fi
	rm -f "/sys/fs/bpf/xs-e2e-foreign-$$"
	return 0
}

# attach_foreign IFACE OBJ: attaches the XDP program of OBJ in generic
# mode, as another tool would. With bpftool, not `ip link ... obj`, which
# leaves /sys/fs/bpf/{tc,ip,xdp} behind; the temporary pin goes at once.
attach_foreign() {
	local pin=/sys/fs/bpf/xs-e2e-foreign-$$ err=0
	bpftool prog load "$2" "$pin" type xdp || return 1
	bpftool net attach xdpgeneric pinned "$pin" dev "$1" || err=1
	rm -f "$pin"
	return $err
}

# xdp_prog_name IFACE: the name of the XDP program attached, or nothing.
xdp_prog_name() {
	ip -d link show dev "$1" 2>/dev/null |
		sed -n 's/.*prog\/xdp id [0-9]* name \([^ ]*\).*/\1/p' | head -n 1
}

# free_port: a TCP port of 127.0.0.1 that nothing uses now, below Linux's
# ephemeral range (so no outgoing connection takes it meanwhile).
free_port() {
	python3 -c 'import random, socket
for _ in range(500):
    p = random.randint(20000, 31999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break'
}
