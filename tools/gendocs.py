"""Regenerate or check each service's AsyncAPI document (from its subscription table and
what it publishes) and OpenAPI document (from its app), under docs/.

    python tools/gendocs.py --write   regenerate docs/asyncapi/*.json and docs/openapi/*.json
    python tools/gendocs.py --check   exit 1 when a committed document differs
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from generated import ROOT, sync

from servicekit.kafka import asyncapi

SERVICES = ("composer", "recipients", "delivery", "tracking", "notifier")
DOCS = ROOT / "docs"


def documents() -> dict[Path, str]:
    out: dict[Path, str] = {}
    for name in SERVICES:
        settings = importlib.import_module(f"{name}.settings").Settings(
            token_secret="docs", signing_keys_secret="docs" * 8
        )
        app = importlib.import_module(f"{name}.main").create_app(settings)
        routes = importlib.import_module(f"{name}.routes")
        spec = asyncapi(
            name,
            routes.subscriptions(settings),
            routes.EMITS,
            description=app.description,
            version=app.version,
        )
        out[DOCS / "asyncapi" / f"{name}.json"] = render(spec)
        out[DOCS / "openapi" / f"{name}.json"] = render(app.openapi())
    return out


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.exit(sync(__doc__.splitlines()[0], documents, remedy="make docs"))
