"""Shared by the delivery test tiers: loads `support.py` and `fakes.py` under unique module
names (importlib mode keeps test folders off sys.path, and other services have a fakes.py).
Test modules then `import delivery_tests_support` / `delivery_tests_fakes`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _load(name: str, filename: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_load("delivery_tests_support", "support.py")
_load("delivery_tests_fakes", "fakes.py")
_load("delivery_tests_harness", "harness.py")
