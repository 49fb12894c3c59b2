"""`make bench`: run every benchmark, write bench/results/latest.json, print the table.
`python bench/run.py --scale` (`make bench-scale`): the growth curves of bench/scale.py.

Each `bench_<name>.py` beside this file is run as its own process (so one benchmark's
memory and threads do not colour another's) and prints, as its last line of output, a JSON
object of figures keyed as in SPEC §8 (`delivery.msgs_per_s`, ...). Figures that have a
reference measured in the same run are shown beside it with their ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
ORDER = ("delivery", "shaping", "tracking", "recipients", "notifier", "e2e")

#: figure -> (reference figure, ratio key); what each figure is compared with.
REFERENCES = {
    "delivery.msgs_per_s": ("delivery.smtp_source_msgs_per_s", "delivery.ratio"),
    "delivery.dkim_msgs_per_s": ("delivery.openssl_rsa2048_sign_per_s", "delivery.dkim_ratio"),
    "tracking.rps": ("tracking.nginx_rps", "tracking.ratio"),
}
GOALS = {
    "delivery.msgs_per_s": ">= 5000",
    "delivery.ratio": ">= 0.25",
    "delivery.dkim_msgs_per_s": ">= 1500",
    "delivery.dkim_ratio": ">= 0.5",
    "tracking.ratio": ">= 0.5",
    "tracking.p99_ms": "<= 10",
    "recipients.resolve_1m_s": "<= 5",
    "recipients.peak_rss_mb": "< 200",
    "notifier.ingest_events_per_s": ">= 30000",
    "e2e.seconds": "<= 30",
}


def run_one(script: Path, timeout: float, args: Sequence[str] = ()) -> dict[str, object]:
    print(f"== {script.name} {' '.join(args)}".rstrip(), file=sys.stderr, flush=True)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        return {f"{script.stem.removeprefix('bench_')}.error": f"exit {proc.returncode}"}
    figures = json.loads(lines[-1])
    print(f"   {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return figures


def table(figures: dict[str, object]) -> str:
    rows = [("figure", "value", "reference", "ratio", "goal")]
    beside = {
        k for main, pair in REFERENCES.items() if main in figures for k in pair
    }  # shown in their main figure's row
    for key in sorted(figures, key=_order):
        if key in beside:
            continue
        if key in REFERENCES:
            ref_key, ratio_key = REFERENCES[key]
            goal = " ".join(g for g in (GOALS.get(key), _ratio_goal(ratio_key)) if g)
            rows.append((key, fmt(figures[key]), f"{ref_key} = {fmt(figures.get(ref_key))}",
                         fmt(figures.get(ratio_key)), goal))  # fmt: skip
        else:
            rows.append((key, fmt(figures[key]), "", "", GOALS.get(key, "")))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _ratio_goal(ratio_key: str) -> str:
    goal = GOALS.get(ratio_key)
    return f"(ratio {goal})" if goal else ""


def _order(key: str) -> tuple[int, str]:
    group = key.split(".")[0]
    return (ORDER.index(group) if group in ORDER else len(ORDER), key)


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return "" if value is None else str(value)


def main() -> int:
    if sys.argv[1:] == ["--scale"]:  # the growth curves: long, not in the default run
        from scale import main as scale

        return scale(run_one)
    if sys.argv[1:] == ["--table"]:  # print the table of the last run again
        figures = json.loads(RESULTS.read_text())
        print(table({k: v for k, v in figures.items() if k != "measured_at"}))
        return 0
    only = set(sys.argv[1:])
    scripts = sorted(
        HERE.glob("bench_*.py"),
        key=lambda p: ORDER.index(p.stem[6:]) if p.stem[6:] in ORDER else 99,
    )
    # A run of some benchmarks keeps the others' figures of the last run.
    kept = json.loads(RESULTS.read_text()) if only and RESULTS.exists() else {}
    rerun = only | ({"rss_mb"} if "e2e" in only else set())  # the e2e run measures RSS
    figures: dict[str, object] = {k: v for k, v in kept.items() if k.split(".")[0] not in rerun}
    for script in scripts:
        if only and script.stem.removeprefix("bench_") not in only:
            continue
        figures.update(run_one(script, timeout=float(os.environ.get("BENCH_TIMEOUT", 900))))
    figures["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(table({k: v for k, v in figures.items() if k != "measured_at"}))
    return 1 if any(k.endswith(".error") for k in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
