"""Generate each service's AsyncAPI (from its FastStream broker) and OpenAPI documents.

python tools/gendocs.py --write   regenerate docs/asyncapi/*.json and docs/openapi/*.json
python tools/gendocs.py --check   exit 1 when a committed document differs
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from faststream.specification import AsyncAPI

SERVICES = ("composer", "recipients", "delivery", "tracking", "notifier")
DOCS = Path(__file__).resolve().parents[1] / "docs"


def documents() -> dict[Path, Any]:
    out: dict[Path, Any] = {}
    for name in SERVICES:
        settings = importlib.import_module(f"{name}.settings").Settings(token_secret="docs")
        app = importlib.import_module(f"{name}.main").create_app(settings)
        spec = AsyncAPI(
            app.state.broker, title=name, version=app.version, description=app.description
        )
        out[DOCS / "asyncapi" / f"{name}.json"] = spec.to_specification().to_jsonable()
        out[DOCS / "openapi" / f"{name}.json"] = app.openapi()
    return out


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for path, document in documents().items():
        text = render(document)
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            stale.append(str(path.relative_to(DOCS.parent)))
    if stale:
        print("out of date (run `make docs`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
