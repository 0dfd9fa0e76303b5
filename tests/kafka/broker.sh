#!/usr/bin/env bash
# A real single-node Apache Kafka broker for tests, demos and benchmarks:
# KRaft mode (broker and controller in one JVM), no ZooKeeper, no Docker,
# listening on 127.0.0.1 only, on ports that are free at run time.
#
#   broker.sh fetch                            get the jars once (prints their dir)
#   broker.sh start [DIR]                      start a broker; prints 127.0.0.1:PORT
#   broker.sh create-topic DIR TOPIC PARTS     create a topic, wait until it is ready
#   broker.sh join DIR DIR2                    a second broker (node 2, broker only) in DIR's
#                                              cluster; prints its 127.0.0.1:PORT
#   broker.sh restart DIR                      start DIR's broker again, same port and data
#   broker.sh allow-read DIR USER TOPIC        let USER read TOPIC (a KAFKA_SASL or KAFKA_TLS
#                                              broker's ACLs: Read and Describe, AclCommand)
#                                              (after a kill -9: fault tests)
#   broker.sh stop DIR                         stop the broker and remove DIR
#
# In a test script:
#   dir=$(mktemp -d)
#   trap 'tests/kafka/broker.sh stop "$dir"' EXIT
#   addr=$(tests/kafka/broker.sh start "$dir")
#   tests/kafka/broker.sh create-topic "$dir" packets 4
#
# Only the bootstrap address (start) or the jar dir (fetch) goes to stdout;
# progress and errors go to stderr. DIR holds server.properties, pid,
# bootstrap (the address), data/ and logs/ (server.log, stdout.log, ...).
#
# Environment:
#   KAFKA_VERSION        org.apache.kafka:kafka_2.13 release (default 3.9.2)
#   KAFKA_CACHE          jar dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/xdpsensor/kafka-VERSION/libs)
#   KAFKA_HEAP_OPTS      broker heap (default -Xmx512m -Xms128m)
#   KAFKA_PORT           fixed PLAINTEXT port instead of a free one
#   KAFKA_CONTROLLER_PORT  fixed CONTROLLER port instead of a free one
#   KAFKA_SASL=1         also a SASL_PLAINTEXT (PLAIN) listener on a free port, whose
#                        one user (sensor / sensor-secret) is allowed nothing: an
#                        ACL authorizer runs, the PLAINTEXT listener stays all-powerful
#                        (its ANONYMOUS principal is a super user). DIR/sasl_bootstrap
#                        holds that listener's address.
#   KAFKA_TLS=1          also a SASL_SSL listener (TLS + SCRAM-SHA-512) on a free port,
#                        with the same authorizer: a throw-away CA and broker
#                        certificate made here with openssl (DIR/tls/ca.crt, the one to
#                        trust), and two SCRAM users made with Kafka's ConfigCommand:
#                        sensor-tls / tls-secret, allowed to write any topic
#                        (AclCommand), and sensor-noacl / noacl-secret, allowed only
#                        IdempotentWrite (its records are refused: a missing ACL).
#                        DIR/tls_bootstrap holds that listener's address.
#   KAFKA_START_TIMEOUT  seconds to wait for the broker to answer (default 90)
#   KAFKA_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL (default 30)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-3.9.2}
KAFKA_CACHE=${KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xdpsensor/kafka-$KAFKA_VERSION/libs}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
MARKER=.xdpsensor-kafka   # in DIR: proves stop may delete DIR

log() { printf 'broker.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
    cat >&2 <<'EOF'
usage: broker.sh fetch
       broker.sh start [DIR]
       broker.sh create-topic DIR TOPIC PARTITIONS
       broker.sh join DIR DIR2
       broker.sh restart DIR
       broker.sh allow-read DIR USER TOPIC
       broker.sh stop DIR
EOF
    exit 2
}

# --- tools ---------------------------------------------------------------

apt_updated=0
apt_install() {
    local pkg=$1 out
    out=$(mktemp)
    # Slim Debian images lack this directory and the JRE's postinst fails.
    [[ $pkg == default-jre-headless ]] && mkdir -p /usr/share/man/man1
    # Try with the package lists we have first; a fresh machine may have none.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "$pkg" >"$out" 2>&1; then
        if ((apt_updated)) || ! apt-get update -q >>"$out" 2>&1 ||
                ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                    --no-install-recommends "$pkg" >>"$out" 2>&1; then
            tail -n 20 "$out" >&2
            rm -f "$out"
            die "apt-get install $pkg failed (output above)"
        fi
        apt_updated=1
    fi
    rm -f "$out"
}

# need CMD PKG: install Debian package PKG when CMD is missing.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        die "$1 not found, and cannot install it (needs root and apt-get): install the Debian package $2"
    fi
    log "$1 not found: installing Debian package $2"
    apt_install "$2"
    command -v "$1" >/dev/null 2>&1 || die "installed $2 but $1 is still not on PATH"
}

need_java() {
    need java default-jre-headless
    local v major
    v=$(java -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')
    major=${v%%.*}
    [[ $major == 1 ]] && major=8    # "1.8.0_x"
    [[ $major =~ ^[0-9]+$ ]] || die "cannot tell the Java version from 'java -version'"
    (( major >= 11 )) || die "Kafka $KAFKA_VERSION needs Java 11 or newer, java on PATH is $v"
}

# --- fetch ---------------------------------------------------------------

libs_ready() {
    [[ -f $KAFKA_CACHE/.complete && $(<"$KAFKA_CACHE/.complete") == "$KAFKA_VERSION" ]]
}

fetch_libs() {
    libs_ready && return 0
    need_java
    need mvn maven
    mkdir -p "$(dirname "$KAFKA_CACHE")"
    # flock: two brokers started at once must not both fill the same dir.
    (
        flock 9
        libs_ready && exit 0
        work=$(mktemp -d "$KAFKA_CACHE.tmp.XXXXXX")
        trap 'rm -rf "$work"' EXIT
        # Run Maven on a copy so that nothing is ever written into the tree.
        cp "$here/pom.xml" "$work/pom.xml"
        log "fetching Kafka $KAFKA_VERSION jars with Maven into $KAFKA_CACHE"
        if ! (cd "$work" && mvn -B -q -Dkafka.version="$KAFKA_VERSION" \
                dependency:copy-dependencies -DincludeScope=runtime \
                -DoutputDirectory="$work/libs") >"$work/mvn.log" 2>&1; then
            tail -n 40 "$work/mvn.log" >&2
            die "Maven could not fetch Kafka $KAFKA_VERSION (output above)"
        fi
        [[ -f $work/libs/kafka_2.13-$KAFKA_VERSION.jar ]] ||
            die "Maven ran but kafka_2.13-$KAFKA_VERSION.jar is missing"
        echo "$KAFKA_VERSION" >"$work/libs/.complete"
        rm -rf "$KAFKA_CACHE"
        mv "$work/libs" "$KAFKA_CACHE"
    ) 9>"$KAFKA_CACHE.lock"
}

cmd_fetch() {
    (( $# == 0 )) || usage
    fetch_libs
    echo "$KAFKA_CACHE"
}

# --- helpers -------------------------------------------------------------

# /proc/net/tcp{,6} lines of sockets whose local port is $1 (hex match).
port_sockets() {
    local files=() f
    for f in /proc/net/tcp /proc/net/tcp6; do [[ -r $f ]] && files+=("$f"); done
    awk -v p="$(printf ':%04X' "$1")" \
        'FNR > 1 && substr($2, length($2) - 4) == p' "${files[@]}"
}

port_busy() { [[ -n $(port_sockets "$1") ]]; }

# A port below Linux's ephemeral range (32768+), so that outgoing
# connections never hold it, and not in use now.
free_port() {
    local p i
    for i in {1..500}; do
        p=$((20000 + RANDOM % 12000))
        [[ $p != "${2:-}" ]] && ! port_busy "$p" && { echo "$p"; return 0; }
    done
    die "found no free TCP port in 20000-31999"
}

# Does process $1 own the listening socket on port $2? Another broker started
# at the same moment could have raced us to the port and would answer there.
owns_listener() {
    local inode fds
    # (No `| grep -q` in this file: with pipefail, its early exit can fail
    # the pipeline through SIGPIPE even when it matched.)
    fds=$(ls -l "/proc/$1/fd" 2>/dev/null) || return 1
    for inode in $(port_sockets "$2" | awk '$4 == "0A" { print $10 }'); do
        [[ $fds == *"socket:[$inode]"* ]] && return 0
    done
    return 1
}

# Is $1 the broker of dir $2 (not a dead pid, a zombie or a reused pid)?
is_broker() {
    local cmd
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
    [[ $cmd == *"kafka.Kafka $2/server.properties"* ]]
}

# Is process $1 alive (and not a zombie waiting to be reaped)?
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

kill_broker() {
    local pid=$1 dir=$2 i
    is_broker "$pid" "$dir" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < KAFKA_STOP_TIMEOUT * 10; i++)); do
        is_broker "$pid" "$dir" || return 0
        sleep 0.1
    done
    log "broker $pid still running ${KAFKA_STOP_TIMEOUT}s after SIGTERM: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        is_broker "$pid" "$dir" || return 0
        sleep 0.1
    done
    die "broker $pid survived SIGKILL"
}

show_logs() {
    local f
    for f in "$1/logs/server.log" "$1/logs/stdout.log"; do
        [[ -s $f ]] || continue
        log "--- last lines of $f ---"
        tail -n 30 "$f" >&2
    done
}

# run_tool DIR LOGNAME CLASS ARGS...: a Kafka command-line tool with the
# broker's jars, logging into DIR/logs/LOGNAME. Small, quick-starting JVM.
run_tool() {
    local dir=$1 logname=$2
    shift 2
    java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$dir/log4j.properties" \
        -Dkafka.logs.dir="$dir/logs" -Dkafka.log.name="$logname" \
        -cp "$(<"$dir/libs")/*" "$@" </dev/null
}

now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- start ---------------------------------------------------------------

# The broker of DIR again, on its port and data (it was killed: fault tests).
cmd_restart() {
    (( $# == 1 )) || usage
    local dir=$1 addr port old
    [[ -f $dir/$MARKER && -f $dir/bootstrap ]] || die "$dir is not a broker dir of broker.sh"
    dir=$(cd "$dir" && pwd)
    addr=$(<"$dir/bootstrap")
    port=${addr##*:}
    old=$(<"$dir/pid")
    ! is_broker "$old" "$dir" || die "the broker of $dir (pid $old) still runs"
    pid=
    trap 'if [[ -n $pid ]]; then kill_broker "$pid" "$dir"; fi' EXIT
    launch_jvm "$dir"
    wait_ready "$dir" "$addr" "$port" || die "port $port was taken while the broker restarted"
    trap - EXIT
    log "Kafka restarted at $addr (pid $pid)"
}

write_config() {
    local dir=$1 port=$2 cport=$3 sport=${4:-} tport=${5:-}
    local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
    local advertised="PLAINTEXT://127.0.0.1:$port" map="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    if [[ -n $sport ]]; then
        listeners+=",SASL://127.0.0.1:$sport"
        advertised+=",SASL://127.0.0.1:$sport"
        map+=",SASL:SASL_PLAINTEXT"
    fi
    if [[ -n $tport ]]; then
        listeners+=",TLS://127.0.0.1:$tport"
        advertised+=",TLS://127.0.0.1:$tport"
        map+=",TLS:SASL_SSL"
    fi
    cat >"$dir/server.properties" <<EOF
# Written by tests/kafka/broker.sh: one node that is broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$map
log.dirs=$dir/data
auto.create.topics.enable=true
num.partitions=4
default.replication.factor=1
# One node: internal topics cannot have more replicas than that.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Fewer internal partitions and no rebalance delay: faster consumer groups.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
EOF
    [[ -n $sport$tport ]] || return 0
    cat >>"$dir/server.properties" <<EOF
# KAFKA_SASL, KAFKA_TLS: ACLs decide; the PLAINTEXT listener's ANONYMOUS is a super user.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
EOF
    [[ -z $sport ]] || cat >>"$dir/server.properties" <<EOF
# KAFKA_SASL: a listener whose one user may do nothing (authorization tests).
listener.name.sasl.sasl.enabled.mechanisms=PLAIN
listener.name.sasl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_sensor="sensor-secret";
EOF
    [[ -z $tport ]] || cat >>"$dir/server.properties" <<EOF
# KAFKA_TLS: TLS with a throw-away CA, SCRAM users made by ConfigCommand.
listener.name.tls.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.tls.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.tls.ssl.keystore.type=PKCS12
listener.name.tls.ssl.keystore.location=$dir/tls/broker.p12
listener.name.tls.ssl.keystore.password=$TLS_STORE_PASS
listener.name.tls.ssl.key.password=$TLS_STORE_PASS
EOF
    return 0
}

TLS_STORE_PASS=xdpsensor-test

# make_tls DIR: a throw-away CA and the broker's certificate (for 127.0.0.1),
# signed by it, in a PKCS12 keystore. DIR/tls/ca.crt is what clients trust.
make_tls() {
    local t=$1/tls
    mkdir -p "$t"
    if ! {
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=xdpsensor-test-ca \
            -keyout "$t/ca.key" -out "$t/ca.crt" &&
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
            -keyout "$t/broker.key" -out "$t/broker.csr" &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$t/san.ext" &&
        openssl x509 -req -days 2 -in "$t/broker.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" \
            -CAcreateserial -extfile "$t/san.ext" -out "$t/broker.crt" &&
        openssl pkcs12 -export -in "$t/broker.crt" -inkey "$t/broker.key" \
            -certfile "$t/ca.crt" -name broker -out "$t/broker.p12" \
            -passout "pass:$TLS_STORE_PASS"
    } >"$1/logs/tls.log" 2>&1; then
        tail -n 20 "$1/logs/tls.log" >&2
        die "making the test CA and certificate with openssl failed (output above)"
    fi
}

# tls_users DIR ADDR: the SCRAM users (ConfigCommand) and their ACLs
# (AclCommand), through the all-powerful PLAINTEXT listener at ADDR.
tls_users() {
    local dir=$1 addr=$2 user pass
    for user in sensor-tls:tls-secret sensor-noacl:noacl-secret; do
        pass=${user#*:} user=${user%%:*}
        run_tool "$dir" tools.log kafka.admin.ConfigCommand --bootstrap-server "$addr" \
            --alter --entity-type users --entity-name "$user" \
            --add-config "SCRAM-SHA-512=[iterations=4096,password=$pass]" \
            >>"$dir/logs/tools.log" 2>&1 || return 1
    done
    run_tool "$dir" tools.log kafka.admin.AclCommand --bootstrap-server "$addr" --add \
        --allow-principal User:sensor-tls --operation Write --operation Describe \
        --operation Create --topic '*' >>"$dir/logs/tools.log" 2>&1 &&
    run_tool "$dir" tools.log kafka.admin.AclCommand --bootstrap-server "$addr" --add \
        --allow-principal User:sensor-tls --allow-principal User:sensor-noacl \
        --operation IdempotentWrite --cluster >>"$dir/logs/tools.log" 2>&1
}

# Format storage and launch the JVM in the background; sets $pid.
launch() {
    local dir=$1 cluster_id=$2
    rm -rf "$dir/data"
    if ! run_tool "$dir" storage.log kafka.tools.StorageTool format \
            -t "$cluster_id" -c "$dir/server.properties" >>"$dir/logs/storage.log" 2>&1; then
        tail -n 20 "$dir/logs/storage.log" >&2
        die "formatting the storage in $dir/data failed (output above)"
    fi
    launch_jvm "$dir"
}

# The JVM on DIR's configuration and data, in the background; sets $pid.
launch_jvm() {
    local dir=$1
    # Same JVM flags as Kafka's kafka-run-class.sh, with a small heap.
    # Everything the JVM prints goes to a file: stdout is the caller's.
    # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of flags
    (cd "$dir" && exec java $KAFKA_HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
        -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$dir/log4j.properties" \
        -Dkafka.logs.dir="$dir/logs" -Dkafka.log.name=server.log \
        -cp "$(<"$dir/libs")/*" kafka.Kafka "$dir/server.properties" \
        </dev/null >>"$dir/logs/stdout.log" 2>&1) &
    pid=$!
    echo "$pid" >"$dir/pid"
    # Until the subshell has exec'd java, is_broker cannot recognise it (on a
    # busy machine that takes a while): wait for that, or for it to die.
    local i
    for ((i = 0; i < 200; i++)); do
        is_broker "$pid" "$dir" || ! running "$pid" && break
        sleep 0.05
    done
}

node_id() { sed -n 's/^node.id=//p' "$1/server.properties"; }

bind_failed() { grep -qs 'Address already in use' "$1/logs/server.log" "$1/logs/stdout.log"; }

# 0: ready; 2: a port was taken meanwhile (try other ports); dies otherwise.
wait_ready() {
    local dir=$1 addr=$2 port=$3 meta deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    while :; do
        if bind_failed "$dir"; then
            kill_broker "$pid" "$dir"
            return 2
        fi
        if ! is_broker "$pid" "$dir"; then
            show_logs "$dir"
            die "the broker died during startup (logs above; kept in $dir/logs)"
        fi
        # Ready = it answers metadata and lists itself (so it is registered
        # and unfenced), and the answer came from our process.
        meta=$(timeout 10 kcat -b "$addr" -L -m 2 2>/dev/null) || true
        if [[ $meta == *"broker $(node_id "$dir") at $addr"* ]] && owns_listener "$pid" "$port"; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            show_logs "$dir"
            kill_broker "$pid" "$dir"
            die "the broker did not answer on $addr within ${KAFKA_START_TIMEOUT}s (logs above; kept in $dir/logs)"
        fi
        sleep 0.3
    done
}

cmd_start() {
    (( $# <= 1 )) || usage
    local dir=${1:-} t0 port cport sport= tport= cluster_id attempt rc addr
    t0=$(now)
    fetch_libs
    need_java
    need kcat kcat
    if [[ -z $dir ]]; then
        dir=$(mktemp -d -t xdpsensor-kafka.XXXXXX)
    else
        mkdir -p "$dir"
        [[ -z $(ls -A "$dir") ]] ||
            die "$dir is not empty (an old broker dir? 'broker.sh stop $dir' removes it)"
    fi
    dir=$(cd "$dir" && pwd)
    touch "$dir/$MARKER"
    mkdir -p "$dir/logs"
    echo "$KAFKA_CACHE" >"$dir/libs"
    cp "$here/log4j.properties" "$dir/log4j.properties"
    if [[ ${KAFKA_TLS:-0} == 1 ]]; then
        need openssl openssl
        make_tls "$dir"
    fi

    pid=
    # Never leave a half-started broker behind (error, Ctrl-C, timeout).
    trap 'if [[ -n $pid ]]; then kill_broker "$pid" "$dir"; fi' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    cluster_id=$(run_tool "$dir" storage.log kafka.tools.StorageTool random-uuid 2>>"$dir/logs/storage.log") ||
        die "kafka.tools.StorageTool random-uuid failed (see $dir/logs/storage.log)"

    for attempt in 1 2 3 4 5; do
        port=${KAFKA_PORT:-$(free_port)}
        cport=${KAFKA_CONTROLLER_PORT:-$(free_port "$port")}
        [[ $port != "$cport" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT are the same port ($port)"
        [[ -z ${KAFKA_PORT:-} ]] || ! port_busy "$port" || die "port $port (KAFKA_PORT) is in use"
        [[ -z ${KAFKA_CONTROLLER_PORT:-} ]] || ! port_busy "$cport" ||
            die "port $cport (KAFKA_CONTROLLER_PORT) is in use"
        if [[ ${KAFKA_SASL:-0} == 1 ]]; then
            for _ in {1..50}; do
                sport=$(free_port x "$port")
                [[ $sport != "$cport" ]] && break
            done
        fi
        if [[ ${KAFKA_TLS:-0} == 1 ]]; then
            for _ in {1..50}; do
                tport=$(free_port x "$port")
                [[ $tport != "$cport" && $tport != "$sport" ]] && break
            done
        fi
        addr=127.0.0.1:$port
        write_config "$dir" "$port" "$cport" "$sport" "$tport"
        launch "$dir" "$cluster_id"
        rc=0
        wait_ready "$dir" "$addr" "$port" || rc=$?
        ((rc == 0)) && break
        if [[ -n ${KAFKA_PORT:-}${KAFKA_CONTROLLER_PORT:-} ]]; then
            show_logs "$dir"
            die "port $port or $cport was taken while the broker started"
        fi
        log "port $port or $cport was taken meanwhile; retrying with other ports"
        pid=
        mv "$dir/logs/server.log" "$dir/logs/server.log.$attempt" 2>/dev/null || true
        mv "$dir/logs/stdout.log" "$dir/logs/stdout.log.$attempt" 2>/dev/null || true
    done
    ((rc == 0)) || die "gave up after $attempt attempts to find free ports"

    if [[ -n $tport ]] && ! tls_users "$dir" "$addr"; then
        tail -n 20 "$dir/logs/tools.log" >&2
        die "creating the SCRAM users and ACLs failed (output above)"
    fi
    echo "$addr" >"$dir/bootstrap"
    [[ -z $sport ]] || echo "127.0.0.1:$sport" >"$dir/sasl_bootstrap"
    [[ -z $tport ]] || echo "127.0.0.1:$tport" >"$dir/tls_bootstrap"
    trap - EXIT INT TERM
    log "Kafka $KAFKA_VERSION ready at $addr (pid $pid, dir $dir) in $(since "$t0")s"
    echo "$addr"
}

# --- join ------------------------------------------------------------------

# A second node in DIR's cluster: a broker only (DIR's node stays the one
# controller), PLAINTEXT, node.id 2, its own port and data in DIR2. Topics
# created afterwards spread their partitions' leaders over both (the
# writer's connection per leader is what this is for).
cmd_join() {
    (( $# == 2 )) || usage
    local first dir=$2 port cport cluster_id addr t0
    t0=$(now)
    broker_dir "$1"
    first=$(cd "$1" && pwd)
    mkdir -p "$dir"
    [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
    dir=$(cd "$dir" && pwd)
    touch "$dir/$MARKER"
    mkdir -p "$dir/logs"
    cp "$first/libs" "$first/log4j.properties" "$dir/"
    cport=$(sed -n 's/^controller.quorum.voters=1@127.0.0.1://p' "$first/server.properties")
    cluster_id=$(sed -n 's/^cluster.id=//p' "$first/data/meta.properties")
    [[ -n $cport && -n $cluster_id ]] || die "cannot read $first's controller port and cluster id"
    port=$(free_port x "$cport")
    addr=127.0.0.1:$port
    cat >"$dir/server.properties" <<EOF
# Written by tests/kafka/broker.sh join: a second broker in $first's cluster.
process.roles=broker
node.id=2
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
EOF
    pid=
    trap 'if [[ -n $pid ]]; then kill_broker "$pid" "$dir"; fi' EXIT
    launch "$dir" "$cluster_id"
    wait_ready "$dir" "$addr" "$port" || die "port $port was taken while the broker started"
    trap - EXIT
    echo "$addr" >"$dir/bootstrap"
    log "Kafka node 2 ready at $addr (pid $pid, dir $dir) in $(since "$t0")s"
    echo "$addr"
}

# --- create-topic ----------------------------------------------------------

broker_dir() {
    [[ -f $1/$MARKER && -f $1/bootstrap ]] || die "$1 is not the dir of a started broker"
    is_broker "$(<"$1/pid")" "$(cd "$1" && pwd)" || die "the broker of $1 is not running"
}

cmd_create_topic() {
    (( $# == 3 )) || usage
    local dir topic=$2 parts=$3 addr out meta have ready deadline
    [[ $parts =~ ^[1-9][0-9]*$ ]] || die "PARTITIONS must be a positive number, not '$parts'"
    broker_dir "$1"
    dir=$(cd "$1" && pwd)
    addr=$(<"$dir/bootstrap")
    if ! out=$(run_tool "$dir" tools.log org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "$addr" --create --if-not-exists --topic "$topic" \
            --partitions "$parts" --replication-factor 1 2>&1); then
        printf '%s\n' "$out" >&2
        die "creating topic $topic failed (output above)"
    fi
    [[ -z $out ]] || printf '%s\n' "$out" >&2
    # Created in the controller is not yet served by the broker: wait until
    # metadata shows every partition with a leader.
    deadline=$((SECONDS + 30))
    while :; do
        meta=$(timeout 10 kcat -b "$addr" -L -t "$topic" -m 2 2>/dev/null) || true
        have=$(sed -n "s/^ *topic \"$topic\" with \([0-9]*\) partitions.*/\1/p" <<<"$meta")
        ready=$(grep -cE '^ *partition [0-9]+, leader [0-9]+,' <<<"$meta" || true)
        if [[ -n $have && $have != "$parts" ]]; then
            die "topic $topic already exists with $have partitions, not $parts"
        fi
        [[ $have == "$parts" && $ready == "$parts" ]] && break
        ((SECONDS < deadline)) || die "topic $topic not ready after 30s; metadata: $meta"
        sleep 0.2
    done
    log "topic $topic ready with $parts partitions on $addr"
}

# --- allow-read ------------------------------------------------------------

# What a consumer without a group (query, inspect) needs: Read and Describe
# on the topic, granted through the all-powerful PLAINTEXT listener.
cmd_allow_read() {
    (( $# == 3 )) || usage
    local dir user=$2 topic=$3 out
    broker_dir "$1"
    dir=$(cd "$1" && pwd)
    if ! out=$(run_tool "$dir" tools.log kafka.admin.AclCommand \
            --bootstrap-server "$(<"$dir/bootstrap")" --add --allow-principal "User:$user" \
            --operation Read --operation Describe --topic "$topic" 2>&1); then
        printf '%s\n' "$out" >&2
        die "letting $user read $topic failed (output above)"
    fi
    log "$user may read $topic"
}

# --- stop ----------------------------------------------------------------

cmd_stop() {
    (( $# == 1 )) || usage
    local dir=$1
    if [[ ! -e $dir ]]; then
        log "$dir does not exist: nothing to stop"
        return 0
    fi
    [[ -f $dir/$MARKER ]] || die "$dir was not made by 'broker.sh start'; not touching it"
    dir=$(cd "$dir" && pwd)
    if [[ -f $dir/pid ]]; then kill_broker "$(<"$dir/pid")" "$dir"; fi
    rm -rf "$dir"
}

case ${1:-} in
    fetch) shift; cmd_fetch "$@" ;;
    start) shift; cmd_start "$@" ;;
    create-topic) shift; cmd_create_topic "$@" ;;
    restart) shift; cmd_restart "$@" ;;
    join) shift; cmd_join "$@" ;;
    allow-read) shift; cmd_allow_read "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) usage ;;
esac
