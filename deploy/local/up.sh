#!/usr/bin/env bash
# Starts the local stack on 127.0.0.1: Kafka, PostgreSQL, Redis, the dev SMTP sink, the DNS
# server (unbound), then the services. Idempotent: whatever already runs (and answers) is
# reused; whatever was killed is started again.
#
#   deploy/local/up.sh
#   SERVICES="delivery tracking" deploy/local/up.sh    # only these services
#   SERVICES= deploy/local/up.sh                       # infrastructure only
#   SCALE=2 deploy/local/up.sh                         # two instances of every service
#   DELIVERY_PROCESSES=3 deploy/local/up.sh            # delivery on :8003, :8103, :8203
#   NOTIFIER_INSTANCES=2 deploy/local/up.sh            # per service: <SERVICE>_INSTANCES
#   KAFKA_BROKERS=3 deploy/local/up.sh                 # a three-node Kafka cluster
#   STACK_DIR=.local/b STACK_PORT_OFFSET=20000 deploy/local/up.sh   # a second stack
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=${SERVICES-${ALL_SERVICES[*]}}
SCALE=${SCALE:-1}

# <SERVICE>_INSTANCES, else for delivery DELIVERY_PROCESSES, else SCALE.
instance_count() {
    local variable=${1^^}_INSTANCES
    if [[ -n ${!variable:-} ]]; then
        echo "${!variable}"
    elif [[ $1 == delivery && -n ${DELIVERY_PROCESSES:-} ]]; then
        echo "$DELIVERY_PROCESSES"
    else
        echo "$SCALE"
    fi
}

check_requested_services() {
    local service count
    for service in $SERVICES; do
        [[ -n ${SERVICE_PORT[$service]:-} ]] ||
            die "unknown service '$service' in SERVICES (known: ${ALL_SERVICES[*]})"
        count=$(instance_count "$service")
        [[ $count =~ ^[1-9]$ ]] || die "$service: the number of instances must be 1 to 9, not '$count'"
        INSTANCES[$service]=$count
    done
}

# A stack keeps its ports and its Kafka layout while anything of it runs.
check_stack_settings() {
    local offset brokers name
    offset=$(recorded STACK_PORT_OFFSET)
    brokers=$(recorded KAFKA_BROKERS)
    [[ ${offset:-$STACK_PORT_OFFSET} == "$STACK_PORT_OFFSET" && ${brokers:-$KAFKA_BROKERS} == "$KAFKA_BROKERS" ]] &&
        return 0
    for name in $(recorded_service_instances) sink redis $(recorded_kafka_nodes); do
        live_pid "$name" >/dev/null &&
            die "the stack in $LOCAL_DIR runs with STACK_PORT_OFFSET=$offset KAFKA_BROKERS=$brokers" \
                "($name is up); stop it first (deploy/local/down.sh)"
    done
    if ((offset != 0)) && STACK_PORT_OFFSET=$offset postgres_pid >/dev/null; then
        die "the stack's PostgreSQL runs on port $((5432 + offset)); stop it first (deploy/local/down.sh)"
    fi
    return 0
}

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
        for ((k = 1; k <= INSTANCES[$service]; k++)); do
            service_start "$service" "$k"
        done
    done
    for service in $SERVICES; do
        for ((k = 1; k <= INSTANCES[$service]; k++)); do
            service_wait_ready "$service" "$k"
        done
    done
}

main() {
    check_requested_services
    take_stack_lock
    check_stack_settings
    make_local_dirs
    write_env_file
    load_env_file
    start_infrastructure
    start_services
    say "up: kafka $(kafka_bootstrap), postgres :$POSTGRES_PORT, redis :$REDIS_PORT," \
        "sink smtp :$SINK_SMTP_PORT http :$SINK_HTTP_PORT, dns :$DNS_PORT;" \
        "services: ${SERVICES:-none}; env in $ENV_FILE"
}

main "$@"
