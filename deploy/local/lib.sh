# shellcheck shell=bash
# Functions shared by the local stack scripts (install, up, down, restart, reset).
# Sourced, never run. Everything listens on 127.0.0.1; all state of a stack lives in its
# STACK_DIR (.local/ unless set).
#
# Several stacks can run side by side: each has its own STACK_DIR and a STACK_PORT_OFFSET
# added to every port (0: the ports of SPEC §8). A stack with an offset runs a PostgreSQL
# cluster of its own under its STACK_DIR; offset 0 uses the packaged cluster `main`.
# STACK_PORT_OFFSET and KAFKA_BROKERS are recorded in the stack's env file, so the scripts
# called later for the same STACK_DIR need neither again.
#
# Processes we start run in their own session (setsid), with a pid file under pids/ and the
# session's id beside it. For `uv run` wrappers the pid file names the Python process
# itself, so that a fault test killing that pid kills the service (uv then exits too);
# stopping signals that pid first, then kills whatever is left of its session. Starting
# something whose last run was killed first clears what that run left behind.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ---------------------------------------------------------------- messages

say() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] warning: %s\n' "$*" >&2; }
die() {
    printf '[stack] error: %s\n' "$*" >&2
    exit 1
}

show_log_tail() {
    local file=$1
    [[ -r $file ]] || return 0
    printf -- '--- last lines of %s\n' "$file" >&2
    tail -n 40 "$file" >&2
    printf -- '---\n' >&2
}

# ---------------------------------------------------------------- where and which ports

STACK_DIR=${STACK_DIR:-$ROOT/.local}
[[ $STACK_DIR == /* ]] || STACK_DIR=$ROOT/$STACK_DIR
LOCAL_DIR=$STACK_DIR
LOG_DIR=$LOCAL_DIR/logs
PID_DIR=$LOCAL_DIR/pids
CONF_DIR=$LOCAL_DIR/conf
KAFKA_LIBS=$ROOT/.local/kafka/libs # the jars, shared by every stack of this checkout
KAFKA_DATA=$LOCAL_DIR/kafka/data
REDIS_DIR=$LOCAL_DIR/redis
SINK_STORE=$LOCAL_DIR/devsink
ENV_FILE=$LOCAL_DIR/env
TOKEN_SECRET_FILE=$LOCAL_DIR/token_secret
SIGNING_SECRET_FILE=$LOCAL_DIR/signing_keys_secret
DNS_DIR=$LOCAL_DIR/dns
POSTGRES_MARKER=$PID_DIR/postgres.started

# recorded NAME: the value of NAME in the stack's env file (empty when it has none).
recorded() {
    [[ -f $ENV_FILE ]] && sed -n "s/^export $1=//p" "$ENV_FILE" | tail -n 1
    return 0
}

STACK_PORT_OFFSET=${STACK_PORT_OFFSET:-$(recorded STACK_PORT_OFFSET)}
STACK_PORT_OFFSET=${STACK_PORT_OFFSET:-0}
KAFKA_BROKERS=${KAFKA_BROKERS:-$(recorded KAFKA_BROKERS)}
KAFKA_BROKERS=${KAFKA_BROKERS:-1}
[[ $STACK_PORT_OFFSET =~ ^[0-9]+$ ]] && ((STACK_PORT_OFFSET <= 56000)) ||
    die "STACK_PORT_OFFSET must be a number from 0 to 56000, not '$STACK_PORT_OFFSET'"
[[ $KAFKA_BROKERS =~ ^[1-9]$ ]] || die "KAFKA_BROKERS must be a number from 1 to 9"

shifted() { echo $(($1 + STACK_PORT_OFFSET)); }

KAFKA_PORT=$(shifted 9092)
KAFKA_CONTROLLER_PORT=$(shifted 9093)
POSTGRES_PORT=$(shifted 5432)
REDIS_PORT=$(shifted 6379)
SINK_SMTP_PORT=$(shifted 2525)
SINK_HTTP_PORT=$(shifted 8025)
BOUNCE_SMTP_PORT=$(shifted 2626)
DNS_PORT=$(shifted 5353)
DNS_CONTROL_PORT=$(shifted 5354)
ALL_SERVICES=(composer recipients delivery tracking notifier console)
declare -A SERVICE_PORT=(
    [composer]=$(shifted 8001) [recipients]=$(shifted 8002) [delivery]=$(shifted 8003)
    [tracking]=$(shifted 8004) [notifier]=$(shifted 8005) [console]=$(shifted 8000)
)
# Every partition on three brokers at most; an acknowledged write is on two of them.
KAFKA_REPLICATION=$((KAFKA_BROKERS < 3 ? KAFKA_BROKERS : 3))
KAFKA_MIN_ISR=$((KAFKA_REPLICATION > 2 ? 2 : 1))

READY_TIMEOUT=${READY_TIMEOUT:-120}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
UV=${UV:-uv}

# ---------------------------------------------------------------- setup

make_local_dirs() {
    mkdir -p "$LOG_DIR" "$PID_DIR" "$CONF_DIR" "$LOCAL_DIR/kafka" "$REDIS_DIR" "$SINK_STORE" "$DNS_DIR"
}

# One stack script at a time per stack; scripts calling each other inherit the lock.
take_stack_lock() {
    [[ ${STACK_LOCK_HELD:-} == "$LOCAL_DIR" ]] && return 0
    mkdir -p "$LOCAL_DIR"
    exec 9>"$LOCAL_DIR/stack.lock"
    flock -w 300 9 || die "another deploy/local script holds $LOCAL_DIR/stack.lock"
    export STACK_LOCK_HELD=$LOCAL_DIR
}

declare -A INSTANCES=() # instances per service, as up.sh starts them

# Instances 1..N of SERVICE that the env file lists: those started now (INSTANCES, set by
# up.sh) and those recorded by an earlier start.
listed_instances() {
    local service=$1 wanted=${INSTANCES[$1]:-1} k highest=1
    for ((k = 2; k <= 9; k++)); do
        [[ -f $PID_DIR/$(instance_name "$service" "$k").pid ]] && highest=$k
    done
    echo $((wanted > highest ? wanted : highest))
}

instance_urls() {
    local service=$1 k urls=()
    for ((k = 1; k <= $(listed_instances "$service"); k++)); do
        urls+=("http://127.0.0.1:$(instance_port "$service" "$k")")
    done
    (
        IFS=,
        echo "${urls[*]}"
    )
}

write_env_file() {
    local file service
    for file in "$TOKEN_SECRET_FILE" "$SIGNING_SECRET_FILE"; do
        [[ -s $file ]] || (umask 077 && openssl rand -hex 32 >"$file")
    done
    {
        cat <<EOF
export STACK_DIR=$LOCAL_DIR
export STACK_PORT_OFFSET=$STACK_PORT_OFFSET
export KAFKA_BROKERS=$KAFKA_BROKERS
export KAFKA_REPLICATION=$KAFKA_REPLICATION
export KAFKA_BOOTSTRAP_SERVERS=$(kafka_bootstrap)
export DATABASE_URL=postgresql://bulkmail:bulkmail@127.0.0.1:$POSTGRES_PORT/bulkmail?sslmode=disable
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export SMTP_HOST=127.0.0.1
export SMTP_PORT=$SINK_SMTP_PORT
export SINK_API_URL=http://127.0.0.1:$SINK_HTTP_PORT
export TRACKING_BASE_URL=http://127.0.0.1:${SERVICE_PORT[tracking]}
export COMPOSER_URL=http://127.0.0.1:${SERVICE_PORT[composer]}
export RECIPIENTS_URL=http://127.0.0.1:${SERVICE_PORT[recipients]}
export DELIVERY_URL=http://127.0.0.1:${SERVICE_PORT[delivery]}
export NOTIFIER_URL=http://127.0.0.1:${SERVICE_PORT[notifier]}
export CONSOLE_URL=http://127.0.0.1:${SERVICE_PORT[console]}
export TOKEN_SECRET=$(<"$TOKEN_SECRET_FILE")
export SIGNING_KEYS_SECRET=$(<"$SIGNING_SECRET_FILE")
export BOUNCE_SMTP_PORT=$BOUNCE_SMTP_PORT
export DNS_RESOLVER=127.0.0.1:$DNS_PORT
export DNS_CONTROL=127.0.0.1:$DNS_CONTROL_PORT
EOF
        for service in "${ALL_SERVICES[@]}"; do
            echo "export ${service^^}_URLS=$(instance_urls "$service")"
        done
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

load_env_file() {
    [[ -f $ENV_FILE ]] || write_env_file
    # shellcheck source=/dev/null
    source "$ENV_FILE"
}

# ---------------------------------------------------------------- processes

is_alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $state != Z* ]]
}

# True for a process working under the repository, i.e. one of ours.
is_ours() {
    local cwd
    cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
    [[ $cwd == "$ROOT" || $cwd == "$ROOT"/* ]]
}

# Prints the pid recorded for NAME if that process still runs and is ours: everything we
# spawn works under the repository, so a pid reused by some other program is not taken for it.
live_pid() {
    local file=$PID_DIR/$1.pid pid
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] && is_alive "$pid" && is_ours "$pid" || return 1
    echo "$pid"
}

# spawn NAME LOG CMD...: runs CMD in a new session, detached; records its pid for NAME and
# the session's id (the same pid: setsid in a process that leads no group does not fork).
spawn() {
    local name=$1 log=$2
    shift 2
    (cd "$ROOT" && exec setsid "$@" >>"$log" 2>&1 </dev/null 9>&-) &
    echo $! >"$PID_DIR/$name.pid"
    echo $! >"$PID_DIR/$name.sid"
}

# spawn_uv NAME LOG MODULE [ARGS...]: `uv run --frozen python -m MODULE`, recording the
# Python process (a child of uv) as NAME's pid.
spawn_uv() {
    local name=$1 log=$2 module=$3 leader python_pid
    shift 3
    spawn "$name" "$log" "$UV" run --frozen python -m "$module" "$@"
    leader=$(<"$PID_DIR/$name.pid")
    local deadline=$((SECONDS + READY_TIMEOUT))
    until python_pid=$(pgrep -o -s "$leader" -f "^[^ ]*python[^ ]* -m $module( |$)"); do
        if ! is_alive "$leader"; then
            show_log_tail "$log"
            die "$name exited during startup"
        fi
        ((SECONDS < deadline)) || die "$name: no Python process under uv after ${READY_TIMEOUT}s"
        sleep 0.2
    done
    echo "$python_pid" >"$PID_DIR/$name.pid"
}

# await_ready NAME LOG CHECK...: waits until CHECK succeeds while NAME's process runs.
await_ready() {
    local name=$1 log=$2
    shift 2
    local deadline=$((SECONDS + READY_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ! live_pid "$name" >/dev/null; then
            show_log_tail "$log"
            die "$name exited during startup (log: $log)"
        fi
        if ((SECONDS >= deadline)); then
            show_log_tail "$log"
            die "$name not ready after ${READY_TIMEOUT}s (log: $log)"
        fi
        sleep 0.5
    done
}

# wait_gone SECONDS PID...: true once none of the PIDs runs.
wait_gone() {
    local deadline=$((SECONDS + $1)) pid
    shift
    for pid in "$@"; do
        while is_alive "$pid"; do
            ((SECONDS < deadline)) || return 1
            sleep 0.2
        done
    done
}

session_members() { pgrep -s "$1" 2>/dev/null || true; }

# Live members of session SID that are ours; never our own session.
our_session_members() {
    local sid=$1 pid own_session
    own_session=$(ps -o sid= -p $$ | tr -d ' ')
    [[ $sid =~ ^[0-9]+$ && $sid != "$own_session" && $sid != 0 ]] || return 0
    for pid in $(session_members "$sid"); do
        is_alive "$pid" && is_ours "$pid" && echo "$pid"
    done
    return 0
}

# settle NAME: clears what a killed run of NAME left behind before NAME starts again: the
# rest of its session (tracking's worker processes outlive a killed supervisor and keep its
# ports) is killed and waited for.
settle() {
    local name=$1 sid_file=$PID_DIR/$1.sid members
    [[ -s $sid_file ]] || return 0
    members=$(our_session_members "$(<"$sid_file")")
    if [[ -n $members ]]; then
        say "$name: killing what is left of its last run: $(echo "$members" | paste -sd ' ')"
        # shellcheck disable=SC2086
        kill -KILL $members 2>/dev/null || true
        # shellcheck disable=SC2086
        wait_gone "$STOP_TIMEOUT" $members || die "$name: processes of its last run survive SIGKILL"
    fi
    rm -f "$sid_file"
}

# stop_processes SIGNAL NAME...: SIGNAL (TERM or KILL) to each NAME's process, all at once;
# after STOP_TIMEOUT, SIGKILL; then nothing of their sessions is left.
stop_processes() {
    local signal=$1 name pid sessions=() pids=()
    shift
    for name in "$@"; do
        if pid=$(live_pid "$name"); then
            pids+=("$pid")
            sessions+=("$(ps -o sid= -p "$pid" | tr -d ' ')")
            say "stopping $name (pid $pid, SIG$signal)"
            kill -s "$signal" "$pid" 2>/dev/null || true
        elif [[ -s $PID_DIR/$name.sid ]]; then
            sessions+=("$(<"$PID_DIR/$name.sid")")
        fi
        rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.sid"
    done
    if ((${#pids[@]})) && ! wait_gone "$STOP_TIMEOUT" "${pids[@]}"; then
        warn "still running after ${STOP_TIMEOUT}s, killing: ${pids[*]}"
        kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    ((${#sessions[@]})) && kill_leftover_sessions "${sessions[@]}"
    return 0
}

# What is left of our sessions (their leader was a process we spawned) is killed.
kill_leftover_sessions() {
    local session members
    for session in "$@"; do
        members=$(our_session_members "$session")
        [[ -z $members ]] && continue
        sleep 0.5 # uv exits on its own once its child is gone
        members=$(our_session_members "$session")
        [[ -z $members ]] && continue
        # shellcheck disable=SC2086
        kill -KILL $members 2>/dev/null || true
        # shellcheck disable=SC2086
        wait_gone 5 $members || warn "processes of session $session survived SIGKILL"
    done
}

# A lock file (first line: its owner's pid) whose owner is gone (or a zombie: it holds
# nothing any more, but PostgreSQL would still take it for alive) is removed; one whose
# owner runs is kept. True when the file is absent afterwards.
remove_stale_lock() {
    local file=$1 owner
    [[ -e $file ]] || return 0
    owner=$(head -n 1 "$file" 2>/dev/null | tr -d ' -')
    if [[ $owner =~ ^[0-9]+$ ]] && is_alive "$owner"; then
        return 1
    fi
    say "removing $file: its owner (pid ${owner:-?}) is gone"
    rm -f "$file" 2>/dev/null || as_postgres rm -f "$file"
}

# Live processes (other than this script) holding FILE open.
holders_of() {
    local file=$1 fd pid
    for fd in /proc/[0-9]*/fd/*; do
        [[ $(readlink "$fd" 2>/dev/null) == "$file" ]] || continue
        pid=${fd#/proc/}
        pid=${pid%%/*}
        [[ $pid != "$$" && $pid != "$BASHPID" ]] && is_alive "$pid" && echo "$pid"
    done 2>/dev/null | sort -u
}

# ---------------------------------------------------------------- ports

port_in_use() { [[ -n $(ss -Hltn "sport = :$1") ]]; }

port_owner() {
    ss -Hltnp "sport = :$1" | grep -o 'users:(.*)' | head -n 1
}

require_port_free() {
    local port=$1 what=$2
    port_in_use "$port" || return 0
    die "port $port (for $what) is taken by a process that is not ours: $(port_owner "$port")
       ss -ltnp says: $(ss -Hltnp "sport = :$port" | head -n 1)"
}

http_ok() { curl -fsS -o /dev/null -m 2 "$1"; }

# ---------------------------------------------------------------- Kafka
#
# KAFKA_BROKERS=1: one node "kafka" (broker 9092, controller 9093), formatted standalone.
# KAFKA_BROKERS=3: nodes "kafka-1" (9092/9093), "kafka-2" (9094/9095), "kafka-3" (9096/9097),
# each broker and controller at once, with a static quorum of all three controllers; topics
# have three replicas and take a write once two have it (min.insync.replicas=2).

kafka_nodes() {
    local i
    if ((KAFKA_BROKERS == 1)); then
        echo kafka
    else
        for ((i = 1; i <= KAFKA_BROKERS; i++)); do echo "kafka-$i"; done
    fi
}

kafka_node_id() { if [[ $1 == kafka ]]; then echo 1; else echo "${1#kafka-}"; fi; }
kafka_broker_port() { echo $((KAFKA_PORT + 2 * ($(kafka_node_id "$1") - 1))); }
kafka_controller_port() { echo $(($(kafka_broker_port "$1") + 1)); }
kafka_data_dir() { if [[ $1 == kafka ]]; then echo "$KAFKA_DATA"; else echo "$LOCAL_DIR/kafka/$1"; fi; }

kafka_bootstrap() {
    local node servers=()
    for node in $(kafka_nodes); do servers+=("127.0.0.1:$(kafka_broker_port "$node")"); done
    (
        IFS=,
        echo "${servers[*]}"
    )
}

kafka_voters() {
    local node voters=()
    for node in $(kafka_nodes); do
        voters+=("$(kafka_node_id "$node")@127.0.0.1:$(kafka_controller_port "$node")")
    done
    (
        IFS=,
        echo "${voters[*]}"
    )
}

# kafka_java NODE: KAFKA_JAVA becomes the JVM's command line for NODE.
kafka_java() {
    KAFKA_JAVA=(
        java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
        -Djava.net.preferIPv4Stack=true
        -Dlog4j2.configurationFile="$CONF_DIR/$1-log4j2.properties" -cp "$KAFKA_LIBS/*"
    )
}

kafka_write_config() {
    local name=$1 broker controller quorum
    broker=$(kafka_broker_port "$name")
    controller=$(kafka_controller_port "$name")
    if [[ $name == kafka ]]; then
        quorum="# Single-node KRaft: this process is both broker and controller.
controller.quorum.bootstrap.servers=127.0.0.1:$controller"
    else
        quorum="# Node $(kafka_node_id "$name") of $KAFKA_BROKERS, each broker and controller (static quorum).
controller.quorum.voters=$(kafka_voters)
# A killed node is fenced, and its partitions led by others, within a few seconds.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=500
offsets.topic.num.partitions=12"
    fi
    cat >"$CONF_DIR/$name.properties" <<EOF
$quorum
process.roles=broker,controller
node.id=$(kafka_node_id "$name")
listeners=PLAINTEXT://127.0.0.1:$broker,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$broker
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$(kafka_data_dir "$name")
num.partitions=1
default.replication.factor=$KAFKA_REPLICATION
min.insync.replicas=$KAFKA_MIN_ISR
auto.create.topics.enable=false
offsets.topic.replication.factor=$KAFKA_REPLICATION
transaction.state.log.replication.factor=$KAFKA_REPLICATION
transaction.state.log.min.isr=$KAFKA_MIN_ISR
share.coordinator.state.topic.replication.factor=$KAFKA_REPLICATION
share.coordinator.state.topic.min.isr=$KAFKA_MIN_ISR
group.initial.rebalance.delay.ms=0
EOF
    cat >"$CONF_DIR/$name-log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOG_DIR/$name.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
# One line per partition and event otherwise: thousands when tests create many topics.
logger.state-change.name = state.change.logger
logger.state-change.level = warn
logger.partition.name = kafka.cluster.Partition
logger.partition.level = warn
logger.log-manager.name = kafka.log.LogManager
logger.log-manager.level = warn
logger.log.name = org.apache.kafka.storage.internals.log
logger.log.level = warn
logger.replication.name = org.apache.kafka.controller.ReplicationControlManager
logger.replication.level = warn
logger.partition-change.name = org.apache.kafka.controller.PartitionChangeBuilder
logger.partition-change.level = warn
EOF
}

# kafka_cluster_id NODE: the cluster's id, one for all nodes of this stack, made once.
kafka_cluster_id() {
    local file=$LOCAL_DIR/kafka/cluster.id
    if [[ ! -s $file ]]; then
        kafka_java "$1"
        "${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid >"$file"
    fi
    cat "$file"
}

kafka_format_storage_once() {
    local name=$1 data cluster_id mode=()
    data=$(kafka_data_dir "$name")
    [[ -f $data/meta.properties ]] && return 0
    cluster_id=$(kafka_cluster_id "$name")
    [[ $name == kafka ]] && mode=(--standalone)
    say "formatting $name storage (cluster $cluster_id)"
    kafka_java "$name"
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format "${mode[@]}" -t "$cluster_id" \
        -c "$CONF_DIR/$name.properties" >>"$LOG_DIR/$name.log" 2>&1 ||
        {
            show_log_tail "$LOG_DIR/$name.log"
            die "$name: storage format failed"
        }
}

# A node killed a moment ago may still hold its log directory's lock while it exits.
kafka_await_lock_released() {
    local name=$1 lock holders deadline=$((SECONDS + STOP_TIMEOUT))
    lock=$(kafka_data_dir "$name")/.lock
    [[ -e $lock ]] || return 0
    while holders=$(holders_of "$lock") && [[ -n $holders ]]; do
        if ! is_ours "${holders%%$'\n'*}" || ((SECONDS >= deadline)); then
            die "$name: $lock is held by pid $(echo "$holders" | paste -sd ' ')"
        fi
        sleep 0.2
    done
}

# kafka_start [NODE...]: the given nodes (default: all) unless they run already.
kafka_start() {
    local nodes=("$@") name pid
    ((${#nodes[@]})) || mapfile -t nodes < <(kafka_nodes)
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null ||
        die "no Kafka jars in $KAFKA_LIBS; run deploy/local/install.sh"
    kafka_refuse_other_layout
    for name in "${nodes[@]}"; do
        if pid=$(live_pid "$name"); then
            say "$name already running (pid $pid)"
            continue
        fi
        settle "$name"
        kafka_await_lock_released "$name"
        require_port_free "$(kafka_broker_port "$name")" "$name"
        require_port_free "$(kafka_controller_port "$name")" "$name controller"
        kafka_write_config "$name"
        kafka_format_storage_once "$name"
        say "starting $name"
        # The JVM's own output (crashes) goes to the same file as log4j's.
        kafka_java "$name"
        spawn "$name" "$LOG_DIR/$name.log" "${KAFKA_JAVA[@]}" kafka.Kafka "$CONF_DIR/$name.properties"
    done
}

# A single node and a cluster use the same ports: only one of them runs in a stack.
kafka_refuse_other_layout() {
    local other pid
    if ((KAFKA_BROKERS == 1)); then other=$(compgen -G "$PID_DIR/kafka-[0-9]*.pid" || true); else other=$PID_DIR/kafka.pid; fi
    for other in $other; do
        if pid=$(live_pid "$(basename "$other" .pid)"); then
            die "$(basename "$other" .pid) (pid $pid) runs with another KAFKA_BROKERS; stop the stack first (deploy/local/down.sh)"
        fi
    done
}

create_topics() {
    (cd "$ROOT" && "$UV" run --frozen python tools/topics.py create --bootstrap "$(kafka_bootstrap)" \
        --replication "$KAFKA_REPLICATION" --brokers "$KAFKA_BROKERS")
}

# Ready means every node listens and is registered, and clients can create topics (so the
# controllers and the brokers are up).
kafka_wait_ready() {
    local nodes=("$@") name output deadline
    ((${#nodes[@]})) || mapfile -t nodes < <(kafka_nodes)
    for name in "${nodes[@]}"; do
        await_ready "$name" "$LOG_DIR/$name.log" port_in_use "$(kafka_broker_port "$name")"
    done
    deadline=$((SECONDS + READY_TIMEOUT))
    until output=$(create_topics 2>&1); do
        for name in "${nodes[@]}"; do
            live_pid "$name" >/dev/null || {
                show_log_tail "$LOG_DIR/$name.log"
                die "$name exited during startup"
            }
        done
        if ((SECONDS >= deadline)); then
            printf '%s\n' "$output" | tail -n 20 >&2
            show_log_tail "$LOG_DIR/${nodes[0]}.log"
            die "kafka: topic creation failed for ${READY_TIMEOUT}s"
        fi
        sleep 1
    done
    say "kafka ready ($(kafka_bootstrap)): ${output##*$'\n'}"
}

# ---------------------------------------------------------------- PostgreSQL
#
# Offset 0: the packaged cluster `main` (pg_ctlcluster), as on a developer's machine.
# Any other offset: a cluster of this stack's own in $LOCAL_DIR/postgres (initdb, pg_ctl),
# run by the postgres user, its socket in $LOCAL_DIR/postgres/run.

as_postgres() {
    if ((EUID == 0)); then
        (cd /tmp && runuser -u postgres -- "$@")
    else
        (cd /tmp && sudo -u postgres -- "$@")
    fi
}

postgres_private() { ((STACK_PORT_OFFSET != 0)); }

pg_cluster_version() {
    if postgres_private; then
        find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
            awk -F/ '{ print $5 }' | sort -V | tail -n 1
    else
        pg_lsclusters -h 2>/dev/null | awk '$2 == "main" { print $1; exit }'
    fi
}

pg_cluster_field() { pg_lsclusters -h | awk -v v="$1" -v f="$2" '$1 == v && $2 == "main" { print $f }'; }

PG_PRIVATE_DIR=$LOCAL_DIR/postgres

pg_data_dir() {
    if postgres_private; then
        echo "$PG_PRIVATE_DIR/data"
    else
        pg_cluster_field "$(pg_cluster_version)" 6
    fi
}

pg_socket_dir() { if postgres_private; then echo "$PG_PRIVATE_DIR/run"; else echo /var/run/postgresql; fi; }

pg_log_file() {
    if postgres_private; then
        echo "$PG_PRIVATE_DIR/postgres.log"
    else
        echo "/var/log/postgresql/postgresql-$(pg_cluster_version)-main.log"
    fi
}

# pg_ctl start|stop -m MODE|restart. The server must not inherit the stack lock (fd 9), or
# it would hold it as long as it runs.
pg_ctl() {
    if postgres_private; then
        as_postgres "/usr/lib/postgresql/$(pg_cluster_version)/bin/pg_ctl" -D "$(pg_data_dir)" \
            -l "$(pg_log_file)" -w -t "$READY_TIMEOUT" "$@" >/dev/null 9>&-
    else
        pg_ctlcluster "$(pg_cluster_version)" main "$@" 9>&-
    fi
}

psql_admin() {
    as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$POSTGRES_PORT" \
        -d postgres "$@"
}

postgres_ready() { pg_isready -q -h 127.0.0.1 -p "$POSTGRES_PORT"; }

# The postmaster's pid, if it runs (a zombie does not).
postgres_pid() {
    local pid
    pid=$(as_postgres head -n 1 "$(pg_data_dir)/postmaster.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && is_alive "$pid" && echo "$pid"
}

# Server processes of the data directory that still run (after a killed postmaster, its
# backends exit by themselves, a moment later).
postgres_leftovers() {
    local data pid
    data=$(pg_data_dir)
    for pid in $(pgrep -x postgres); do
        [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$data" ]] && is_alive "$pid" && echo "$pid"
    done
    return 0
}

# After a SIGKILL of the postmaster, its lock files stay, naming it; until its parent reaps
# it, PostgreSQL takes the zombie for a running server and refuses to start. Once no
# process of the old server runs (they share its memory), the stale files go.
postgres_clear_stale() {
    local data socket_lock deadline=$((SECONDS + STOP_TIMEOUT)) leftovers
    data=$(pg_data_dir)
    socket_lock=$(pg_socket_dir)/.s.PGSQL.$POSTGRES_PORT.lock
    while leftovers=$(postgres_leftovers) && [[ -n $leftovers ]]; do
        ((SECONDS < deadline)) ||
            die "processes of the last PostgreSQL server still run: $(echo "$leftovers" | paste -sd ' ')"
        sleep 0.2
    done
    as_postgres test -e "$data/postmaster.pid" && {
        remove_stale_lock_as_postgres "$data/postmaster.pid" ||
            die "$data/postmaster.pid names a running process"
    }
    remove_stale_lock "$socket_lock" && rm -f "${socket_lock%.lock}" 2>/dev/null
    return 0
}

# The data directory is readable by postgres only.
remove_stale_lock_as_postgres() {
    local file=$1 owner
    owner=$(as_postgres head -n 1 "$file" 2>/dev/null | tr -d ' -')
    if [[ $owner =~ ^[0-9]+$ ]] && is_alive "$owner"; then
        return 1
    fi
    say "removing $file: its owner (pid ${owner:-?}) is gone"
    as_postgres rm -f "$file"
}

postgres_init_private() {
    local data version
    data=$(pg_data_dir)
    version=$(pg_cluster_version)
    [[ -n $version ]] || die "no PostgreSQL server installed (run deploy/local/install.sh)"
    mkdir -p "$PG_PRIVATE_DIR"
    chown postgres: "$PG_PRIVATE_DIR"
    as_postgres mkdir -p "$(pg_socket_dir)"
    if ! as_postgres test -f "$data/PG_VERSION"; then
        say "creating the stack's own PostgreSQL $version cluster in $data"
        as_postgres "/usr/lib/postgresql/$version/bin/initdb" -D "$data" -U postgres -E UTF8 \
            --locale=C --auth-local=peer --auth-host=scram-sha-256 >/dev/null ||
            die "initdb failed"
        echo "include_if_exists = 'stack.conf'" | as_postgres tee -a "$data/postgresql.conf" >/dev/null
    fi
    as_postgres tee "$data/stack.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '$(pg_socket_dir)'
max_connections = 300
EOF
}

postgres_start() {
    local version pid
    version=$(pg_cluster_version)
    if postgres_private; then
        postgres_init_private
    else
        [[ -n $version ]] || die "no PostgreSQL cluster 'main' (run deploy/local/install.sh)"
        [[ $(pg_cluster_field "$version" 3) == "$POSTGRES_PORT" ]] ||
            die "PostgreSQL $version/main is configured for port $(pg_cluster_field "$version" 3), not $POSTGRES_PORT"
    fi
    if pid=$(postgres_pid); then
        say "postgres $version already running (pid $pid)"
    else
        postgres_clear_stale
        require_port_free "$POSTGRES_PORT" postgres
        say "starting postgres $version ($(pg_data_dir))"
        pg_ctl start || {
            show_log_tail "$(pg_log_file)"
            die "postgres did not start"
        }
        touch "$POSTGRES_MARKER"
    fi
    postgres_wait_ready
}

postgres_wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT))
    until postgres_ready; do
        if ((SECONDS >= deadline)); then
            show_log_tail "$(pg_log_file)"
            die "postgres does not answer on 127.0.0.1:$POSTGRES_PORT"
        fi
        sleep 0.5
    done
}

# postgres_stop [fast|immediate]
postgres_stop() {
    say "stopping postgres $(pg_cluster_version) (${1:-fast})"
    pg_ctl stop -m "${1:-fast}"
}

postgres_configure() {
    psql_admin <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bulkmail') THEN
        CREATE ROLE bulkmail LOGIN PASSWORD 'bulkmail' CREATEDB;
    END IF;
END
$$;
SQL
    postgres_create_database
    if [[ $(psql_admin -c 'SHOW max_connections') != 300 ]]; then
        say "raising postgres max_connections to 300 (restart)"
        psql_admin -c 'ALTER SYSTEM SET max_connections = 300'
        pg_ctl restart
        postgres_wait_ready
    fi
}

postgres_create_database() {
    if [[ -z $(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'bulkmail'") ]]; then
        psql_admin -c 'CREATE DATABASE bulkmail OWNER bulkmail'
    fi
}

postgres_recreate_database() {
    say "dropping and recreating database bulkmail"
    psql_admin -c 'DROP DATABASE IF EXISTS bulkmail WITH (FORCE)'
    postgres_create_database
}

# ---------------------------------------------------------------- Redis

redis_write_config() {
    cat >"$CONF_DIR/redis.conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize no
pidfile $PID_DIR/redis.pid
logfile ""
dir $REDIS_DIR
appendonly yes
appendfsync everysec
save ""
EOF
}

redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_start() {
    local pid
    if pid=$(live_pid redis); then
        say "redis already running (pid $pid)"
        return 0
    fi
    settle redis
    require_port_free "$REDIS_PORT" redis
    redis_write_config
    say "starting redis"
    spawn redis "$LOG_DIR/redis.log" redis-server "$CONF_DIR/redis.conf"
}

redis_wait_ready() { await_ready redis "$LOG_DIR/redis.log" redis_ping; }

# ---------------------------------------------------------------- dev SMTP sink

sink_start() {
    local pid
    if pid=$(live_pid sink); then
        say "sink already running (pid $pid)"
        return 0
    fi
    settle sink
    require_port_free "$SINK_SMTP_PORT" "sink SMTP"
    require_port_free "$SINK_HTTP_PORT" "sink HTTP"
    say "starting the dev SMTP sink"
    spawn_uv sink "$LOG_DIR/sink.log" devsink --host 127.0.0.1 \
        --smtp-port "$SINK_SMTP_PORT" --http-port "$SINK_HTTP_PORT" --store-dir "$SINK_STORE"
}

sink_ready() { port_in_use "$SINK_SMTP_PORT" && http_ok "http://127.0.0.1:$SINK_HTTP_PORT/healthz"; }

sink_wait_ready() { await_ready sink "$LOG_DIR/sink.log" sink_ready; }

# ---------------------------------------------------------------- DNS (unbound)

# Answers for everything and asks nobody: "." is a static local zone, so every answer comes
# from the records tests and tools add at run time through the control port (testkit.dns,
# tools/dns.py). The records live in memory: a restarted server starts empty.
dns_write_config() {
    cat >"$CONF_DIR/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$DNS_PORT
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$DNS_DIR"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    module-config: "iterator"
    local-zone: "." static
    do-not-query-address: 0.0.0.0/0
    access-control: 127.0.0.0/8 allow
remote-control:
    control-enable: yes
    control-interface: 127.0.0.1
    control-port: $DNS_CONTROL_PORT
    control-use-cert: no
EOF
}

dns_ready() { unbound-control -c "$CONF_DIR/unbound.conf" status; }

dns_start() {
    local pid
    if pid=$(live_pid dns); then
        say "dns already running (pid $pid)"
        return 0
    fi
    command -v unbound >/dev/null || die "unbound is missing; run deploy/local/install.sh"
    require_port_free "$DNS_PORT" dns
    require_port_free "$DNS_CONTROL_PORT" "dns control"
    dns_write_config
    say "starting dns (unbound) on :$DNS_PORT"
    spawn dns "$LOG_DIR/dns.log" unbound -d -c "$CONF_DIR/unbound.conf"
}

dns_wait_ready() { await_ready dns "$LOG_DIR/dns.log" dns_ready; }

# ---------------------------------------------------------------- services

# Instance k of a service: "delivery" for k=1, then "delivery-2", ...; HTTP port +100 each
# (tracking's internal port, 8014, moves the same way).
instance_name() { if (($2 == 1)); then echo "$1"; else echo "$1-$2"; fi; }
instance_port() { echo $((SERVICE_PORT[$1] + 100 * ($2 - 1))); }

service_healthy() { http_ok "http://127.0.0.1:$1/healthz"; }

# service_start SERVICE K: starts instance K unless it already runs. A service calling
# another (the console, API keys checked with the composer, ...) is given every instance
# of it, and fails over between them (servicekit.peers).
service_start() {
    local service=$1 k=$2 name port pid
    name=$(instance_name "$service" "$k")
    port=$(instance_port "$service" "$k")
    if pid=$(live_pid "$name"); then
        say "$name already running (pid $pid)"
        return 0
    fi
    settle "$name"
    require_port_free "$port" "$name"
    say "starting $name on :$port"
    HTTP_PORT=$port INTERNAL_PORT=$((port + 10)) INSTANCE_ID=$service-$k \
        COMPOSER_URL=${COMPOSER_URLS:-$COMPOSER_URL} RECIPIENTS_URL=${RECIPIENTS_URLS:-$RECIPIENTS_URL} \
        spawn_uv "$name" "$LOG_DIR/$name.log" "$service"
}

service_wait_ready() {
    local service=$1 k=$2 name
    name=$(instance_name "$service" "$k")
    await_ready "$name" "$LOG_DIR/$name.log" service_healthy "$(instance_port "$service" "$k")"
    say "$name healthy"
}

# Names of the service instances whose pid files exist (running or not).
recorded_service_instances() {
    local service file
    for service in "${ALL_SERVICES[@]}"; do
        for file in "$PID_DIR/$service.pid" "$PID_DIR/$service"-[0-9]*.pid; do
            [[ -f $file ]] && basename "$file" .pid
        done
    done
    return 0
}

# Names of the Kafka nodes whose pid files exist.
recorded_kafka_nodes() {
    local file
    for file in "$PID_DIR/kafka.pid" "$PID_DIR"/kafka-[0-9]*.pid; do
        [[ -f $file ]] && basename "$file" .pid
    done
    return 0
}
