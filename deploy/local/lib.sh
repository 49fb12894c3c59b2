# shellcheck shell=bash
# Functions shared by the local stack scripts (install, up, down, restart, reset).
# Sourced, never run. Everything listens on 127.0.0.1; all state lives under .local/.
#
# Processes we start run in their own session (setsid), with a pid file under .local/pids.
# For `uv run` wrappers the pid file names the Python process itself, so that a fault test
# killing that pid kills the service (uv then exits too); stopping signals that pid first,
# then kills whatever is left of its session.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL_DIR=$ROOT/.local
LOG_DIR=$LOCAL_DIR/logs
PID_DIR=$LOCAL_DIR/pids
CONF_DIR=$LOCAL_DIR/conf
KAFKA_LIBS=$LOCAL_DIR/kafka/libs
KAFKA_DATA=$LOCAL_DIR/kafka/data
REDIS_DIR=$LOCAL_DIR/redis
SINK_STORE=$LOCAL_DIR/devsink
ENV_FILE=$LOCAL_DIR/env
TOKEN_SECRET_FILE=$LOCAL_DIR/token_secret
SIGNING_SECRET_FILE=$LOCAL_DIR/signing_keys_secret
DNS_DIR=$LOCAL_DIR/dns
POSTGRES_MARKER=$PID_DIR/postgres.started

KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
POSTGRES_PORT=5432
REDIS_PORT=6379
SINK_SMTP_PORT=2525
SINK_HTTP_PORT=8025
BOUNCE_SMTP_PORT=2626
DNS_PORT=5353
DNS_CONTROL_PORT=5354
ALL_SERVICES=(composer recipients delivery tracking notifier console)
declare -A SERVICE_PORT=([composer]=8001 [recipients]=8002 [delivery]=8003 [tracking]=8004 [notifier]=8005 [console]=8000)

READY_TIMEOUT=${READY_TIMEOUT:-120}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
UV=${UV:-uv}

# ---------------------------------------------------------------- messages

say() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] warning: %s\n' "$*" >&2; }
die() {
    printf '[stack] error: %s\n' "$*" >&2
    exit 1
}

show_log_tail() {
    local file=$1
    [[ -f $file ]] || return 0
    printf -- '--- last lines of %s\n' "$file" >&2
    tail -n 40 "$file" >&2
    printf -- '---\n' >&2
}

# ---------------------------------------------------------------- setup

make_local_dirs() {
    mkdir -p "$LOG_DIR" "$PID_DIR" "$CONF_DIR" "$KAFKA_DATA" "$REDIS_DIR" "$SINK_STORE" "$DNS_DIR"
}

# One stack script at a time; scripts calling each other inherit the lock.
take_stack_lock() {
    [[ ${STACK_LOCK_HELD:-} == 1 ]] && return 0
    mkdir -p "$LOCAL_DIR"
    exec 9>"$LOCAL_DIR/stack.lock"
    flock -w 300 9 || die "another deploy/local script holds $LOCAL_DIR/stack.lock"
    export STACK_LOCK_HELD=1
}

write_env_file() {
    local file
    for file in "$TOKEN_SECRET_FILE" "$SIGNING_SECRET_FILE"; do
        [[ -s $file ]] || (umask 077 && openssl rand -hex 32 >"$file")
    done
    cat >"$ENV_FILE.tmp" <<EOF
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
export DATABASE_URL=postgresql://bulkmail:bulkmail@127.0.0.1:$POSTGRES_PORT/bulkmail?sslmode=disable
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export SMTP_HOST=127.0.0.1
export SMTP_PORT=$SINK_SMTP_PORT
export SINK_API_URL=http://127.0.0.1:$SINK_HTTP_PORT
export TRACKING_BASE_URL=http://127.0.0.1:${SERVICE_PORT[tracking]}
export TOKEN_SECRET=$(<"$TOKEN_SECRET_FILE")
export SIGNING_KEYS_SECRET=$(<"$SIGNING_SECRET_FILE")
export BOUNCE_SMTP_PORT=$BOUNCE_SMTP_PORT
export DNS_RESOLVER=127.0.0.1:$DNS_PORT
export DNS_CONTROL=127.0.0.1:$DNS_CONTROL_PORT
EOF
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

# Prints the pid recorded for NAME if that process still runs and is ours: everything we
# spawn works under the repository, so a pid reused by some other program is not taken for it.
live_pid() {
    local file=$PID_DIR/$1.pid pid cwd
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] && is_alive "$pid" || return 1
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
    [[ $cwd == "$ROOT" || $cwd == "$ROOT"/* ]] || return 1
    echo "$pid"
}

# spawn NAME LOG CMD...: runs CMD in a new session, detached; records its pid for NAME.
spawn() {
    local name=$1 log=$2
    shift 2
    (cd "$ROOT" && exec setsid "$@" >>"$log" 2>&1 </dev/null 9>&-) &
    echo $! >"$PID_DIR/$name.pid"
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
        fi
        rm -f "$PID_DIR/$name.pid"
    done
    ((${#pids[@]})) || return 0
    if ! wait_gone "$STOP_TIMEOUT" "${pids[@]}"; then
        warn "still running after ${STOP_TIMEOUT}s, killing: ${pids[*]}"
        kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    kill_leftover_sessions "${sessions[@]}"
}

# A session is ours when its leader is a process we spawned; never touch our own session.
kill_leftover_sessions() {
    local session members own_session
    own_session=$(ps -o sid= -p $$ | tr -d ' ')
    for session in "$@"; do
        [[ -n $session && $session != "$own_session" && $session != 0 ]] || continue
        members=$(session_members "$session")
        [[ -z $members ]] && continue
        sleep 0.5 # uv exits on its own once its child is gone
        members=$(session_members "$session")
        [[ -z $members ]] && continue
        # shellcheck disable=SC2086
        kill -KILL $members 2>/dev/null || true
        # shellcheck disable=SC2086
        wait_gone 5 $members || warn "processes of session $session survived SIGKILL"
    done
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

KAFKA_JAVA=(
    java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Djava.net.preferIPv4Stack=true
    -Dlog4j2.configurationFile="$CONF_DIR/kafka-log4j2.properties" -cp "$KAFKA_LIBS/*"
)

kafka_write_config() {
    cat >"$CONF_DIR/kafka.properties" <<EOF
# Single-node KRaft: this process is both broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    cat >"$CONF_DIR/kafka-log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOG_DIR/kafka.log
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

kafka_format_storage_once() {
    [[ -f $KAFKA_DATA/meta.properties ]] && return 0
    local cluster_id
    cluster_id=$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid)
    say "formatting Kafka storage (cluster $cluster_id)"
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" \
        -c "$CONF_DIR/kafka.properties" >>"$LOG_DIR/kafka.log" 2>&1 ||
        {
            show_log_tail "$LOG_DIR/kafka.log"
            die "Kafka storage format failed"
        }
}

kafka_start() {
    local pid
    if pid=$(live_pid kafka); then
        say "kafka already running (pid $pid)"
        return 0
    fi
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null ||
        die "no Kafka jars in $KAFKA_LIBS; run deploy/local/install.sh"
    require_port_free "$KAFKA_PORT" kafka
    require_port_free "$KAFKA_CONTROLLER_PORT" "kafka controller"
    kafka_write_config
    kafka_format_storage_once
    say "starting kafka"
    # The JVM's own output (crashes) goes to the same file as log4j's.
    spawn kafka "$LOG_DIR/kafka.log" "${KAFKA_JAVA[@]}" kafka.Kafka "$CONF_DIR/kafka.properties"
}

create_topics() { "$UV" run --frozen python tools/topics.py create; }

# Ready means clients can create topics, so the controller and the broker are both up.
kafka_wait_ready() {
    await_ready kafka "$LOG_DIR/kafka.log" port_in_use "$KAFKA_PORT"
    local deadline=$((SECONDS + READY_TIMEOUT)) output
    until output=$(create_topics 2>&1); do
        if ((SECONDS >= deadline)) || ! live_pid kafka >/dev/null; then
            printf '%s\n' "$output" | tail -n 20 >&2
            show_log_tail "$LOG_DIR/kafka.log"
            die "kafka: topic creation failed for ${READY_TIMEOUT}s"
        fi
        sleep 1
    done
    say "kafka ready: ${output##*$'\n'}"
}

# ---------------------------------------------------------------- PostgreSQL

as_postgres() {
    if ((EUID == 0)); then
        (cd /tmp && runuser -u postgres -- "$@")
    else
        (cd /tmp && sudo -u postgres -- "$@")
    fi
}

pg_cluster_version() {
    pg_lsclusters -h 2>/dev/null | awk '$2 == "main" { print $1; exit }'
}

pg_cluster_field() { pg_lsclusters -h | awk -v v="$1" -v f="$2" '$1 == v && $2 == "main" { print $f }'; }

# The server must not inherit the stack lock (fd 9), or it would hold it as long as it runs.
pg_ctl() { pg_ctlcluster "$(pg_cluster_version)" main "$@" 9>&-; }

psql_admin() { as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -d postgres "$@"; }

postgres_ready() { pg_isready -q -h 127.0.0.1 -p "$POSTGRES_PORT"; }

postgres_start() {
    local version
    version=$(pg_cluster_version)
    [[ -n $version ]] || die "no PostgreSQL cluster 'main' (run deploy/local/install.sh)"
    [[ $(pg_cluster_field "$version" 3) == "$POSTGRES_PORT" ]] ||
        die "PostgreSQL $version/main is configured for port $(pg_cluster_field "$version" 3), not $POSTGRES_PORT"
    if [[ $(pg_cluster_field "$version" 4) == online ]]; then
        say "postgres $version/main already running"
    else
        require_port_free "$POSTGRES_PORT" postgres
        say "starting postgres $version/main"
        pg_ctl start
        touch "$POSTGRES_MARKER"
    fi
    postgres_wait_ready
}

postgres_wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT))
    until postgres_ready; do
        if ((SECONDS >= deadline)); then
            show_log_tail "/var/log/postgresql/postgresql-$(pg_cluster_version)-main.log"
            die "postgres does not answer on 127.0.0.1:$POSTGRES_PORT"
        fi
        sleep 0.5
    done
}

# postgres_stop [fast|immediate]
postgres_stop() {
    say "stopping postgres $(pg_cluster_version)/main (${1:-fast})"
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

# service_start SERVICE K: starts instance K unless it already runs.
service_start() {
    local service=$1 k=$2 name port pid
    name=$(instance_name "$service" "$k")
    port=$(instance_port "$service" "$k")
    if pid=$(live_pid "$name"); then
        say "$name already running (pid $pid)"
        return 0
    fi
    require_port_free "$port" "$name"
    say "starting $name on :$port"
    # The console (and recipients, for key checks) call the composer's and recipients' APIs.
    HTTP_PORT=$port INTERNAL_PORT=$((port + 10)) INSTANCE_ID=$service-$k \
        COMPOSER_URL=http://127.0.0.1:${SERVICE_PORT[composer]} \
        RECIPIENTS_URL=http://127.0.0.1:${SERVICE_PORT[recipients]} \
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
