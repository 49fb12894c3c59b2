# Every target installs what it needs first, so each works on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
export PATH := $(HOME)/.local/bin:$(PATH)
export UV := uv
ENV := set -a; source .local/env; set +a;
PYTEST_TIERS ?= libs deploy/devsink deploy/k8s services tests/hostile tests/e2e

.PHONY: help uv install up down restart test lint check-generated unit integration e2e fault \
        docs schemas demo bench bench-scale clean screenshots hostile chaos cluster-faults

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv

install: uv ## install Python deps (uv, the machine's Python), Debian packages, Kafka jars, kustomize
	$(UV) sync --frozen --quiet
	deploy/local/install.sh
	deploy/k8s/install-kustomize.sh

up: install ## start Kafka, PostgreSQL, Redis, the SMTP sink and the five services
	deploy/local/up.sh

down: ## stop what `make up` started
	deploy/local/down.sh

lint: uv ## ruff and mypy
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

schemas: uv ## regenerate the committed JSON Schemas of the events
	$(UV) run --frozen python tools/schemas.py --write

docs: uv ## regenerate AsyncAPI and OpenAPI documents into docs/, and the KafkaTopics
	$(UV) run --frozen python tools/gendocs.py --write
	$(UV) run --frozen python tools/kafkatopics.py --write

check-generated: uv
	$(UV) run --frozen python tools/schemas.py --check
	$(UV) run --frozen python tools/gendocs.py --check
	$(UV) run --frozen python tools/kafkatopics.py --check

test: up lint check-generated ## everything: deps, stack, lint, unit, integration, e2e, fault tiers, then the cluster
	$(ENV) $(UV) run --frozen pytest -p no:randomly $(PYTEST_TIERS)
	$(MAKE) cluster-faults

unit: uv ## unit tier only (no infrastructure)
	$(UV) run --frozen pytest -m "not integration and not e2e and not fault and not browser" $(PYTEST_TIERS)

integration: up
	$(ENV) $(UV) run --frozen pytest -m integration $(PYTEST_TIERS)

e2e: up
	$(ENV) $(UV) run --frozen pytest -m "e2e and not fault" tests/e2e

fault: up
	$(ENV) $(UV) run --frozen pytest -m fault tests/e2e

# The stack STACK_DIR names (default .local/), e.g. a second one beside the first.
STACK_ENV := set -a; source $${STACK_DIR:-.local}/env; set +a;
TRIALS ?= 20
chaos: install ## kill random instances and brokers during campaigns (TRIALS=20; best on KAFKA_BROKERS=3 SCALE=2)
	deploy/local/up.sh
	$(STACK_ENV) $(UV) run --frozen python tools/chaos.py --trials $(TRIALS)

# A second stack beside the first (its own ports, PostgreSQL and data under .local/cluster):
# three Kafka brokers, two instances of every service. Stopped again afterwards.
CLUSTER_PORT_OFFSET ?= 20000
CLUSTER := STACK_DIR=.local/cluster STACK_PORT_OFFSET=$(CLUSTER_PORT_OFFSET) KAFKA_BROKERS=3 SCALE=2
CLUSTER_TRIALS ?= 3
cluster-faults: install ## on a second stack as a cluster: tests/cluster and CLUSTER_TRIALS=3 chaos trials
	$(CLUSTER) deploy/local/up.sh
	trap '$(CLUSTER) deploy/local/down.sh' EXIT; set -a; source .local/cluster/env; set +a; \
	failed=0; \
	$(UV) run --frozen pytest -p no:randomly tests/cluster || failed=1; \
	$(UV) run --frozen python tools/chaos.py --trials $(CLUSTER_TRIALS) || failed=1; \
	exit $$failed

hostile: up ## hostile input against the running services
	$(ENV) $(UV) run --frozen pytest -m hostile tests/hostile

demo: up ## run a real campaign through every service and print the summary line
	$(ENV) $(UV) run --frozen python tools/demo.py

screenshots: up ## PNGs of the console's main screens into docs/console/ (Debian's chromium)
	$(ENV) $(UV) run --frozen python tools/screenshots.py

bench: up ## benchmarks, each beside a reference measured in the same run
	$(ENV) $(UV) run --frozen python bench/run.py

bench-scale: up ## growth curves (recipients 100k-3M, 1 and 2 processes): bench/results/scale.{json,png}
	$(ENV) $(UV) run --frozen python bench/run.py --scale

clean: down ## stop everything and delete local data
	rm -rf .local
