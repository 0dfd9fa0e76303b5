#!/bin/bash
# Idempotent installer for the vmtest harness (see vmtest/README.md).
#
#  - Debian packages (installed only when missing): qemu-system-x86,
#    busybox-static, a generic linux-image-amd64 kernel (never -cloud: it has
#    no 9p), and what virtme-ng needs at run time.
#  - a Python venv with virtme-ng (the `vng` command):
#      ${VNG_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/xdpsensor/vng-venv}
#
# Quiet when everything is already there; on failure prints what went wrong
# (with the tail of the installer log) and exits non-zero.
#
# Environment:
#   VNG_VENV      venv location (default above)
#   VNG_VERSION   virtme-ng version to pip-install (default: pinned below)
#   VMTEST_QUIET=0  report what is being installed (default: quiet)
set -euo pipefail

# CI-like environments may run without HOME.
HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
HOME=${HOME:-/root}
export HOME
VNG_VERSION=${VNG_VERSION:-1.42}
VNG_VENV=${VNG_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/xdpsensor/vng-venv}

# Run-time needs of virtme-ng (its Debian packaging depends on busybox-static,
# file, iproute2, kmod, util-linux-extra, python3, recommends qemu-system-x86),
# plus udev (virtme-ng-init coldplugs devices with it when present), python3-venv
# for our venv, and bpftool for the tests.
PKGS=(qemu-system-x86 busybox-static kmod udev iproute2 file util-linux-extra
      python3 python3-venv bpftool)

log=$(mktemp "${TMPDIR:-/tmp}/vmtest-install.XXXXXX")
trap 'rm -f "$log"' EXIT

die() {
    echo "vmtest/install.sh: ERROR: $*" >&2
    if [ -s "$log" ]; then
        echo "---- last lines of the installer output ----" >&2
        tail -n 40 "$log" >&2
        echo "--------------------------------------------" >&2
    fi
    exit 1
}
note() { [ "${VMTEST_QUIET:-1}" = 1 ] || echo "vmtest/install.sh: $*" >&2; }

pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# A generic (non -cloud) Debian kernel with its modules is what we need; any
# installed version will do, the linux-image-amd64 metapackage is just the way
# to get one.
have_generic_kernel() {
    local k v
    for k in /boot/vmlinuz-*-amd64; do
        [ -e "$k" ] || continue
        case $k in *-cloud-*) continue ;; esac
        v=${k#/boot/vmlinuz-}
        [ -e "/lib/modules/$v/modules.dep" ] && return 0
    done
    return 1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root to run: $*"
    fi
}

# ---------------------------------------------------------------- packages
command -v dpkg-query >/dev/null 2>&1 || die "this installer needs a Debian-like host (dpkg/apt)"

missing=()
for p in "${PKGS[@]}"; do
    pkg_installed "$p" || missing+=("$p")
done
have_generic_kernel || missing+=(linux-image-amd64)

if [ "${#missing[@]}" -gt 0 ]; then
    note "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_install() {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}"
    }
    # Try with the current package lists first; refresh them only if needed.
    if ! apt_install >>"$log" 2>&1; then
        as_root apt-get update -q >>"$log" 2>&1 || die "apt-get update failed"
        if ! apt_install >>"$log" 2>&1; then
            # On container-like hosts a kernel postinst hook (initramfs,
            # bootloader) may fail although the kernel and its modules were
            # unpacked fine.  We do not need the host's initramfs nor its
            # bootloader: finish configuration without them and check that
            # what we need is there.
            echo "== retry: dpkg --configure -a without initramfs/bootloader hooks" >>"$log"
            as_root env INITRD=No DEBIAN_FRONTEND=noninteractive dpkg --configure -a >>"$log" 2>&1 || true
            for k in /boot/vmlinuz-*-amd64; do
                [ -e "$k" ] || continue
                v=${k#/boot/vmlinuz-}
                if [ -d "/lib/modules/$v" ]; then
                    as_root depmod -a "$v" >>"$log" 2>&1 || true
                fi
            done
            for p in "${missing[@]}"; do
                [ "$p" = linux-image-amd64 ] && continue
                pkg_installed "$p" || die "apt-get install failed for: $p"
            done
            have_generic_kernel || die "apt-get install did not leave a usable generic kernel in /boot"
            echo "vmtest/install.sh: warning: apt-get reported errors (kernel postinst hooks?) but the kernel and modules are in place; continuing" >&2
        fi
    fi
    have_generic_kernel || die "no generic /boot/vmlinuz-*-amd64 with modules after installing linux-image-amd64"
    command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 missing after install"
fi

# ---------------------------------------------------------------- venv
vng_ok() {
    [ -x "$VNG_VENV/bin/vng" ] && [ -x "$VNG_VENV/bin/virtme-run" ] &&
        [ "$("$VNG_VENV/bin/vng" --version 2>/dev/null)" = "virtme-ng $VNG_VERSION" ]
}

if ! vng_ok; then
    note "creating venv $VNG_VENV with virtme-ng $VNG_VERSION"
    # Debian's python3 (with python3-venv) rather than whatever `python3` is
    # first on PATH: the venv must survive pyenv/asdf changes.
    py=/usr/bin/python3
    [ -x "$py" ] || py=$(command -v python3) || die "python3 not found"
    if [ -d "$VNG_VENV" ] && ! "$VNG_VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        rm -rf "$VNG_VENV"   # broken venv (e.g. its interpreter went away)
    fi
    mkdir -p "$(dirname "$VNG_VENV")"
    [ -x "$VNG_VENV/bin/python" ] || "$py" -m venv "$VNG_VENV" >>"$log" 2>&1 ||
        die "cannot create venv $VNG_VENV (is python3-venv installed?)"
    "$VNG_VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "virtme-ng==$VNG_VERSION" >>"$log" 2>&1 ||
        die "pip install virtme-ng==$VNG_VERSION into $VNG_VENV failed"
    vng_ok || die "virtme-ng installed but '$VNG_VENV/bin/vng --version' does not report $VNG_VERSION"
fi
exit 0
