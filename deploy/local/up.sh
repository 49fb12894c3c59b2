#!/usr/bin/env bash
# Starts the local stack on 127.0.0.1: Kafka, PostgreSQL, Redis, the dev SMTP sink, the DNS
# server (unbound), then the services. Idempotent: whatever already runs (and answers) is reused.
#
#   deploy/local/up.sh
#   SERVICES="delivery tracking" deploy/local/up.sh    # only these services
#   SERVICES= deploy/local/up.sh                       # infrastructure only
#   DELIVERY_PROCESSES=3 deploy/local/up.sh            # delivery on :8003, :8103, :8203
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=${SERVICES-${ALL_SERVICES[*]}}
DELIVERY_PROCESSES=${DELIVERY_PROCESSES:-1}

check_requested_services() {
    local service
    for service in $SERVICES; do
        [[ -n ${SERVICE_PORT[$service]:-} ]] ||
            die "unknown service '$service' in SERVICES (known: ${ALL_SERVICES[*]})"
    done
    [[ $DELIVERY_PROCESSES =~ ^[1-9][0-9]*$ ]] || die "DELIVERY_PROCESSES must be a positive number"
}

instance_count() { if [[ $1 == delivery ]]; then echo "$DELIVERY_PROCESSES"; else echo 1; fi; }

start_infrastructure() {
    postgres_start
    postgres_configure
    redis_start
    sink_start
    dns_start
    kafka_start
    redis_wait_ready
    sink_wait_ready
    dns_wait_ready
    kafka_wait_ready
}

# Services start together and are then awaited one by one.
start_services() {
    local service k
    for service in $SERVICES; do
        for ((k = 1; k <= $(instance_count "$service"); k++)); do
            service_start "$service" "$k"
        done
    done
    for service in $SERVICES; do
        for ((k = 1; k <= $(instance_count "$service"); k++)); do
            service_wait_ready "$service" "$k"
        done
    done
}

main() {
    check_requested_services
    take_stack_lock
    make_local_dirs
    write_env_file
    load_env_file
    start_infrastructure
    start_services
    say "up: kafka 127.0.0.1:$KAFKA_PORT, postgres :$POSTGRES_PORT, redis :$REDIS_PORT," \
        "sink smtp :$SINK_SMTP_PORT http :$SINK_HTTP_PORT, dns :$DNS_PORT;" \
        "services: ${SERVICES:-none}; env in $ENV_FILE"
}

main "$@"
