"""What the OpenAPI document says a route answers, made true.

Litestar documents the 200/201 and a 400 of its own shape; the service answers more: 401 and
429 on every authenticated route (a refused or throttled credential), 403 (a role or a vendor
key on the wrong side), 404 for an id in the path, 409 and 422 for writes, 408/413/415 for
bodies and uploads, 503 when the database is unavailable. Downloads are binary, in their real
media types. This completes the generated document once, as the app starts, so that generated
clients and schemathesis' conformance checks meet the truth.
"""

from __future__ import annotations

import re
from typing import Any

ERROR = "#/components/schemas/Error"
REASONS = {
    "400": "The request is malformed or a field breaks a rule: `extra` names each field and why",
    "401": "No credential, or one that is invalid, expired or revoked",
    "403": "The credential's role may not do this, or a vendor key outside /api/vendor/ (or the reverse)",
    "404": "Nothing with this id (or not yours: the answer is the same)",
    "408": "The request body stalled",
    "409": "Conflicts with the object's state (a lifecycle step not allowed now, a duplicate)",
    "413": "The upload is too large",
    "415": "A file type not accepted, or content that is not what it claims",
    "422": "A well-formed id that names nothing usable, or an Idempotency-Key reused for another request",
    "429": "Too many requests (a vendor key's limit) or refused credentials from this address",
    "503": "The database is unavailable; nothing was changed",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}
WRITES = {"post", "put", "patch", "delete"}
# Routes that answer 404 without a path parameter: an id in their query, or a thing that may not exist yet.
NOT_FOUND_BY_QUERY = {"/api/exports/evidence-pack", "/api/users/me/calendar"}
# Downloads, by the end of their path: the media types they really are.
DOWNLOADS = {
    r"/register\.csv$": ["text/csv"],
    r"/register\.xlsx$": ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
    r"/evidence-pack$": ["application/zip"],
    r"/imports/(template|export)\.xlsx$": ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
    r"^/calendar/\{feed\}$": ["text/calendar"],
    r"/documents/\{document_id\}/content$": [
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ],
    r"/compliance-map$": [
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ],
    r"/files/\{file_id\}/content$": [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ],
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["status_code", "detail"],
    "properties": {
        "status_code": {"type": "integer"},
        "detail": {"type": "string"},
        "extra": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "message"],
                "properties": {
                    "key": {"type": "string", "description": "The field, e.g. metadata.completed_on"},
                    "message": {"type": "string"},
                    "source": {"type": "string"},
                },
            },
        },
    },
}


def complete(
    document: dict[str, Any], public_paths: list[str], path_credentials: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Add the error answers, headers and download types to a generated document, in place.
    `path_credentials`: routes whose credential is part of the path (a calendar URL), so no header."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in document.get("paths", {}).items():
        public = any(re.match(pattern, path) for pattern in public_paths)
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            in_path = any(re.match(pattern, path) for pattern in path_credentials)
            if public or in_path:
                operation["security"] = []  # no header needed: the document-wide default does not apply
            codes = {"503"}
            if in_path:
                codes |= {"404", "429"}  # a wrong credential is a 404, and guessing is throttled
            elif not public:
                codes |= {"400", "401", "403", "429"}
            if "{" in path or path in NOT_FOUND_BY_QUERY:
                codes.add("404")
            if method in WRITES:
                codes |= {"409", "422"}
            body = operation.get("requestBody", {}).get("content", {})
            if body:
                codes |= {"400", "408"}
            if "multipart/form-data" in body:
                codes |= {"413", "415"}
            for code in sorted(codes):
                responses[code] = _error(code)
            _downloads(path, responses)
    return document


def _error(code: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": REASONS[code],
        "content": {"application/json": {"schema": {"$ref": ERROR}}},
    }
    if code in ("429", "503"):
        answer["headers"] = RETRY_AFTER
    return answer


def _downloads(path: str, responses: dict[str, Any]) -> None:
    for pattern, media_types in DOWNLOADS.items():
        if re.search(pattern, path) and "200" in responses:
            responses["200"]["content"] = {
                media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in media_types
            }
