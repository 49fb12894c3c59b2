"""The console's own metrics (named `console_...`)."""

from prometheus_client import Counter

SIGN_INS = Counter("console_sign_ins_total", "Sign-in attempts by outcome", ["outcome"])
API_ERRORS = Counter("console_api_errors_total", "API refusals shown to users", ["status"])
