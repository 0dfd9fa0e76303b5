#!/bin/bash
# Run a command as root inside a throw-away VM booted on another kernel
# (virtme-ng + qemu; KVM when usable, TCG otherwise).  See vmtest/README.md.
#
# Usage: vmtest/run.sh [--kernel PATH] [--timeout SECS] -- CMD [ARGS...]
#
# Exit status: CMD's exit status inside the guest; 124 on timeout; 125 when
# the VM could not be set up / booted or died before CMD finished; when the
# kernel panicked/oopsed: CMD's status if non-zero, otherwise 1.
#
# A guest kernel that has not started init after VMTEST_BOOT_TIMEOUT
# seconds (default 240; seen once under TCG: a stall right after the
# switch to the hpet clocksource) is stopped and booted once more.
#
# Environment: KERNEL (same as --kernel), VMTEST_TIMEOUT (default 900),
#   VMTEST_MEMORY (2G), VMTEST_CPUS (2), VMTEST_ACCEL (auto|kvm|tcg),
#   VMTEST_OUT (log dir, default <repo>/build/vmtest), VMTEST_NO_INSTALL=1
#   (skip vmtest/install.sh), VNG_VENV (see install.sh).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# CI-like environments may run without HOME.
HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
HOME=${HOME:-/root}
export HOME
repo=$(dirname "$here")

usage() {
    echo "usage: vmtest/run.sh [--kernel PATH] [--timeout SECS] -- CMD [ARGS...]  (see vmtest/README.md)" >&2
    exit 125
}
fail() { echo "vmtest: ERROR: $*" >&2; exit 125; }

orig_args=("$@")
kernel=${KERNEL:-}
tsecs=${VMTEST_TIMEOUT:-900}
boot_secs=${VMTEST_BOOT_TIMEOUT:-240}
while [ $# -gt 0 ]; do
    case $1 in
        --kernel) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
        --kernel=*) kernel=${1#*=}; shift ;;
        --timeout) [ $# -ge 2 ] || usage; tsecs=$2; shift 2 ;;
        --timeout=*) tsecs=${1#*=}; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage
case $tsecs in ''|*[!0-9]*) fail "--timeout wants whole seconds, got '$tsecs'" ;; esac
[ "$tsecs" -gt 0 ] || fail "--timeout must be > 0"

# ---------------------------------------------------------------- prerequisites
if [ "${VMTEST_NO_INSTALL:-0}" != 1 ]; then
    "$here/install.sh" || fail "vmtest/install.sh failed (see above)"
fi
VNG_VENV=${VNG_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/xdpsensor/vng-venv}
[ -x "$VNG_VENV/bin/vng" ] || fail "virtme-ng missing: no $VNG_VENV/bin/vng (run vmtest/install.sh)"
qemu=$(command -v qemu-system-x86_64) || fail "qemu missing: no qemu-system-x86_64 on PATH (apt-get install qemu-system-x86)"
command -v timeout >/dev/null || fail "coreutils 'timeout' missing"

if [ -z "$kernel" ]; then
    # newest generic Debian kernel; -cloud kernels have no 9p, so never those
    kernel=$(for k in /boot/vmlinuz-*-amd64; do
                 case $k in *-cloud-*) ;; *) [ -e "$k" ] && echo "$k" ;; esac
             done | sort -V | tail -n 1)
    [ -n "$kernel" ] || fail "kernel missing: no generic /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64, or set KERNEL=/path/to/vmlinuz)"
fi
[ -f "$kernel" ] || fail "kernel missing: $kernel does not exist"
[ -r "$kernel" ] || fail "kernel not readable: $kernel"

# KVM: virtme-ng uses it whenever /dev/kvm is accessible and then asks for
# '-cpu host'; on hosts where /dev/kvm exists but does not really work (nested
# setups that reject MSR writes, ...) qemu aborts.  Probe it the way vng will
# use it, and fall back to TCG.
accel=${VMTEST_ACCEL:-auto}
if [ "$accel" = auto ]; then
    accel=tcg
    if [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
        (echo quit | timeout 30 "$qemu" -accel kvm -cpu host -M q35 -m 64 -nodefaults \
            -display none -S -monitor stdio) >/dev/null 2>&1; then
        accel=kvm
    fi
fi
case $accel in
    kvm) accel_opt=() ;;
    tcg) accel_opt=(--disable-kvm) ;;
    *) fail "VMTEST_ACCEL must be auto, kvm or tcg (got '$accel')" ;;
esac

# ---------------------------------------------------------------- files
out=${VMTEST_OUT:-$repo/build/vmtest}
mkdir -p "$out/scratch" || fail "cannot create $out"
out=$(cd "$out" && pwd -P)
# vng builds a shell command line without quoting these paths.
case "$repo$out$kernel" in
    *[[:space:]\'\"\\\$\`]*) fail "paths with blanks or quotes are not supported: repo=$repo out=$out kernel=$kernel" ;;
esac
# One VM at a time per log directory (the logs have fixed names).
exec 9>"$out/.lock" || fail "cannot create $out/.lock"
if ! flock -n 9; then
    echo "vmtest: waiting for another vmtest run using $out ..." >&2
    flock 9 || fail "cannot lock $out/.lock"
fi
console=$out/console.log   # kernel serial console (+ guest init messages)
output=$out/output.log     # CMD's stdout+stderr, as shown on the terminal
token=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
name=vmtest-$token
cmdfile=$out/cmd.$token
fifo_err=$out/.stderr.$token
fifo_out=$out/.stdout.$token

# Environment handed to CMD in the guest: PATH, HOME, CI, LANG, LC_ALL, PCAPS_DIR,
# and the variables named in VMTEST_ENV (space-separated), when set.
envs=("PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin" "HOME=${HOME:-/root}")
for v in CI LANG LC_ALL PCAPS_DIR ${VMTEST_ENV:-}; do
    case $v in ''|*[!A-Za-z0-9_]*|[0-9]*) fail "VMTEST_ENV: bad variable name '$v'" ;; esac
    [ -n "${!v+set}" ] && envs+=("$v=${!v}")
done
# Command for the guest: NUL-separated TOKEN, CWD, SCRATCH, N, N x NAME=VALUE,
# CMD, ARGS...  (a file, not the kernel command line: that is limited to 2 KiB).
{
    printf '%s\0' "$token" "$PWD" "$out/scratch" "${#envs[@]}" "${envs[@]}"
    printf '%s\0' "$@"
} >"$cmdfile" || fail "cannot write $cmdfile"

vng_pid=
# The qemu of THIS run is recognisable by '-name vmtest-<random token>'
# (vng and virtme-run carry '--name ...', which the pattern does not match).
qemu_pids() { pgrep -f -- "qemu-system[^ ]* (.* )?-name $name( |\$)" 2>/dev/null; }
# running and not a zombie
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st#Z}" = "$st" ]; }
# shellcheck disable=SC2317  # also invoked via trap
stop_vm() {
    local pids
    # Stop qemu first, so that virtme-run reaps it and vng exits by itself ...
    # shellcheck disable=SC2086
    pids=$(qemu_pids) && kill -TERM $pids 2>/dev/null
    for _ in $(seq 1 20); do
        { [ -n "$vng_pid" ] && alive "$vng_pid"; } || [ -n "$(qemu_pids)" ] || return 0
        sleep 0.5
    done
    # ... then whatever is left: timeout(1) leads its own process group.
    [ -n "$vng_pid" ] && kill -KILL -- "-$vng_pid" 2>/dev/null
    # shellcheck disable=SC2086
    pids=$(qemu_pids) && kill -KILL $pids 2>/dev/null
    for _ in $(seq 1 20); do
        [ -n "$(qemu_pids)" ] || return 0
        sleep 0.5
    done
    echo "vmtest: WARNING: qemu process(es) $(qemu_pids | tr '\n' ' ')did not go away" >&2
}
# shellcheck disable=SC2317
cleanup() {
    stop_vm
    rm -f "$cmdfile" "$fifo_err" "$fifo_out"
}
trap cleanup EXIT
trap 'echo "vmtest: interrupted" >&2; exit 130' INT TERM HUP

# $HOME (/root) is not among virtme-ng's default overlays (/etc /lib /home
# /opt /srv /usr /var /tmp): make it writable in the guest too.
home_opt=()
case ${HOME:-/} in
    /|/etc*|/lib*|/home/*|/opt*|/srv*|/usr*|/var*|/tmp*|"$repo"|"$repo"/*) ;;
    *[[:space:]\'\"\\\$\`]*) ;;
    *) [ -d "$HOME" ] && home_opt=(--overlay-rwdir "$HOME") ;;
esac

# The repository is reachable at the same path through virtme-ng's read-only
# 9p view of the host's /; an overlay makes it writable in the guest (changes
# are discarded), and $out/scratch is shared read-write with the host.
vng_args=(
    --run "$kernel" --force-9p --verbose
    --name "$name" --cpus "${VMTEST_CPUS:-2}" --memory "${VMTEST_MEMORY:-2G}"
    "${accel_opt[@]}"
    --overlay-rwdir "$repo"
    "${home_opt[@]}"
    --rwdir "$out/scratch"
    --exec "'$here/guest-init.sh' '$cmdfile'"
)

: >"$console" || fail "cannot write $console"
: >"$output" || fail "cannot write $output"
mkfifo "$fifo_err" "$fifo_out" || fail "mkfifo failed in $out"
cat <"$fifo_err" >>"$console" &
cat_pid=$!
# CMD's output goes to the terminal (without the marker line) and to $output.
tee -a "$output" <"$fifo_out" |
    sed -u -e "/^@@vmtest:$token:exit=[0-9]*@@\$/d" -e "s/@@vmtest:$token:exit=[0-9]*@@\$//" &
tee_pid=$!

echo "vmtest: booting $(basename "$kernel") ($accel, ${VMTEST_CPUS:-2} CPUs, ${VMTEST_MEMORY:-2G}, timeout ${tsecs}s); console log: $console" >&2
start=$(date +%s)
# Watchdog: at the deadline run.sh stops qemu itself (stop_vm); timeout(1),
# a little later, is only the backstop (it signals its whole process group:
# vng, virtme-run, qemu).  stdin must be /dev/null, not closed.
PATH="$VNG_VENV/bin:$PATH" timeout -k 10 $((tsecs + 30)) "$VNG_VENV/bin/vng" "${vng_args[@]}" \
    </dev/null >"$fifo_out" 2>"$fifo_err" &
vng_pid=$!
timed_out=0 boot_hung=0
while alive "$vng_pid"; do
    if [ $(( $(date +%s) - start )) -ge "$tsecs" ]; then
        timed_out=1
        stop_vm
        break
    fi
    if [ $(( $(date +%s) - start )) -ge "$boot_secs" ] &&
        ! grep -a -q 'Run /init as init process' "$console"; then
        boot_hung=1
        stop_vm
        break
    fi
    sleep 1
done
wait "$vng_pid"
vng_rc=$?
vng_pid=
elapsed=$(( $(date +%s) - start ))
stop_vm          # no-op normally; a stray qemu would hold the fifos open
wait "$cat_pid" "$tee_pid"

show_console() {
    echo "---- last $1 lines of $console ----" >&2
    tail -n "$1" "$console" >&2
    echo "---- (full console log: $console) ----" >&2
}

if [ "$boot_hung" = 1 ]; then
    show_console 3
    if [ "${VMTEST_BOOT_RETRY:-0}" = 0 ]; then
        echo "vmtest: the guest kernel did not start init within ${boot_secs}s; booting once more" >&2
        cleanup
        trap - EXIT
        VMTEST_BOOT_RETRY=1 VMTEST_NO_INSTALL=1 exec "$0" "${orig_args[@]}"
    fi
    echo "vmtest: FAIL: the guest kernel did not start init within ${boot_secs}s, twice" >&2
    exit 125
fi

marker=$(grep -a -o "@@vmtest:$token:exit=[0-9]*@@" "$output" | tail -n 1)
cmd_rc=
[ -n "$marker" ] && { cmd_rc=${marker##*exit=}; cmd_rc=${cmd_rc%@@}; }

if [ "$timed_out" = 1 ] || [ "$vng_rc" = 124 ] || [ "$vng_rc" = 137 ]; then
    show_console 30
    echo "vmtest: FAIL: TIMEOUT: the VM did not finish within ${tsecs}s; qemu was killed" >&2
    exit 124
fi

oops_re='Kernel panic|Oops:|BUG: |kernel BUG at|general protection fault|Unable to handle kernel|UBSAN:|KASAN:|KFENCE:|refcount_t:|rcu_(sched|preempt) detected stall'
if grep -a -q -E "$oops_re" "$console"; then
    show_console 80
    echo "vmtest: FAIL: kernel panic/oops/BUG in the guest console:" >&2
    grep -a -E "$oops_re" "$console" | head -n 5 | sed 's/^/vmtest:   /' >&2
    [ -n "$cmd_rc" ] && [ "$cmd_rc" != 0 ] && exit "$cmd_rc"
    exit 1
fi
if grep -a -q -E 'WARNING: CPU: [0-9]+ PID: ' "$console"; then
    echo "vmtest: note: kernel WARNING(s) in the guest console (not a failure):" >&2
    grep -a -E -A2 'WARNING: CPU: [0-9]+ PID: ' "$console" | head -n 15 | sed 's/^/vmtest:   /' >&2
fi

if [ -z "$cmd_rc" ]; then
    show_console 40
    echo "vmtest: FAIL: the guest never reported CMD's exit status (VM failed to boot or died; vng exit status $vng_rc)" >&2
    exit 125
fi
if [ "$vng_rc" != "$cmd_rc" ]; then
    echo "vmtest: note: vng exited $vng_rc, the guest reported $cmd_rc; using the latter" >&2
fi
echo "vmtest: CMD exited $cmd_rc inside $(basename "$kernel") (${elapsed}s incl. boot)" >&2
exit "$cmd_rc"
