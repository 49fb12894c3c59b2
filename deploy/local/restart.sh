#!/usr/bin/env bash
# Restarts one component of the running stack and waits until it is ready again; for
# fault-injection tests.
#
#   deploy/local/restart.sh [--hard] kafka[-<n>]|postgres|redis|sink|dns|<service>[-<k>]
#
# --hard kills (SIGKILL; PostgreSQL: immediate shutdown) instead of stopping gracefully.
# `kafka` is every node of the stack, one after the other; `kafka-2` one node of a cluster.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 [--hard] kafka[-n]|postgres|redis|sink|dns|composer|recipients|delivery[-k]|tracking|notifier|console"; }

# redis, sink or dns: stop, then <name>_start and <name>_wait_ready from lib.sh.
restart_process() {
    local name=$1 signal=$2
    stop_processes "$signal" "$name"
    "${name}_start"
    "${name}_wait_ready"
}

restart_kafka() {
    local signal=$2 node nodes
    if [[ $1 == kafka ]]; then
        mapfile -t nodes < <(kafka_nodes)
    else
        kafka_nodes | grep -qx "$1" || die "$1 is no Kafka node of this stack (KAFKA_BROKERS=$KAFKA_BROKERS)"
        nodes=("$1")
    fi
    for node in "${nodes[@]}"; do
        stop_processes "$signal" "$node"
        kafka_start "$node"
        kafka_wait_ready "$node"
    done
}

restart_postgres() {
    local mode=$1
    if postgres_ready; then
        postgres_stop "$mode"
    fi
    postgres_clear_stale
    pg_ctl start
    postgres_wait_ready
}

# "delivery-2" -> service delivery, instance 2.
restart_service() {
    local name=$1 signal=$2 service=${1%-*} k=1
    [[ $name == *-* ]] && k=${name##*-}
    [[ -n ${SERVICE_PORT[$service]:-} && $k =~ ^[0-9]+$ ]] || usage
    stop_processes "$signal" "$name"
    service_start "$service" "$k"
    service_wait_ready "$service" "$k"
}

main() {
    local signal=TERM pg_mode=fast
    if [[ ${1:-} == --hard ]]; then
        signal=KILL pg_mode=immediate
        shift
    fi
    [[ $# == 1 ]] || usage
    take_stack_lock
    make_local_dirs
    load_env_file
    case $1 in
    kafka | kafka-[0-9]*) restart_kafka "$1" "$signal" ;;
    redis | sink | dns) restart_process "$1" "$signal" ;;
    postgres) restart_postgres "$pg_mode" ;;
    *) restart_service "$1" "$signal" ;;
    esac
    say "$1 restarted"
}

main "$@"
