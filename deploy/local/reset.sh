#!/usr/bin/env bash
# Wipes the local data: Kafka's log dirs, Redis, the sink's caught mail, the DNS records and
# the bulkmail database (dropped and recreated empty). Stops what runs first and, if the
# stack was up, starts the same components again afterwards. For tests and benchmarks.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/lib.sh"

running_instances() {
    local name
    for name in $(recorded_service_instances); do
        live_pid "$name" >/dev/null && echo "$name"
    done
    return 0
}

main() {
    take_stack_lock
    make_local_dirs
    local instances nodes was_up=0 services service counts=()
    mapfile -t instances < <(running_instances)
    mapfile -t nodes < <(recorded_kafka_nodes)
    for service in "${nodes[@]}"; do
        live_pid "$service" >/dev/null && was_up=1
    done
    services=$(printf '%s\n' "${instances[@]}" | sed 's/-[0-9]*$//' | sort -u | paste -sd ' ')
    for service in $services; do
        counts+=("${service^^}_INSTANCES=$(printf '%s\n' "${instances[@]}" | grep -c "^$service\(-[0-9]*\)\?$")")
    done

    stop_processes TERM "${instances[@]}"
    stop_processes TERM sink dns redis "${nodes[@]}"
    say "wiping Kafka data, Redis data and the sink's mail"
    rm -rf "$KAFKA_DATA" "$LOCAL_DIR"/kafka/kafka-[0-9]* "$LOCAL_DIR/kafka/cluster.id" "$REDIS_DIR" "$SINK_STORE"
    make_local_dirs
    postgres_start
    postgres_configure
    postgres_recreate_database

    if ((was_up)); then
        env SERVICES="$services" "${counts[@]}" "$HERE/up.sh"
    fi
    say "reset done"
}

main "$@"
