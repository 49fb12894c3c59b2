#!/usr/bin/env bash
# Stops what deploy/local/up.sh started: the services, then the sink, DNS, Redis, Kafka, and
# PostgreSQL only if up.sh was the one that started it. Data is kept (see reset.sh).
# STACK_DIR names the stack (default .local/); its ports come from its env file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_postgres_if_ours() {
    [[ -f $POSTGRES_MARKER ]] || return 0
    if [[ -n $(pg_cluster_version) ]] && postgres_ready; then
        postgres_stop fast
    fi
    rm -f "$POSTGRES_MARKER"
}

main() {
    take_stack_lock
    mkdir -p "$PID_DIR"
    local instances
    mapfile -t instances < <(recorded_service_instances)
    stop_processes TERM "${instances[@]}"
    stop_processes TERM sink
    stop_processes TERM dns
    stop_processes TERM redis
    mapfile -t instances < <(recorded_kafka_nodes)
    stop_processes TERM "${instances[@]}"
    stop_postgres_if_ours
    say "down"
}

main "$@"
