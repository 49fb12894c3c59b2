"""Regenerate or check the committed JSON Schemas of the events (libs/contracts/schemas).

python tools/schemas.py --write   regenerate them (refused when a change would break
                                  readers of the same schema_version)
python tools/schemas.py --check   exit 1 when a committed schema differs from the models
"""

from __future__ import annotations

import sys

from generated import sync

from contracts.schemas import SCHEMA_DIR, breaking_changes, generate, render


def files() -> dict:
    return {SCHEMA_DIR / name: render(schema) for name, schema in generate().items()}


if __name__ == "__main__":
    sys.exit(sync(__doc__.splitlines()[0], files, remedy="make schemas", refuse=breaking_changes))
