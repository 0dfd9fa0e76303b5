#!/bin/bash
# Guest-side wrapper for vmtest/run.sh.  Runs INSIDE the virtme-ng guest
# (started via `vng --exec`), never on the host.
#
# Usage: guest-init.sh CMDFILE
#   CMDFILE is written by run.sh on the host.  It is a sequence of
#   NUL-terminated fields:  TOKEN, CWD, SCRATCH, N, N x NAME=VALUE (environment
#   for the command), then the command and its args.
#
# Prepares the guest (bpffs, debugfs, tracefs, loopback, memlock), prints the
# kernel version, runs the command with its stderr merged into stdout and
# prints a final marker line carrying the command's exit status:
#   @@vmtest:TOKEN:exit=N@@
# run.sh takes its own exit status from that line.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

cmdfile=${1:?usage: guest-init.sh CMDFILE}
mapfile -d '' fields <"$cmdfile" || {
    echo "vmtest guest: cannot read $cmdfile" >&2
    exit 125
}
nenv=${fields[3]:-x}
case $nenv in ''|*[!0-9]*) echo "vmtest guest: malformed command file $cmdfile" >&2; exit 125 ;; esac
if [ "${#fields[@]}" -lt $((5 + nenv)) ]; then
    echo "vmtest guest: malformed command file $cmdfile" >&2
    exit 125
fi
token=${fields[0]}
cwd=${fields[1]}
scratch=${fields[2]}
for kv in "${fields[@]:4:nenv}"; do
    export "${kv?}"
done
cmd=("${fields[@]:$((4 + nenv))}")

say() { printf 'vmtest guest: %s\n' "$*"; }

ismounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }

mountfs() { # TYPE MOUNTPOINT
    ismounted "$2" && return 0
    mkdir -p "$2" 2>/dev/null
    mount -t "$1" "$1" "$2" || say "WARNING: could not mount $1 on $2"
}

mountfs bpf /sys/fs/bpf
mountfs debugfs /sys/kernel/debug
mountfs tracefs /sys/kernel/tracing

ip link set lo up 2>/dev/null || say "WARNING: could not bring up lo"
ulimit -l unlimited 2>/dev/null || true

export VMTEST=1 VMTEST_SCRATCH="$scratch"
export TMPDIR=/tmp

say "kernel $(uname -r)"
cd "$cwd" 2>/dev/null || { say "WARNING: cannot cd to $cwd, using /"; cd /; }

"${cmd[@]}" </dev/null 2>&1
rc=$?

# Make sure everything reached the host before the marker is printed.
sync
printf '@@vmtest:%s:exit=%d@@\n' "$token" "$rc"
exit "$rc"
