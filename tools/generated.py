"""Files generated from code and committed: written by `--write`, compared by `--check`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sync(
    description: str,
    files: Callable[[], Mapping[Path, str]],
    *,
    remedy: str,
    refuse: Callable[[], list[str]] = list,
    argv: list[str] | None = None,
) -> int:
    """The command line of a generator: `--write` regenerates the files unless `refuse`
    names a reason; `--check` exits 1 when a committed file differs from what code says."""
    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    problems = refuse()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    stale = []
    for path, text in files().items():
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            stale.append(str(path.relative_to(ROOT)))
    if stale:
        print(f"out of date (run `{remedy}`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0
