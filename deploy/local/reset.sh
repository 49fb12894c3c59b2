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
    local instances was_up=0 services delivery_processes
    mapfile -t instances < <(running_instances)
    live_pid kafka >/dev/null && was_up=1
    services=$(printf '%s\n' "${instances[@]}" | sed 's/-[0-9]*$//' | sort -u | paste -sd ' ')
    delivery_processes=$(printf '%s\n' "${instances[@]}" | grep -c '^delivery' || true)

    stop_processes TERM "${instances[@]}"
    stop_processes TERM sink dns redis kafka
    say "wiping Kafka data, Redis data and the sink's mail"
    rm -rf "$KAFKA_DATA" "$REDIS_DIR" "$SINK_STORE"
    make_local_dirs
    postgres_start
    postgres_configure
    postgres_recreate_database

    if ((was_up)); then
        SERVICES=$services DELIVERY_PROCESSES=$((delivery_processes > 0 ? delivery_processes : 1)) \
            "$HERE/up.sh"
    fi
    say "reset done"
}

main "$@"
