"""Makes tests/fakes.py importable as `recipients_fakes` (a name no other service's tests use)."""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "recipients_fakes", Path(__file__).with_name("fakes.py")
)
assert _spec and _spec.loader
_module = importlib.util.module_from_spec(_spec)
sys.modules["recipients_fakes"] = _module
_spec.loader.exec_module(_module)
