#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make install` and `make uninstall`, the man page and the systemd unit.
# TAP on stdout.
#
#   install with DESTDIR and PREFIX: the files, and nothing else; the binary
#     runs from there with its BPF object embedded (no build dir beside it)
#   the man page names every option `xdpsensor COMMAND --help` lists, in the
#     command's section, for every command `xdpsensor --help` lists, and man
#     renders it
#   the unit: systemd-analyze verify says nothing (a real install prefix, so
#     ExecStart= exists); its capabilities are those `run` checks; the
#     example configuration's options parse
#   uninstall leaves no file
# systemd itself is not run here: PID 1 of this machine is not systemd
# (tests/e2e/caps.sh runs the sensor as the unit would: user, capabilities).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

W=$(mktemp -d /tmp/xs-install.XXXXXX)
trap 'rm -rf "$W"' EXIT
FILES=(usr/sbin/xdpsensor usr/share/man/man8/xdpsensor.8 usr/lib/systemd/system/xdpsensor@.service
	usr/lib/sysusers.d/xdpsensor.conf etc/xdpsensor/example.conf)

test_install() {
	local d=$W/dest f got want
	if ! make -s install DESTDIR="$d" PREFIX=/usr >"$W/install.out" 2>&1; then
		fail "make install failed: $(tail -n 3 "$W/install.out" | tr '\n' ' ')"
		report "make install DESTDIR PREFIX=/usr"
		return 1
	fi
	got=$(cd "$d" && find . -type f | sed 's|^\./||' | sort)
	want=$(printf '%s\n' "${FILES[@]}" | sort)
	[ "$got" = "$want" ] || fail "installed: $(echo "$got" | tr '\n' ' '), expected: ${FILES[*]}"
	[ -x "$d/usr/sbin/xdpsensor" ] || fail "the binary is not executable"
	grep -q '^ExecStart=/usr/sbin/xdpsensor run -i %i \$XDPSENSOR_OPTS$' \
		"$d/usr/lib/systemd/system/xdpsensor@.service" || fail "ExecStart= is not /usr/sbin's"
	grep -q '^EnvironmentFile=/etc/xdpsensor/%i.conf$' \
		"$d/usr/lib/systemd/system/xdpsensor@.service" || fail "EnvironmentFile= is not /etc's"
	report "make install DESTDIR=... PREFIX=/usr: binary, man page, unit, sysusers, example conf"

	# the BPF object is in the skeleton, so in the binary: classify loads it
	# with no build dir anywhere near
	got=$(cd / && "$d/usr/sbin/xdpsensor" classify --json \
		"$OLDPWD/${PCAPS_DIR:-../shared/pcaps/tcpdump}/dns_tcp.pcap" 2>"$W/classify.err" | grep -c '"verdict"')
	[ "${got:-0}" -gt 0 ] || fail "the installed binary classified nothing: $(head -n 2 "$W/classify.err")"
	"$d/usr/sbin/xdpsensor" --version | grep -q '^xdpsensor ' || fail "--version"
	report "the installed binary runs on its own (BPF object embedded): classify gave $got verdicts"

	make -s uninstall DESTDIR="$d" PREFIX=/usr >"$W/uninstall.out" 2>&1 || fail "make uninstall failed"
	got=$(cd "$d" && find . -type f)
	[ -z "$got" ] || fail "left: $(echo "$got" | tr '\n' ' ')"
	report "make uninstall removes every file it installed"
}

# The options `xdpsensor CMD --help` lists: --long names (and -x short ones).
help_options() {
	"$XS" "$1" --help | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ ,]//' |
		grep -vx -- '--help\|-h' | sort -u
}

# The commands `xdpsensor --help` lists.
help_commands() {
	"$XS" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p'
}

test_man_page() {
	local cmd cmds opt section missing=() n=0
	cmds=$(help_commands)
	[ "$(wc -w <<<"$cmds")" -ge 7 ] || fail "only '$cmds' found in --help: the parsing is wrong"
	for cmd in $cmds; do
		# the command's section, and any whose heading names it
		section=$(awk -v c="$cmd" '
			/^## / { on = ($0 == "## " c || index($0, "(") && index($0, c)) ; next }
			/^# / { on = 0 }
			on' doc/xdpsensor.8.scd | sed 's/\\_/_/g; s/\*//g')
		[ -n "$section" ] || { missing+=("$cmd: no section"); continue; }
		for opt in $(help_options "$cmd"); do
			n=$((n + 1))
			grep -qE -- "(^|[^a-zA-Z-])$opt([^a-zA-Z0-9-]|$)" <<<"$section" ||
				missing+=("$cmd $opt")
		done
	done
	[ ${#missing[@]} -eq 0 ] || fail "not in xdpsensor(8): ${missing[*]}"
	[ "$n" -gt 70 ] || fail "only $n options found in --help: the parsing is wrong"
	report "xdpsensor(8) names all $n options --help lists of its $(wc -w <<<"$cmds") commands," \
		"each in its command's section"

	if man -l build/xdpsensor.8 >"$W/man.txt" 2>"$W/man.err"; then
		grep -q "CAPABILITIES" "$W/man.txt" || fail "no CAPABILITIES section in the rendered page"
		[ ! -s "$W/man.err" ] || fail "man says: $(head -n 3 "$W/man.err" | tr '\n' ' ')"
	else
		fail "man -l build/xdpsensor.8 failed: $(head -n 2 "$W/man.err")"
	fi
	report "man renders build/xdpsensor.8 ($(wc -l <"$W/man.txt") lines) without a complaint"
}

test_unit() {
	local p=$W/prefix unit out caps_unit caps_code opts
	if ! command -v systemd-analyze >/dev/null; then
		tap_skip "the systemd unit" "systemd-analyze not installed"
		return
	fi
	# a real prefix (no DESTDIR): verify checks that ExecStart= exists
	make -s install PREFIX="$p" SYSCONFDIR="$p/etc" >"$W/install2.out" 2>&1 ||
		fail "make install PREFIX=$p failed"
	unit=$p/lib/systemd/system/xdpsensor@.service
	cp "$p/etc/xdpsensor/example.conf" "$p/etc/xdpsensor/lo.conf"
	ln -s xdpsensor@.service "$p/lib/systemd/system/xdpsensor@lo.service"
	out=$(MANPATH=$p/share/man: systemd-analyze verify "$p/lib/systemd/system/xdpsensor@lo.service" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify: $(echo "$out" | head -n 5 | tr '\n' '|')"
	report "systemd-analyze verify xdpsensor@lo.service: no complaint"

	# the unit grants exactly what `run` checks (user/datapath/caps.c)
	caps_unit=$(sed -n 's/^AmbientCapabilities=//p' "$unit" | tr ' ' '\n' | sort | tr '\n' ' ')
	caps_code=$(grep -o '"CAP_[A-Z_]*"' user/datapath/caps.c | tr -d '"' | sort | tr '\n' ' ')
	[ "$caps_unit" = "$caps_code" ] || fail "unit: $caps_unit; run checks: $caps_code"
	[ "$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")" = "$(sed -n 's/^AmbientCapabilities=//p' "$unit")" ] ||
		fail "CapabilityBoundingSet= differs from AmbientCapabilities="
	for want in '^User=xdpsensor$' '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' \
		'^ProtectHome=yes$' '^Restart=on-failure$' '^KillSignal=SIGTERM$' '^UMask=0077$'; do
		grep -q "$want" "$unit" || fail "no $want"
	done
	grep -q '^u xdpsensor ' "$p/lib/sysusers.d/xdpsensor.conf" || fail "sysusers: no user xdpsensor"
	report "the unit: user xdpsensor, exactly the capabilities run checks ($caps_unit), hardening"

	# the example's options parse (exit 1 at the missing interface, not 2)
	printf 'security.protocol=SASL_SSL\n' >"$W/kafka.properties"
	opts=$(. "$p/etc/xdpsensor/example.conf" && echo "$XDPSENSOR_OPTS" |
		sed "s|/etc/xdpsensor/kafka.properties|$W/kafka.properties|")
	# shellcheck disable=SC2086  # split as systemd splits $XDPSENSOR_OPTS
	"$XS" run -i xsnoif$$ $opts >"$W/opts.out" 2>"$W/opts.err"
	[ $? -eq 1 ] && grep -q "no such interface" "$W/opts.err" ||
		fail "example options: $(head -n 2 "$W/opts.err" | tr '\n' ' ')"
	report "the example configuration's XDPSENSOR_OPTS parse"
	rm -rf "$p"
}

[ -x "$XS" ] && [ -f build/xdpsensor.8 ] || { echo "1..1"; echo "not ok 1 - run make first"; exit 1; }
test_install
test_man_page
test_unit
tap_end
