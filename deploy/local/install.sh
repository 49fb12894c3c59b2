#!/usr/bin/env bash
# Installs what the local stack needs and is missing: Debian packages (PostgreSQL, Redis,
# Postfix's smtp-sink/smtp-source, wrk, nginx, unbound for DNS, a JDK and Maven for Kafka)
# and the Kafka jars.
# Idempotent; needs root (or sudo) only when a package is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# chromium and a Japanese font: the console's browser tests and screenshots (never a browser
# downloaded by a tool).
PACKAGES=(postgresql redis-server postfix wrk nginx-light unbound curl openssl iproute2 procps util-linux
    chromium fonts-noto-cjk)
KAFKA_POM=$ROOT/deploy/local/kafka/pom.xml

as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing_packages() {
    local package
    for package in "${PACKAGES[@]}"; do
        is_installed "$package" || echo "$package"
    done
    command -v java >/dev/null || echo openjdk-17-jre-headless
    command -v mvn >/dev/null || echo maven
    return 0
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]})) || return 0
    say "installing Debian packages: ${missing[*]}"
    # Postfix only provides smtp-sink/smtp-source here; keep it from configuring a mail server.
    echo 'postfix postfix/main_mailer_type select No configuration' | as_root debconf-set-selections
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# The packages may start their own daemons (where init scripts are allowed to run); up.sh
# starts its own Redis on 6379 and its own unbound on 5353, and nothing of ours may listen
# on 25, 53 or 80 (nor may a packaged unbound ask the internet's root servers anything).
stop_packaged_daemons() {
    local daemon
    for daemon in postfix redis-server nginx unbound; do
        if [[ -x /etc/init.d/$daemon ]] && as_root service "$daemon" status >/dev/null 2>&1; then
            say "stopping and disabling the packaged $daemon daemon"
            as_root service "$daemon" stop || warn "could not stop $daemon"
        fi
        disable_autostart "$daemon"
    done
}

disable_autostart() {
    if [[ -d /run/systemd/system ]]; then
        as_root systemctl disable --quiet "$1" 2>/dev/null || true
    elif command -v update-rc.d >/dev/null && [[ -x /etc/init.d/$1 ]]; then
        as_root update-rc.d "$1" disable >/dev/null 2>&1 || true
    fi
}

install_kafka_jars() {
    if compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
        return 0
    fi
    say "downloading the Kafka broker jars into $KAFKA_LIBS"
    mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
}

main() {
    install_packages
    stop_packaged_daemons
    install_kafka_jars
    [[ -x /usr/sbin/smtp-sink && -x /usr/sbin/smtp-source ]] ||
        die "postfix's smtp-sink/smtp-source are missing from /usr/sbin"
    command -v unbound >/dev/null && command -v unbound-control >/dev/null ||
        die "unbound/unbound-control are missing"
    say "install: everything present"
}

main "$@"
