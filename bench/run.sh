#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# bench/run.sh: the benchmark driver (make bench, make bench-quick).
#
# Builds two network namespaces joined by a veth pair: xs-gen sends from
# one end, a variant (bench/variants.conf) receives on the other. Variants
# run interleaved (A B C A B C ...) in three phases:
#   max     xs-gen at its maximum rate, --trials times
#   common  xs-gen paced at --common-rate: CPU per delivered packet
#   search  binary search of the highest zero-loss paced rate
# and "alone" variants (kafka-alone) run --trials times in the max phase;
# "paced" ones (kafka-alone -r) in the common phase, at the common rate.
# Per trial: generator pps, the receiver's count, loss, system-wide and
# per-core busy time (/proc/stat: wall time minus idle time), the
# receiver's CPU (all its threads, /proc/PID/task/*/schedstat: exact) and
# perf cycles when the PMU is available.
#
# Output: --out/raw.jsonl (one JSON line per trial) and --out/results.md
# (a markdown fragment). Needs root. Cleans up namespaces, veths, attached
# programs, the broker and every process it started, on any exit.
#
# Note: on a veth pair the receiver's kernel work (XDP, the AF_XDP copy,
# the stack under libpcap) runs on the SENDER's CPU, so a costlier receive
# path also slows the generator; the busy time of both cores shows it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

usage() {
	cat <<'EOF'
usage: bench/run.sh [options]
  --quick              fewer trials and packets: under a minute
  --variants LIST      comma list of variant names (default: all in the file)
  --variants-file F    variant definitions (default bench/variants.conf)
  --phases LIST        any of max,common,search (default all three)
  --trials N           max-rate trials per variant (default 5, quick 1)
  --common-trials N    trials at the common rate (default 3, quick 1)
  --count N            packets per max-rate trial (default 2M, quick 300k)
  --search-count N     packets per search probe (default 1M, quick 150k)
  --search-steps N     binary search steps (default 7, quick 3; 0: no search)
  --common-rate PPS    offered rate for CPU per packet (default 200k)
  --common-secs S      seconds of traffic per common-rate trial (default 2,
                       quick 1)
  --size S             64..1518 or imix (default 64)
  --flows N            distinct flows (default 1024)
  --partitions N       partitions of the Kafka topics (default 2)
  --gen-mode MODE      xs-gen backend: xdp (AF_XDP TX) or packet (AF_PACKET)
                       (default xdp)
  --gen-cpu N          CPU of the generator (default 0)
  --broker-cpu N       pin the Kafka broker (all its threads) to CPU N
                       (default: not pinned, the scheduler places it)
  --reference NAME     variant whose CPU per packet the others are compared
                       with (default ceiling)
  --rx-cpu N           CPU of the receiver (default 1)
  --rx-cpu-limit PCT   give the receiver (all its threads) at most PCT % of
                       a CPU (a cgroup's CPU quota, 10 ms periods): a
                       CPU-bound regime, where the zero-loss rate shows the
                       receive path's cost and not the generator's reach
  --settle S           seconds between generator end and receiver stop
                       (default 0.5)
  --build DIR          build dir, {build} (default build)
  --bin DIR            bench binaries, {bin} (default BUILD/bench)
  --out DIR            where raw.jsonl and results.md go (default BUILD/bench)
  -v, --verbose        show each command
  -h, --help
EOF
}

# --- options -------------------------------------------------------------

quick=0 verbose=0
variants_file=$here/variants.conf
only_variants='' phases=max,common,search
trials='' common_trials='' count='' search_count='' search_steps='' common_secs=''
common_rate=200000 size=64 flows=1024 partitions=2
gen_cpu=0 rx_cpu=1 rx_cpu_limit='' settle=0.5 gen_mode=xdp reference=ceiling broker_cpu=''
build_dir='' bin_dir='' out_dir=''

while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--variants) only_variants=$2; shift ;;
	--variants-file) variants_file=$2; shift ;;
	--phases) phases=$2; shift ;;
	--trials) trials=$2; shift ;;
	--common-trials) common_trials=$2; shift ;;
	--count) count=$2; shift ;;
	--search-count) search_count=$2; shift ;;
	--search-steps) search_steps=$2; shift ;;
	--common-rate) common_rate=$2; shift ;;
	--common-secs) common_secs=$2; shift ;;
	--size) size=$2; shift ;;
	--flows) flows=$2; shift ;;
	--partitions) partitions=$2; shift ;;
	--gen-cpu) gen_cpu=$2; shift ;;
	--gen-mode) gen_mode=$2; shift ;;
	--reference) reference=$2; shift ;;
	--broker-cpu) broker_cpu=$2; shift ;;
	--rx-cpu) rx_cpu=$2; shift ;;
	--rx-cpu-limit) rx_cpu_limit=$2; shift ;;
	--settle) settle=$2; shift ;;
	--build) build_dir=$2; shift ;;
	--bin) bin_dir=$2; shift ;;
	--out) out_dir=$2; shift ;;
	-v | --verbose) verbose=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

# k/M suffixes, as the tools take them
num() {
	awk -v s="$1" 'BEGIN {
		m = 1; c = substr(s, length(s));
		if (c == "k" || c == "K") m = 1e3; else if (c == "M" || c == "m") m = 1e6;
		if (m > 1) s = substr(s, 1, length(s) - 1);
		if (s !~ /^[0-9]+(\.[0-9]+)?$/) exit 1;
		printf "%d\n", s * m }' || { echo "run.sh: bad number '$1'" >&2; exit 2; }
}

if ((quick)); then
	: "${trials:=1}" "${common_trials:=1}" "${count:=300k}" "${search_count:=150k}"
	: "${search_steps:=3}" "${common_secs:=1}"
else
	: "${trials:=5}" "${common_trials:=3}" "${count:=2M}" "${search_count:=1M}"
	: "${search_steps:=7}" "${common_secs:=2}"
fi
count=$(num "$count") search_count=$(num "$search_count") common_rate=$(num "$common_rate")

cd "$root"
build_dir=$(realpath -m "${build_dir:-build}")
bin_dir=$(realpath -m "${bin_dir:-$build_dir/bench}")
out_dir=$(realpath -m "${out_dir:-$build_dir/bench}")

case $size in
imix) frame_len=350 ;; # mean of 7x60, 4x572, 1x1496 (sizes minus FCS)
*) frame_len=$((size - 4)) ;;
esac

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
vlog() { if ((verbose)); then log "$*"; fi; }

(($(id -u) == 0)) || die "needs root (network namespaces, XDP, AF_XDP)"
[[ -r $variants_file ]] || die "no variants file $variants_file"
[[ -x $bin_dir/xs-gen ]] || die "$bin_dir/xs-gen missing: make bench-build"
ncpu=$(nproc)
((gen_cpu < ncpu && rx_cpu < ncpu)) || die "CPUs $gen_cpu/$rx_cpu: this machine has $ncpu"
[[ -z $rx_cpu_limit || $rx_cpu_limit =~ ^[1-9][0-9]?$ ]] ||
	die "--rx-cpu-limit $rx_cpu_limit: a percentage of one CPU, 1 to 99"

# --- variants --------------------------------------------------------------

declare -a V_NAME=() V_FLAGS=() V_FIELD=() V_CMD=()
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; s=${s%"${s##*[![:space:]]}"}; printf '%s' "$s"; }

while IFS= read -r line || [[ -n $line ]]; do
	[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
	IFS='|' read -r n f fld cmd <<<"$line"
	n=$(trim "$n") f=$(trim "$f") fld=$(trim "$fld") cmd=$(trim "$cmd")
	[[ $n =~ ^[a-z0-9-]+$ && -n $fld && -n $cmd ]] ||
		die "$variants_file: bad line: $line"
	V_NAME+=("$n") V_FLAGS+=(",$f,") V_FIELD+=("$fld") V_CMD+=("$cmd")
done <"$variants_file"

has_flag() { [[ ${V_FLAGS[$1]} == *",$2,"* ]]; }
flag_value() { # flag_value IDX NAME: the S of NAME=S
	local f=${V_FLAGS[$1]}
	[[ $f == *",$2="* ]] || return 1
	f=${f#*",$2="}
	printf '%s' "${f%%,*}"
}

declare -a SEL=()
if [[ -n $only_variants ]]; then
	IFS=, read -ra want <<<"$only_variants"
	for w in "${want[@]}"; do
		found=0
		for i in "${!V_NAME[@]}"; do
			[[ ${V_NAME[$i]} == "$w" ]] && SEL+=("$i") && found=1
		done
		((found)) || die "no variant '$w' in $variants_file"
	done
else
	SEL=("${!V_NAME[@]}")
fi

# --- state and cleanup -------------------------------------------------------

tag=$$
gen_ns=xsb-gen-$tag rx_ns=xsb-rx-$tag
gen_if=gen0 rx_if=rx0
gen_mac=02:00:00:00:00:01 rx_mac=02:00:00:00:00:02
tmp=$(mktemp -d -t xsbench.XXXXXX)
kafka_dir='' brokers='' rx_pid='' perf_pid='' made_ns=0 rx_cgroup=''

cleanup() {
	local rc=$?
	# finish the cleanup whatever happens: a second Ctrl-C or a failing
	# command must not leave namespaces, programs or the broker behind
	trap - EXIT
	trap '' INT TERM
	set +e
	if [[ -n $perf_pid ]]; then kill -INT "$perf_pid" 2>/dev/null || true; fi
	if [[ -n $rx_pid ]] && kill -0 "$rx_pid" 2>/dev/null; then
		kill -INT "$rx_pid" 2>/dev/null || true
		for _ in {1..50}; do kill -0 "$rx_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$rx_pid" 2>/dev/null || true
	fi
	if [[ -n $kafka_dir ]]; then
		ip netns exec "$rx_ns" "$root/tests/kafka/broker.sh" stop "$kafka_dir" \
			>/dev/null 2>&1 || log "could not stop the broker in $kafka_dir"
	fi
	if ((made_ns)); then
		local ns pids
		for ns in "$gen_ns" "$rx_ns"; do
			# only processes of our own namespaces: ours
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			# shellcheck disable=SC2086  # a list of pids
			if [[ -n $pids ]]; then kill -KILL $pids 2>/dev/null || true; fi
			ip netns del "$ns" 2>/dev/null || true
		done
	fi
	if [[ -n $rx_cgroup ]]; then # empty once the processes killed above are gone
		for _ in {1..30}; do rmdir "$rx_cgroup" 2>/dev/null && break; sleep 0.1; done
		[[ ! -d $rx_cgroup ]] || log "could not remove $rx_cgroup"
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'exit 143' TERM

# --- the wire ----------------------------------------------------------------

setup_net() {
	ip netns add "$gen_ns"
	made_ns=1
	ip netns add "$rx_ns"
	ip link add "xsbg$tag" netns "$gen_ns" type veth peer name "xsbr$tag" netns "$rx_ns"
	ip -n "$gen_ns" link set "xsbg$tag" name "$gen_if" address "$gen_mac"
	ip -n "$rx_ns" link set "xsbr$tag" name "$rx_if" address "$rx_mac"
	local ns
	for ns in "$gen_ns" "$rx_ns"; do
		# no IPv6 autoconfiguration, router solicitations or MLD on the wire
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$gen_ns" link set "$gen_if" up
	ip -n "$rx_ns" link set "$rx_if" up
}

# The receiver's CPU quota (--rx-cpu-limit): a cgroup of its own, v2 where
# the unified hierarchy has the cpu controller, else v1's cpu hierarchy.
# Sets rx_cgroup.
setup_cpu_limit() {
	local period=10000 quota=$((rx_cpu_limit * 100)) v2
	for v2 in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[[ -r $v2/cgroup.controllers && " $(<"$v2/cgroup.controllers") " == *" cpu "* ]] || continue
		# enabled for the children of the root only if it is not yet (left so:
		# systemd's hosts have it on already)
		if [[ " $(<"$v2/cgroup.subtree_control") " != *" cpu "* ]]; then
			echo +cpu >"$v2/cgroup.subtree_control" 2>/dev/null || continue
			log "enabled the cpu controller in $v2/cgroup.subtree_control"
		fi
		rx_cgroup=$v2/xsbench-$tag
		mkdir "$rx_cgroup"
		echo "$quota $period" >"$rx_cgroup/cpu.max"
		return
	done
	[[ -w /sys/fs/cgroup/cpu/cgroup.procs ]] ||
		die "--rx-cpu-limit: no cgroup cpu controller (v2 or v1) to set a quota with"
	rx_cgroup=/sys/fs/cgroup/cpu/xsbench-$tag
	mkdir "$rx_cgroup"
	echo "$period" >"$rx_cgroup/cpu.cfs_period_us"
	echo "$quota" >"$rx_cgroup/cpu.cfs_quota_us"
}

# --- measurements --------------------------------------------------------------

# What the veth pair itself dropped (its ring full: the receive side's XDP
# or NAPI could not keep up), both ends.
veth_dropped() {
	local a b
	a=$(ip netns exec "$gen_ns" cat "/sys/class/net/$gen_if/statistics/tx_dropped")
	b=$(ip netns exec "$rx_ns" cat "/sys/class/net/$rx_if/statistics/rx_dropped")
	echo $((a + b))
}

clk_tck=$(getconf CLK_TCK)
tick_ns=$((1000000000 / clk_tck))

# "t_ns idle_all idle_cpuG idle_cpuR": a clock and the idle+iowait jiffies
# of /proc/stat. Busy time is taken as wall time minus idle time: the idle
# time is measured (NO_HZ), while the user/system/softirq columns are tick
# samples that miss short bursts of work.
cpu_snapshot() {
	local t
	t=$(date +%s%N)
	awk -v t="$t" -v g="cpu$gen_cpu" -v r="cpu$rx_cpu" '
		$1 == "cpu" { a = $5 + $6 } $1 == g { gi = $5 + $6 } $1 == r { ri = $5 + $6 }
		END { print t, a, gi, ri }' /proc/stat
}

# busy_ns T0 T1 IDLE0 IDLE1 NCPU: busy ns of NCPU CPUs over the window
busy_ns() { echo $(( (($2 - $1) * $5) - ($4 - $3) * tick_ns )); }

# CPU time of every thread of a process, ns (sum_exec_runtime: exact)
proc_cpu() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'
}

# first numeric value of "key": in a flat JSON line
jget() {
	awk -v k="\"$2\":" '{
		i = index($0, k); if (!i) exit
		s = substr($0, i + length(k))
		if (match(s, /^-?[0-9.eE+]+/)) print substr(s, 1, RLENGTH)
		exit }' <<<"$1"
}

perf_ok=0
perf_events=${BENCH_PERF_EVENTS:-cycles,instructions}
# (output to a variable first: `perf | grep -q` fails by SIGPIPE under pipefail)
if command -v perf >/dev/null; then
	perf_probe=$(perf stat -x, -e "$perf_events" true 2>&1) || perf_probe='not supported'
	[[ $perf_probe == *"not supported"* || $perf_probe == *"not counted"* ]] || perf_ok=1
fi

subst() { # subst TEMPLATE IDX
	local c=$1 topic=xsbench-${V_NAME[$2]}
	c=${c//\{iface\}/$rx_if} c=${c//\{brokers\}/$brokers} c=${c//\{topic\}/$topic}
	c=${c//\{bin\}/$bin_dir} c=${c//\{build\}/$build_dir} c=${c//\{root\}/$root}
	c=${c//\{count\}/$count} c=${c//\{flows\}/$flows} c=${c//\{size\}/$size}
	c=${c//\{frame_len\}/$frame_len} c=${c//\{cpu\}/$rx_cpu} c=${c//\{rate\}/${pace_rate:-0}}
	printf '%s' "$c"
}

# start_rx IDX: starts the variant in the receiver netns; sets rx_pid
start_rx() {
	local i=$1 cmd
	cmd=$(subst "${V_CMD[$i]}" "$i")
	vlog "rx: $cmd"
	: >"$tmp/rx.out"
	: >"$tmp/rx.err"
	# ip netns exec, taskset and sh all exec: $! is the variant's own pid.
	# ip netns exec gives it a private mount namespace: the bpffs is its own.
	ip netns exec "$rx_ns" taskset -c "$rx_cpu" sh -c \
		'mount -t bpf bpf /sys/fs/bpf 2>/dev/null; exec '"$cmd" \
		>"$tmp/rx.out" 2>"$tmp/rx.err" </dev/null &
	rx_pid=$!
	# into the quota's cgroup at once, from here (ip netns exec mounts a
	# sysfs without it): the threads it starts later are in it too
	if [[ -n $rx_cgroup ]] && ! echo "$rx_pid" 2>/dev/null >"$rx_cgroup/cgroup.procs"; then
		if kill -0 "$rx_pid" 2>/dev/null; then die "cannot put the receiver in $rx_cgroup"; fi
	fi
}

# wait_ready IDX: 0 when the variant says it is ready, 1 if it died
wait_ready() {
	local i=$1 s text deadline=$((SECONDS + 60))
	if s=$(flag_value "$i" sleep); then
		sleep "$s"
		kill -0 "$rx_pid" 2>/dev/null
		return
	fi
	text=$(flag_value "$i" ready) || text=
	while :; do
		if [[ -z $text ]]; then
			grep -qx ready "$tmp/rx.err" && return 0
		else
			grep -qF -- "$text" "$tmp/rx.out" "$tmp/rx.err" && return 0
		fi
		kill -0 "$rx_pid" 2>/dev/null || return 1
		((SECONDS < deadline)) || { log "no ready line from ${V_NAME[$i]} in 60 s"; return 1; }
		sleep 0.05
	done
}

# stop_rx: SIGINT, then wait for the JSON line (Kafka variants flush)
stop_rx() {
	local i
	kill -INT "$rx_pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		kill -0 "$rx_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$rx_pid" 2>/dev/null; then
		log "receiver $rx_pid still running 60 s after SIGINT: killing it"
		kill -KILL "$rx_pid" 2>/dev/null || true
	fi
	wait "$rx_pid" 2>/dev/null || true
	rx_pid=
}

rx_json() { grep '^{' "$tmp/rx.out" | tail -n1 || true; }

fail_trial() { # fail_trial IDX PHASE WHY
	log "${V_NAME[$1]} ($2): $3"
	if [[ -s $tmp/rx.err ]]; then sed 's/^/    /' "$tmp/rx.err" | tail -n 15 >&2; fi
	printf '{"phase":"%s","variant":"%s","failed_trial":"%s"}\n' "$2" "${V_NAME[$1]}" \
		"${3//\"/\'}" >>"$raw"
}

# traffic_trial IDX PHASE TRIAL RATE COUNT: one receiver run; appends a raw
# line; sets T_OFFERED T_GOT T_LOSS T_PPS T_OK (0: the trial failed)
traffic_trial() {
	local i=$1 phase=$2 trial=$3 rate=$4 n=$5 gen_json rxj got offered loss
	local p0 p1 t0 t1 perf_json='' rate_opt=() a0 g0 r0 a1 g1 r1 sys gb rb gp other v0 v1
	T_OK=0 T_PPS=0 T_LOSS=0
	start_rx "$i"
	if ! wait_ready "$i"; then
		stop_rx
		fail_trial "$i" "$phase" "receiver did not start"
		return
	fi
	((rate > 0)) && rate_opt=(-r "$rate")
	if ((perf_ok)); then
		# system-wide, no workload: counts until SIGINT
		perf stat -x, -a -A -e "$perf_events" -o "$tmp/perf.txt" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	v0=$(veth_dropped)
	p0=$(proc_cpu "$rx_pid")
	read -r t0 a0 g0 r0 < <(cpu_snapshot)
	gen_json=$(ip netns exec "$gen_ns" "$bin_dir/xs-gen" -i "$gen_if" -m "$rx_mac" \
		-M "$gen_mode" -n "$n" "${rate_opt[@]}" -s "$size" -f "$flows" -c "$gen_cpu" \
		2>"$tmp/gen.err" | tail -n1) || true
	if [[ -s $tmp/gen.err ]]; then sed 's/^/    xs-gen: /' "$tmp/gen.err" >&2; fi
	sleep "$settle"
	read -r t1 a1 g1 r1 < <(cpu_snapshot)
	p1=$(proc_cpu "$rx_pid")
	v1=$(veth_dropped)
	sys=$(busy_ns "$t0" "$t1" "$a0" "$a1" "$ncpu")
	gb=$(busy_ns "$t0" "$t1" "$g0" "$g1" 1)
	rb=$(busy_ns "$t0" "$t1" "$r0" "$r1" 1)
	if [[ -n $perf_pid ]]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
		perf_pid=
		perf_json=$(awk -F, -v g="CPU$gen_cpu" -v r="CPU$rx_cpu" '
			$1 == g || $1 == r { k = ($1 == g ? "gen" : "rx") "_" $4; gsub(/[^a-z_]/, "_", k)
				printf ",\"perf_%s\":%s", k, ($2 ~ /^[0-9.]+$/ ? $2 : "null") }' \
			"$tmp/perf.txt" 2>/dev/null || true)
	fi
	stop_rx
	rxj=$(rx_json)
	got=$(jget "$rxj" "${V_FIELD[$i]}")
	offered=$(jget "$gen_json" attempted)
	if [[ -z $got || -z $offered ]]; then
		fail_trial "$i" "$phase" "no result (field ${V_FIELD[$i]} / generator output)"
		return
	fi
	got=${got%.*}
	loss=$((offered - got))
	T_LOSS=$loss T_PPS=$(jget "$gen_json" attempted_pps) T_OK=1
	# CPU nobody of ours used in the window: the other work on the machine
	gp=$(($(jget "$gen_json" cpu_user_ns) + $(jget "$gen_json" cpu_sys_ns)))
	other=$((sys - gp - (p1 - p0)))
	((other > 0)) || other=0
	printf '{"phase":"%s","variant":"%s","trial":%s,"rate":%s,"offered":%s,"got":%s,"loss":%s,"gen_pps":%s,"wall_ns":%s,"ncpu":%s,"sys_busy_ns":%s,"gen_cpu_busy_ns":%s,"rx_cpu_busy_ns":%s,"gen_proc_ns":%s,"rx_proc_ns":%s,"other_busy_ns":%s,"veth_dropped":%s%s,"gen":%s,"rx":%s}\n' \
		"$phase" "${V_NAME[$i]}" "$trial" "$rate" "$offered" "$got" "$loss" "$T_PPS" \
		$((t1 - t0)) "$ncpu" "$sys" "$gb" "$rb" "$gp" $((p1 - p0)) "$other" $((v1 - v0)) "$perf_json" \
		"$gen_json" "$rxj" >>"$raw"
	log "$(printf '%-14s %-6s #%-2s rate %-8s offered %-8s got %-8s loss %-7s gen %s pps' \
		"${V_NAME[$i]}" "$phase" "$trial" "${rate/#0/max}" "$offered" "$got" "$loss" "$T_PPS")"
}

# alone_trial IDX TRIAL
alone_trial() {
	local i=$1 trial=$2 rxj got el t0 t1 a0 a1 _g _r
	start_rx "$i"
	read -r t0 a0 _g _r < <(cpu_snapshot)
	wait "$rx_pid" 2>/dev/null || true
	read -r t1 a1 _g _r < <(cpu_snapshot)
	rx_pid=
	rxj=$(rx_json)
	got=$(jget "$rxj" "${V_FIELD[$i]}")
	el=$(jget "$rxj" elapsed_ns)
	if [[ -z $got || -z $el ]]; then
		fail_trial "$i" max "no result"
		return
	fi
	printf '{"phase":"max","variant":"%s","trial":%s,"got":%s,"elapsed_ns":%s,"rps":%s,"sys_busy_ns":%s,"rx":%s}\n' \
		"${V_NAME[$i]}" "$trial" "$got" "$el" \
		"$(awk -v g="$got" -v e="$el" 'BEGIN { printf "%.0f", (e > 0 ? g * 1e9 / e : 0) }')" \
		"$(busy_ns "$t0" "$t1" "$a0" "$a1" "$ncpu")" "$rxj" >>"$raw"
	log "$(printf '%-14s max    #%-2s %s records in %s ns' "${V_NAME[$i]}" "$trial" "$got" "$el")"
}

# paced_trial IDX TRIAL RATE COUNT: a paced variant produces COUNT records
# at RATE, prints its line after the last delivery report and waits for
# SIGINT: its CPU up to that line, per record, as a receiver's at the
# common rate (subst reads pace_rate and count from here)
paced_trial() {
	local i=$1 trial=$2 pace_rate=$3 count=$4 rxj got p0 p1 t0 t1 a0 a1 _g _r
	start_rx "$i"
	if ! wait_ready "$i"; then
		stop_rx
		fail_trial "$i" common "did not start"
		return
	fi
	p0=$(proc_cpu "$rx_pid")
	read -r t0 a0 _g _r < <(cpu_snapshot)
	while ! grep -q '^{' "$tmp/rx.out" && kill -0 "$rx_pid" 2>/dev/null; do sleep 0.05; done
	read -r t1 a1 _g _r < <(cpu_snapshot)
	p1=$(proc_cpu "$rx_pid")
	stop_rx
	rxj=$(rx_json)
	got=$(jget "$rxj" "${V_FIELD[$i]}")
	if [[ -z $got || -z $p1 ]]; then
		fail_trial "$i" common "no result"
		return
	fi
	printf '{"phase":"common","variant":"%s","trial":%s,"rate":%s,"offered":%s,"got":%s,"loss":%s,"wall_ns":%s,"ncpu":%s,"sys_busy_ns":%s,"rx_proc_ns":%s,"rx":%s}\n' \
		"${V_NAME[$i]}" "$trial" "$pace_rate" "$count" "$got" $((count - got)) $((t1 - t0)) \
		"$ncpu" "$(busy_ns "$t0" "$t1" "$a0" "$a1" "$ncpu")" $((p1 - p0)) "$rxj" >>"$raw"
	log "$(printf '%-14s common #%-2s rate %-8s %s records' "${V_NAME[$i]}" "$trial" "$pace_rate" "$got")"
}

# --- statistics --------------------------------------------------------------

kfmt() { awk -v v="$1" 'BEGIN { if (v >= 1e6) printf "%.2fM", v / 1e6; else printf "%.0fk", v / 1e3 }'; }

# stat PHASE VARIANT EXPR [median]: "median [min–max]" (or the bare median)
# of a named quantity over the raw lines of that phase and variant
stat() {
	awk -v pat="\"phase\":\"$1\",\"variant\":\"$2\"," -v expr="$3" -v mode="${4:-}" '
		function f(k) {
			if (!match($0, "\"" k "\":-?[0-9.eE+]+")) return 0
			return substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) + 0
		}
		function fmt(v) {
			if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
			if (v >= 1e4) return sprintf("%.0fk", v / 1e3)
			if (v >= 99.5) return sprintf("%.0f", v)
			if (v >= 10 || v <= -10) return sprintf("%.1f", v)
			return sprintf("%.2g", v)
		}
		!index($0, pat) || index($0, "\"failed_trial\"") { next }
		{
			got = f("got")
			if (expr == "rx_pps") v = f("offered") ? got * f("gen_pps") / f("offered") : 0
			else if (expr == "loss_pct") v = f("offered") ? 100 * f("loss") / f("offered") : 0
			else if (expr == "sys_ns_pkt") v = got ? f("sys_busy_ns") / got : 0
			else if (expr == "rxcore_ns_pkt") v = got ? f("rx_cpu_busy_ns") / got : 0
			else if (expr == "proc_ns_pkt") v = got ? f("rx_proc_ns") / got : 0
			else if (expr == "procs_ns_pkt") v = got ? (f("gen_proc_ns") + f("rx_proc_ns")) / got : 0
			else if (expr == "proc_pct") v = 100 * f("rx_proc_ns") / f("wall_ns")
			else if (expr == "other_pct") v = 100 * f("other_busy_ns") / f("wall_ns") / f("ncpu")
			else v = f(expr)
			# insertion sort: mawk has no asort()
			for (j = n++; j > 0 && x[j - 1] > v; j--) x[j] = x[j - 1]
			x[j] = v
		}
		END {
			if (!n) { print "–"; exit }
			med = n % 2 ? x[(n - 1) / 2] : (x[n / 2 - 1] + x[n / 2]) / 2
			if (mode == "median") { print med; exit }
			if (n == 1) print fmt(med)
			else printf "%s [%s–%s]\n", fmt(med), fmt(x[0]), fmt(x[n - 1])
		}' "$raw"
}

# --- run ---------------------------------------------------------------------

mkdir -p "$out_dir"
raw=$out_dir/raw.jsonl results=$out_dir/results.md
: >"$raw"

declare -A SKIP=() ZL=() ZL_PRE=() ZL_NOTE=()
need_kafka=0
for i in "${SEL[@]}"; do
	prog=$(subst "${V_CMD[$i]}" "$i")
	prog=${prog%% *}
	if [[ ! -x $prog ]]; then
		if has_flag "$i" optional; then
			SKIP[$i]="$prog not built"
			log "skipping ${V_NAME[$i]}: $prog not built"
			continue
		fi
		die "${V_NAME[$i]}: $prog missing (make bench-build)"
	fi
	has_flag "$i" kafka && need_kafka=1
done

start_ts=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
read -r t0 a0 _ < <(cpu_snapshot)
sleep 1
read -r t1 a1 _ < <(cpu_snapshot)
idle_busy_pct=$(awk -v b="$(busy_ns "$t0" "$t1" "$a0" "$a1" "$ncpu")" -v w=$((t1 - t0)) -v n="$ncpu" \
	'BEGIN { printf "%.0f", 100 * b / w / n }')
log "machine busy ${idle_busy_pct}% before the run (load $load0); perf counters: $( ((perf_ok)) && echo yes || echo no)"
if ((idle_busy_pct > 10)); then
	log "warning: the machine is ${idle_busy_pct}% busy without us: results will be noisy"
fi

setup_net
if [[ -n $rx_cpu_limit ]]; then
	setup_cpu_limit
	log "the receiver gets at most $rx_cpu_limit% of CPU $rx_cpu ($rx_cgroup)"
fi

if ((need_kafka)); then
	if [[ ! -x $root/tests/kafka/broker.sh ]]; then
		for i in "${SEL[@]}"; do
			has_flag "$i" kafka && SKIP[$i]="no tests/kafka/broker.sh"
		done
		log "no tests/kafka/broker.sh: skipping the Kafka variants"
	else
		kafka_dir=$tmp/kafka
		log "starting a Kafka broker in $rx_ns"
		# the broker lives in the receiver netns: 127.0.0.1 there
		if brokers=$(ip netns exec "$rx_ns" "$root/tests/kafka/broker.sh" start "$kafka_dir" \
			2>"$tmp/broker.err"); then
			if [[ -n $broker_cpu ]]; then
				taskset -a -p -c "$broker_cpu" "$(<"$kafka_dir/pid")" >/dev/null ||
					log "could not pin the broker to CPU $broker_cpu"
			fi
			# a cold broker (JIT, page cache) halves the first trials' rate
			if [[ -x $bin_dir/kafka-alone ]]; then
				log "warming the broker up"
				ip netns exec "$rx_ns" "$bin_dir/kafka-alone" -b "$brokers" -t xsbench-warmup \
					-n $((count < 1000000 ? count : 1000000)) >/dev/null 2>>"$tmp/broker.err" ||
					log "broker warm-up failed (see the first trials with suspicion)"
			fi
			for i in "${SEL[@]}"; do
				has_flag "$i" kafka || continue
				[[ -n ${SKIP[$i]:-} ]] && continue
				ip netns exec "$rx_ns" "$root/tests/kafka/broker.sh" create-topic \
					"$kafka_dir" "xsbench-${V_NAME[$i]}" "$partitions" 2>>"$tmp/broker.err" ||
					SKIP[$i]="topic creation failed"
			done
		else
			tail -n 5 "$tmp/broker.err" >&2
			kafka_dir=
			for i in "${SEL[@]}"; do
				has_flag "$i" kafka && SKIP[$i]="broker did not start"
			done
		fi
	fi
fi

active=()
for i in "${SEL[@]}"; do [[ -z ${SKIP[$i]:-} ]] && active+=("$i"); done
traffic=()
for i in "${active[@]}"; do has_flag "$i" traffic && traffic+=("$i"); done

# phase 1: max rate, interleaved
if [[ ,$phases, == *,max,* ]]; then
	for ((t = 1; t <= trials; t++)); do
		for i in "${active[@]}"; do
			if has_flag "$i" alone; then
				alone_trial "$i" "$t"
			elif has_flag "$i" traffic; then
				traffic_trial "$i" max "$t" 0 "$count"
			fi
		done
	done
fi

# phase 2: the common offered rate
if [[ ,$phases, == *,common,* ]]; then
	for ((t = 1; t <= common_trials; t++)); do
		for i in "${active[@]}"; do
			if has_flag "$i" paced; then
				paced_trial "$i" "$t" "$common_rate" "$((common_rate * common_secs))"
			elif has_flag "$i" traffic; then
				traffic_trial "$i" common "$t" "$common_rate" "$((common_rate * common_secs))"
			fi
		done
	done
fi

# phase 3: highest zero-loss rate, binary search between 0 and the
# generator's maximum into that receiver, steps interleaved
if [[ ,$phases, == *,search,* ]] && ((search_steps > 0)); then
	declare -A LO=() HI=() BEST=()
	for i in "${traffic[@]}"; do
		hi=$(grep -F "\"phase\":\"max\",\"variant\":\"${V_NAME[$i]}\"," "$raw" | grep -v '"failed_trial"' |
			grep -o '"gen_pps":[0-9]*' | cut -d: -f2 | sort -n | tail -n1 || true)
		if [[ -z $hi ]]; then # no max phase: measure the generator once
			traffic_trial "$i" max 1 0 "$search_count"
			hi=${T_PPS:-0}
		fi
		hi=${hi%.*}
		((hi > 0)) || continue # the receiver never ran: nothing to search
		lossless=$(grep -F "\"phase\":\"max\",\"variant\":\"${V_NAME[$i]}\"," "$raw" |
			grep -c '"loss":\(0\|-[0-9]*\),' || true)
		total=$(grep -F "\"phase\":\"max\",\"variant\":\"${V_NAME[$i]}\"," "$raw" | grep -vc '"failed_trial"' || true)
		if ((total > 0 && lossless == total)); then
			# no loss at the generator's maximum: the generator is the limit
			ZL[$i]=$hi ZL_PRE[$i]="≥ " ZL_NOTE[$i]=" (generator-bound)"
			continue
		fi
		LO[$i]=0 HI[$i]=$hi BEST[$i]=0
	done
	for ((s = 1; s <= search_steps; s++)); do
		for i in "${traffic[@]}"; do
			[[ -n ${HI[$i]:-} ]] || continue
			mid=$(((LO[$i] + HI[$i]) / 2))
			((mid > 0)) || continue
			traffic_trial "$i" search "$s" "$mid" "$search_count"
			((T_OK)) || continue
			if ((T_LOSS <= 0)); then
				LO[$i]=$mid
				pps=${T_PPS%.*}
				((pps > BEST[$i])) && BEST[$i]=$pps
			else
				HI[$i]=$mid
			fi
		done
	done
	for i in "${traffic[@]}"; do
		[[ -n ${HI[$i]:-} ]] || continue
		ZL[$i]=${BEST[$i]} ZL_PRE[$i]=''
		ZL_NOTE[$i]=" (lossy at $(kfmt "${HI[$i]}"))"
	done
fi

# --- report ------------------------------------------------------------------

# Where packets were lost, by the counters each stage keeps (generator,
# AF_XDP socket, libpcap, producer queue, delivery), and the latency from
# capture to delivery report. The veth's own drop counter is shown apart:
# it also counts the frames XDP failed to redirect (a full socket ring).
drop_keys=(tx_dropped rx_dropped rx_ring_full rx_fill_ring_empty_descs
	rx_invalid_descs xsk_rx_dropped xsk_rx_ring_full pcap_drop pcap_ifdrop queue_full
	sink_errors produce_errors failed unflushed)

# The raw line of variant $1's max-rate trial with the median loss: its
# counters add up, where medians taken counter by counter need not.
median_loss_trial() {
	grep -F "\"phase\":\"max\",\"variant\":\"$1\"," "$raw" | grep -vF '"failed_trial"' |
		awk '{ match($0, /"loss":-?[0-9]+/); print substr($0, RSTART + 7, RLENGTH - 7) "\t" $0 }' |
		sort -t$'\t' -n -k1,1 | awk -F'\t' '{ l[NR] = $2 } END { if (NR) print l[int((NR + 1) / 2)] }'
}

# raw_field LINE KEY: the first numeric field KEY of a raw line, or –
raw_field() {
	awk -v k="$2" '{
		if (match($0, "\"" k "\":-?[0-9.eE+]+"))
			print substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) + 0
		else
			print "–"
	}' <<<"$1"
}

loss_table() {
	local i n k v where lost left lat phase line
	printf '\nLoss by stage in the max-rate trials (the trial with the median loss; a counter is listed when not 0; "unaccounted" = lost minus the listed counters; "veth" = the drops the veth pair counted, which include XDP redirects that found the socket ring full) and latency from capture (the packet'"'"'s timestamp) to its delivery report, at the common rate (Kafka alone: produce to report, at full speed):\n\n'
	printf '| variant | lost | where | veth | latency p50 / p99 (ms) |\n|---|---|---|---|---|\n'
	for i in "${SEL[@]}"; do
		n=${V_NAME[$i]}
		[[ -z ${SKIP[$i]:-} ]] || continue
		(($(grep -F "\"variant\":\"$n\"," "$raw" | grep -vc '"failed_trial"' || true))) || continue
		lat=–
		phase=common
		has_flag "$i" alone && phase=max
		if has_flag "$i" kafka; then
			lat=$(awk -v a="$(stat "$phase" "$n" p50 median)" -v b="$(stat "$phase" "$n" p99 median)" \
				'BEGIN { printf "%.2f / %.2f", a / 1000, b / 1000 }')
		fi
		if has_flag "$i" alone || has_flag "$i" paced; then
			printf '| %s | – | – | – | %s |\n' "$n" "$lat"
			continue
		fi
		line=$(median_loss_trial "$n" || true)
		if [[ -z $line ]]; then # no max-rate trials (--phases)
			printf '| %s | – | – | – | %s |\n' "$n" "$lat"
			continue
		fi
		lost=$(raw_field "$line" loss)
		where='' left=$lost
		for k in "${drop_keys[@]}"; do
			v=$(raw_field "$line" "$k")
			[[ $v == – ]] && continue
			awk -v v="$v" 'BEGIN { exit !(v > 0) }' || continue
			where+="${where:+, }$k $v"
			left=$(awk -v a="$left" -v b="$v" 'BEGIN { print a - b }')
		done
		if awk -v a="$left" 'BEGIN { exit !(a > 0) }'; then
			where+="${where:+, }unaccounted $left"
		fi
		printf '| %s | %s | %s | %s | %s |\n' "$n" "$lost" "${where:-–}" \
			"$(raw_field "$line" veth_dropped)" "$lat"
	done
}

elapsed=$(($(date +%s) - start_ts))
{
	printf '### %s — %s, %s B frames, %s flows, kernel %s, %s CPUs (%s)\n\n' \
		"$( ((quick)) && echo "bench-quick" || echo "bench")" "$(date -u +%Y-%m-%dT%H:%MZ)" \
		"$size" "$flows" "$(uname -r)" "$ncpu" \
		"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
	printf 'Generator (xs-gen, %s backend) on CPU %s, receiver on CPU %s%s, veth pair between two netns. ' \
		"$gen_mode" "$gen_cpu" "$rx_cpu" "${rx_cpu_limit:+ (at most $rx_cpu_limit% of it: --rx-cpu-limit)}"
	printf 'Max-rate trials: %s × %s packets; common rate: %s pps, %s trial(s); ' \
		"$trials" "$count" "$common_rate" "$common_trials"
	printf 'zero-loss search: %s steps × %s packets. ' "$search_steps" "$search_count"
	printf 'Machine %s%% busy before the run (load %s); perf counters: %s; run took %s s.\n\n' \
		"$idle_busy_pct" "$load0" "$( ((perf_ok)) && echo yes || echo "not available")" "$elapsed"
	printf 'Cells: median [min–max] over trials. "gen pps" = what the generator achieved into that receiver (its kernel work runs on the generator CPU); "rx pps" = counted/delivered per second of generator time; "ns/pkt" = busy CPU time per counted packet at the common rate: all cores and the receiver core (/proc/stat, wall minus idle, 10 ms resolution, includes whatever else the machine runs), the receiver process (all threads, /proc/PID/task/*/schedstat); "gen+rx" = the CPU time of the generator process (getrusage: its system calls include the receiver'"'"'s kernel work on veth) plus the receiver process, per counted packet: unlike all-core, blind to other people'"'"'s jobs, the broker and kernel threads; "− %s" = that minus the same for %s, i.e. what the receive path costs beyond the generator and an XDP drop. "other load" = busy CPU time that neither the generator nor the receiver process used (kernel threads, the Kafka broker, other people'"'"'s jobs), in %% of the machine, max phase / common phase: above a few %% the trial was disturbed. "zero-loss rate" = the highest paced rate at which the variant counted every packet of a %s-packet run (binary search); a receiver that buffers (libpcap'"'"'s 64 MiB ring holds ~0.5M 64 B frames) hides loss in runs that fit in its buffer.\n\n' "$reference" "$reference" "$search_count"
	r=$(kfmt "$common_rate")
	printf '| variant | max: gen pps | max: rx pps | max: loss %% | zero-loss rate (pps) | @%s: loss %% | @%s: all-core ns/pkt | @%s: gen+rx ns/pkt | @%s: gen+rx ns/pkt − %s | @%s: rx-process ns/pkt | @%s: rx-process CPU %% | other load %% (max / common) |\n' \
		"$r" "$r" "$r" "$r" "$reference" "$r" "$r"
	printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
	ref_ns=$(stat common "$reference" procs_ns_pkt median)
	for i in "${SEL[@]}"; do
		n=${V_NAME[$i]}
		if [[ -n ${SKIP[$i]:-} ]]; then
			printf '| %s | skipped: %s | | | | | | | | | | |\n' "$n" "${SKIP[$i]}"
			continue
		fi
		ok=$(grep -F "\"variant\":\"$n\"," "$raw" | grep -vc '"failed_trial"' || true)
		if ((ok == 0)); then
			printf '| %s | failed: %s | | | | | | | | | | |\n' "$n" \
				"$(grep -F "\"variant\":\"$n\"," "$raw" | grep -o '"failed_trial":"[^"]*"' |
					head -n1 | cut -d'"' -f4)"
			continue
		fi
		if has_flag "$i" alone; then
			printf '| %s | – | %s records/s | – | – | – | %s ns/record | – | – | – | – | – |\n' \
				"$n" "$(stat max "$n" rps)" "$(stat max "$n" sys_ns_pkt)"
			continue
		fi
		if has_flag "$i" paced; then
			printf '| %s | – | – | – | – | %s | – | – | – | %s | %s | – |\n' "$n" \
				"$(stat common "$n" loss_pct)" "$(stat common "$n" proc_ns_pkt)" \
				"$(stat common "$n" proc_pct)"
			continue
		fi
		zl=–
		if [[ -n ${ZL[$i]:-} ]]; then
			zl="${ZL_PRE[$i]}$(kfmt "${ZL[$i]}")${ZL_NOTE[$i]}"
		fi
		delta=–
		v_ns=$(stat common "$n" procs_ns_pkt median)
		if [[ $ref_ns != – && $v_ns != – ]]; then
			delta=$(awk -v a="$v_ns" -v b="$ref_ns" 'BEGIN { printf "%+.0f", a - b }')
		fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
			"$(stat max "$n" gen_pps)" "$(stat max "$n" rx_pps)" "$(stat max "$n" loss_pct)" \
			"$zl" "$(stat common "$n" loss_pct)" "$(stat common "$n" sys_ns_pkt)" \
			"$(stat common "$n" procs_ns_pkt)" "$delta" "$(stat common "$n" proc_ns_pkt)" \
			"$(stat common "$n" proc_pct)" "$(stat max "$n" other_pct) / $(stat common "$n" other_pct)"
	done
	loss_table
	printf '\nRaw trials: raw.jsonl (one JSON line per trial, with the tools'"'"' own output).\n'
} >"$results"
log "results: $results (raw: $raw)"
cat "$results"
