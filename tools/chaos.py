"""`make chaos`: campaigns during which a random process of the stack dies.

    python tools/chaos.py [--trials 20] [--recipients 3000] [--seed N] [--within 420]

Each trial (see testkit.chaos for what is checked) sends a campaign and, at a random moment
(just after the send, at the first caught mail, half-way, near the end), kills with SIGKILL
a random instance of a random service or a random Kafka broker, in some trials the node
leading most partitions of `recipient.resolved`; then runs `deploy/local/up.sh` once, which
must bring it back at the first call. The kinds of victim take turns in a shuffled order, so
that a few trials already meet several. Prints one line per trial, then a table and
`N passed, M failed`; exits 1 when a trial failed.

It runs against the stack the environment names (`.local/env`), best a cluster:
`KAFKA_BROKERS=3 SCALE=2 make up`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import time
from typing import Any

from testkit import chaos, platform, stack
from testkit.platform import Endpoints


def victim_kinds() -> list[str]:
    kinds = [s for s in stack.SERVICES if stack.instances(s)]
    return kinds + (["kafka", "kafka-leader"] if len(stack.kafka_nodes()) > 1 else ["kafka"])


def victim(kind: str, rng: random.Random) -> Any:
    """A process name, or (for the partition leader) how to find it when the moment comes."""
    if kind == "kafka-leader":
        return lambda: stack.leader_of("recipient.resolved", rng)
    if kind == "kafka":
        return rng.choice(stack.kafka_nodes())
    return rng.choice([n for n in stack.instances(kind) if stack.live_pid(n)])


async def stack_is_up(endpoints: Endpoints) -> bool:
    if not await platform.down(endpoints=endpoints):
        return True
    await stack.script("up.sh", env=stack.as_it_is())
    return not await platform.down(endpoints=endpoints)


def row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def summary(outcome: chaos.Outcome) -> str:
    if outcome.ok:
        return "ok" + (f" ({', '.join(outcome.notes)})" if outcome.notes else "")
    more = f" (+{len(outcome.problems) - 1} more)" if len(outcome.problems) > 1 else ""
    return "FAIL: " + outcome.problems[0].splitlines()[0][:90] + more


async def trials(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    endpoints = Endpoints.every_instance()
    if not await stack_is_up(endpoints):
        print(f"chaos: the stack is not up: {await platform.down(endpoints=endpoints)}")
        return 2
    kinds: list[str] = []
    table: list[list[str]] = []
    failed: list[tuple[int, chaos.Outcome]] = []
    print(f"chaos: {args.trials} trials, seed {args.seed}, {args.recipients} recipients each")
    for number in range(1, args.trials + 1):
        if not kinds:
            kinds = victim_kinds()
            rng.shuffle(kinds)
        kind = kinds.pop()
        moment = rng.choice(chaos.MOMENTS)
        fault = chaos.Fault(victim(kind, rng), moment, pause=rng.uniform(0.0, 2.0))
        started = time.monotonic()
        try:
            outcome = await chaos.run(
                fault,
                recipients=args.recipients,
                endpoints=endpoints,
                up_env=stack.as_it_is(),
                within=args.within,
                say=lambda text, n=number: print(f"  [{n}] {text}", flush=True),
            )
        except Exception as exc:  # a trial that broke down is a failed trial, not the end
            outcome = chaos.Outcome(victim=str(fault.victim), moment=moment)
            outcome.fail(f"trial broke down: {exc!r}"[:2000])
            outcome.seconds = time.monotonic() - started
        line = [
            str(number),
            (outcome.victim or kind) + (" (leader)" if kind == "kafka-leader" else ""),
            moment,
            summary(outcome),
            f"{outcome.seconds:.0f}",
        ]
        table.append(line)
        print(f"  [{number}] {' | '.join(line)}", flush=True)
        if not outcome.ok:
            failed.append((number, outcome))
        if number < args.trials and not await stack_is_up(endpoints):
            print("chaos: the stack did not come back; stopping")
            break
    header = ["trial", "victim", "moment", "outcome", "seconds"]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    print()
    print(row(header, widths))
    print(row(["-" * w for w in widths], widths))
    for line in table:
        print(row(line, widths))
    for number, outcome in failed:
        print(f"\ntrial {number} ({outcome.victim}, {outcome.moment}):")
        for problem in outcome.problems:
            print(f"  - {problem}")
    print(f"\n{len(table) - len(failed)} passed, {len(failed) + args.trials - len(table)} failed")
    return 1 if failed or len(table) < args.trials else 0


def main(argv: list[str] | None = None) -> int:
    # The client's own complaints while a broker is down are expected; the checks speak.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=int(os.environ.get("TRIALS", "20")))
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(10**6))
    parser.add_argument("--within", type=float, default=420, help="seconds for one campaign")
    return asyncio.run(trials(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
