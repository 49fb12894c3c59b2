"""Every 4xx answer has one shape: {"detail": summary, "errors": [{"field", "reason"}]}."""

from __future__ import annotations

from servicekit.api_errors import ErrorBody, error_responses

ERROR_RESPONSES = error_responses(401, 403, 404, 409, 422)
IMPORT_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    413: {
        "model": ErrorBody,
        "description": "The body is larger than an import may be, or has too many rows.",
    },
    415: {
        "model": ErrorBody,
        "description": "Neither CSV nor NDJSON, or a charset other than UTF-8, Shift_JIS "
        "(CP932) or EUC-JP (`errors[0].allowed` lists them).",
    },
}
