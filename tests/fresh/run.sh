#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The README's two commands on a pristine Debian 12, as a new user types them.
#
#   tests/fresh/run.sh            (or: make fresh-check)
#
# 1. A Debian 12 root made by debootstrap (--variant=minbase) from the mirror
#    apt already uses on this machine (read from apt's sources), cached between
#    runs as a tarball; the project's dependencies are never cached.
# 2. The host's local CA certificates copied in, then only
#    `apt-get install make git ca-certificates` (registries behind a TLS proxy
#    are reachable only with them).
# 3. A clone of the commit under test with ../shared beside it.
# 4. `make demo`, then `make test`, exactly as the README writes them, as root
#    with a login's environment and nothing set by hand.
#
# Isolation: everything runs in a private mount namespace and a PID namespace
# of its own (unshare), so no mount and no process outlives the run; /dev in
# the root is a tmpfs with a few device nodes, never the host's /dev bind
# mounted; the root is deleted with --one-file-system only after the
# namespace has ended. The kernel, veth pairs and network namespaces are the
# host's (the tests clean up what they make, as on any machine).
#
# Prints TAP (one test per command) and exits non-zero when one fails.
# Environment:
#   FRESH_CACHE   where the debootstrap tarball is kept
#                 (default ${XDG_CACHE_HOME:-$HOME/.cache}/xdpsensor/fresh)
#   FRESH_WORK    parent of the throw-away root (default /var/tmp)
#   FRESH_KEEP=1  keep the root afterwards (for a look at its logs)
#   FRESH_STEPS   the commands to run (default "make demo;make test")
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
shared=$(cd "$repo/../shared" 2>/dev/null && pwd) || {
	echo "fresh: ../shared not found beside the repository" >&2
	exit 1
}
SUITE=bookworm
FRESH_CACHE=${FRESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xdpsensor/fresh}
FRESH_WORK=${FRESH_WORK:-/var/tmp}
FRESH_STEPS=${FRESH_STEPS:-make demo;make test}
tarball=$FRESH_CACHE/debian-$SUITE-minbase.tar

[ "$(id -u)" -eq 0 ] || { echo "fresh: needs root (debootstrap, chroot, unshare)" >&2; exit 1; }

log() { printf '# fresh: %s\n' "$*"; }

# The first Debian mirror apt's sources name for the main archive
# (deb822 .sources or one-line sources.list); nothing is written here.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f"
	done
}

pick_mirror() {
	local m
	for m in $(apt_mirror); do
		case $m in */debian | */debian/) echo "${m%/}"; return 0 ;; esac
	done
	return 1
}

make_tarball() {
	local mirror tmp
	mirror=$(pick_mirror) || { echo "fresh: no Debian mirror in apt's sources" >&2; return 1; }
	if ! command -v debootstrap >/dev/null; then
		log "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -q debootstrap >/dev/null; }
	fi
	mkdir -p "$FRESH_CACHE"
	tmp=$(mktemp -d "$FRESH_WORK/xs-debootstrap.XXXXXX")
	log "debootstrap --variant=minbase $SUITE from $mirror"
	if ! debootstrap --variant=minbase "$SUITE" "$tmp" "$mirror" >"$tmp.log" 2>&1; then
		tail -n 20 "$tmp.log" >&2
		rm -rf --one-file-system "$tmp" "$tmp.log"
		echo "fresh: debootstrap failed" >&2
		return 1
	fi
	tar -C "$tmp" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
	rm -rf --one-file-system "$tmp" "$tmp.log"
}

[ -s "$tarball" ] || make_tarball

root=$(mktemp -d "$FRESH_WORK/xs-fresh.XXXXXX")
cleanup() {
	# the namespace has ended here: nothing is mounted in the root any more
	if grep -q " $root[/ ]" /proc/self/mountinfo; then
		echo "fresh: $root still has mounts; not deleting it" >&2
	elif [ "${FRESH_KEEP:-0}" = 1 ]; then
		echo "# fresh: root kept in $root"
	else
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT

tar -C "$root" -xf "$tarball"
chmod 755 "$root" # as / is: apt's _apt user and the tests' nobody must reach it
cp /etc/resolv.conf "$root/etc/resolv.conf"
# the host's local CA certificates, before ca-certificates is installed
mkdir -p "$root/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
mkdir -p "$root/src"
git clone -q --no-local "$repo" "$root/src/xdpsensor"
git -C "$root/src/xdpsensor" checkout -q "$(git -C "$repo" rev-parse HEAD)"
cp -a "$shared" "$root/src/shared"
commit=$(git -C "$repo" rev-parse --short HEAD)

# What runs inside the root: the user's steps, one TAP line each.
cat >"$root/src/fresh-steps.sh" <<EOF
#!/bin/bash
set -u
export DEBIAN_FRONTEND=noninteractive
n=0 failed=0
step() {
	local start=\$(date +%s) rc
	n=\$((n + 1))
	echo "# fresh: \$ \$*"
	bash -c "\$*" </dev/null >"/src/step\$n.log" 2>&1
	rc=\$?
	if [ \$rc -eq 0 ]; then
		echo "ok \$n - \$* (\$((\$(date +%s) - start)) s)"
	else
		echo "# last lines of its output:"
		tail -n 40 "/src/step\$n.log" | sed 's/^/#   /'
		echo "not ok \$n - \$* exited \$rc (\$((\$(date +%s) - start)) s)"
		failed=1
	fi
	return \$rc
}
echo "1..$(($(tr ';' '\n' <<<"$FRESH_STEPS" | grep -c .) + 1))"
step "apt-get update -q && apt-get install -y -q make git ca-certificates" || exit 1
cd /src/xdpsensor
$(tr ';' '\n' <<<"$FRESH_STEPS" | sed 's/^/step /; s/$/ || true/')
exit \$failed
EOF
chmod +x "$root/src/fresh-steps.sh"

log "commit $commit in $root (Debian $SUITE minbase)"
start=$(date +%s)
rc=0
# PID namespace: when the steps end, every process they left is killed with
# it, so no mount survives the namespace.
unshare --mount --propagation private --pid --fork bash -euo pipefail -c '
	root=$1
	mount --bind "$root" "$root"          # a mount point: `ip netns` needs one
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount -t bpf bpf "$root/sys/fs/bpf"
	mount -t tmpfs -o mode=755 tmpfs "$root/run"
	# a tmpfs /dev with its own nodes: deleting the root can never reach
	# the host'"'"'s device nodes
	mount -t tmpfs -o mode=755 tmpfs "$root/dev"
	for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
		IFS=: read -r name ma mi <<<"$n"
		mknod -m 666 "$root/dev/$name" c "$ma" "$mi"
	done
	mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/dev/net"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
	mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
	ln -s pts/ptmx "$root/dev/ptmx"
	[ -c /dev/kvm ] && mknod -m 666 "$root/dev/kvm" c 10 232
	[ -c /dev/net/tun ] && mknod -m 666 "$root/dev/net/tun" c 10 200
	[ -c /dev/vhost-vsock ] && mknod -m 666 "$root/dev/vhost-vsock" c 10 241
	ln -s /proc/self/fd "$root/dev/fd"
	exec chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
		TERM=dumb LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash /src/fresh-steps.sh
' fresh "$root" || rc=$?
echo "# fresh: the two commands on a pristine Debian 12 took $(($(date +%s) - start)) s in all"
[ $rc -eq 0 ] || echo "# fresh: each step's whole output is in $root/src/step*.log (FRESH_KEEP=1 keeps it)"
exit $rc
