"""The platform's Kafka topics (contracts.topics), as an operator creates or removes them.

python tools/topics.py create [--namespace NS] [--replication N] [--brokers N]
python tools/topics.py delete --namespace NS     a namespace's copy, consumer groups too

Replication: --replication, else KAFKA_REPLICATION, else the cluster's size up to three;
topics take a write once min(2, replication - 1) replicas (at least one) have it.
--brokers N fails unless N brokers are up (a cluster still starting).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from servicekit.kafka.admin import create_topics, delete_namespace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["create", "delete"])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--namespace", default=os.environ.get("KAFKA_NAMESPACE", ""))
    replication = os.environ.get("KAFKA_REPLICATION")
    parser.add_argument(
        "--replication", type=int, default=int(replication) if replication else None
    )
    parser.add_argument("--brokers", type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == "create":
        created = asyncio.run(
            create_topics(
                args.bootstrap,
                args.namespace,
                replication=args.replication,
                brokers=args.brokers,
            )
        )
        print(f"topics created: {len(created)}" + (f" ({', '.join(created)})" if created else ""))
        return 0
    if not args.namespace:
        parser.error("delete needs --namespace (the platform's own topics are never deleted)")
    topics, groups = asyncio.run(delete_namespace(args.bootstrap, args.namespace))
    print(f"deleted {len(topics)} topics and {len(groups)} consumer groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
