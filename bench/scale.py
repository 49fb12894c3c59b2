"""Growth curves (`make bench-scale`): how each cost grows with the audience or with the
processes of a service, on this machine.

- recipients: audiences of 100k, 1M and 3M customers, resolved and published: time and the
  resolving process's peak RSS (linear time and flat memory are the goal);
- delivery (unsigned), notifier (ingest) and tracking: one process, then two.

Each point is one run of the benchmark script with those arguments, as `make bench` runs it.
Writes bench/results/scale.json and draws bench/results/scale.png (matplotlib).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
Run = Callable[[Path, float, Sequence[str]], dict[str, object]]

CUSTOMERS = (100_000, 1_000_000, 3_000_000)
PROCESSES = (1, 2)


def number(figures: dict[str, object], key: str) -> float:
    value = figures.get(key)
    if not isinstance(value, int | float):
        raise RuntimeError(f"no {key} in {figures}")
    return float(value)


def measure(run: Run) -> dict[str, Any]:
    curves: dict[str, Any] = {"recipients": [], "delivery": [], "notifier": [], "tracking": []}
    for n in CUSTOMERS:
        f = run(HERE / "bench_recipients.py", 3600, ["--customers", str(n)])
        curves["recipients"].append({
            "customers": n,
            "audience": number(f, "recipients.audience"),
            "seconds": number(f, "recipients.resolve_1m_s"),
            "peak_rss_mb": number(f, "recipients.peak_rss_mb"),
        })  # fmt: skip
    for k in PROCESSES:
        f = run(HERE / "bench_delivery.py", 1800,
                ["--signing", "off", "--messages", "50000", "--processes", str(k)])  # fmt: skip
        curves["delivery"].append({"processes": k, "msgs_per_s": number(f, "delivery.msgs_per_s")})
        f = run(HERE / "bench_notifier.py", 1800,
                ["--events", "500000", "--processes", str(k)])  # fmt: skip
        curves["notifier"].append(
            {"processes": k, "events_per_s": number(f, "notifier.ingest_events_per_s")}
        )
        f = run(HERE / "bench_tracking.py", 900, ["--processes", str(k)])
        curves["tracking"].append({
            "processes": k,
            "rps": number(f, "tracking.rps"),
            "p99_ms": number(f, "tracking.p99_ms"),
        })  # fmt: skip
    curves["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return curves


def draw(curves: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ((res, dlv), (ntf, trk)) = plt.subplots(2, 2, figsize=(10, 7.5))
    points = curves["recipients"]
    millions = [p["customers"] / 1e6 for p in points]
    res.plot(millions, [p["seconds"] for p in points], "o-", color="tab:blue")
    res.set(title="recipients: resolve and publish", xlabel="customers (millions)")
    res.set_ylabel("seconds", color="tab:blue")
    rss = res.twinx()
    rss.plot(millions, [p["peak_rss_mb"] for p in points], "s--", color="tab:orange")
    rss.set_ylabel("peak RSS (MB)", color="tab:orange")
    rss.set_ylim(bottom=0)
    for ax, name, key, label in (
        (dlv, "delivery (unsigned)", "msgs_per_s", "messages/s"),
        (ntf, "notifier ingest", "events_per_s", "events/s"),
        (trk, "tracking (every hit in Kafka)", "rps", "requests/s"),
    ):
        rows = curves[name.split()[0]]
        ax.bar([str(r["processes"]) for r in rows], [r[key] for r in rows], color="tab:green")
        ax.set(title=name, xlabel="processes", ylabel=label)
        ax.margins(y=0.15)
        for i, r in enumerate(rows):
            ax.annotate(f"{r[key]:,.0f}", (i, r[key]), ha="center", va="bottom")
    fig.suptitle(f"growth on a 2-core machine ({curves['measured_at'][:10]})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(run: Run) -> int:
    curves = measure(run)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(curves, indent=2) + "\n")
    draw(curves, RESULTS / "scale.png")
    print(json.dumps(curves, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    from run import run_one

    sys.exit(main(run_one))
