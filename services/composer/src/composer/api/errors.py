"""Every 4xx answer has one shape: {"detail": summary, "errors": [{"field", "reason"}]}."""

from __future__ import annotations

from servicekit.api_errors import error_responses

ERROR_RESPONSES = error_responses(401, 403, 404, 409, 422)
