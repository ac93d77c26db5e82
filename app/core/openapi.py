"""What the OpenAPI document says a route answers, made true.

Litestar documents the 200/201 and a 400 of its own shape; the service answers more: 401 and
429 on every authenticated route (a refused or throttled credential), 403 (a role or a vendor
key on the wrong side), 404 for an id in the path, 409 and 422 for writes, 408/413/415 for
bodies and uploads, 503 when the database is unavailable. Downloads are binary, in their real
media types. This completes the generated document once, as the app starts, so that generated
clients and schemathesis' conformance checks meet the truth.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from pydantic import TypeAdapter

from app.core.errors import CODES, PROBLEM_JSON, PROBLEM_TYPE, TITLES
from app.core.requests import HEADER as REQUEST_ID

ERROR = "#/components/schemas/Error"
REASONS = {
    "400": "`validation_failed`: the request is malformed or a field breaks a rule; `extra` names each field and why",
    "401": "`unauthenticated`: no credential, or one that is invalid, expired or revoked",
    "403": "`forbidden`: the credential's role may not do this, or a vendor key outside /api/vendor/ (or the reverse)",
    "404": "`not_found`: nothing with this id (or not yours: the answer is the same)",
    "408": "`request_timeout`: the request body stalled",
    "409": (
        "`conflict`: conflicts with the object's state (a lifecycle step not allowed now, a duplicate); "
        "`duty_already_closed`: the duty an attestation answers is closed"
    ),
    "413": "`file_too_large`: the upload is too large",
    "415": "`file_type_refused`: a file type not accepted, or content that is not what it claims",
    "422": (
        "`invalid_reference`: a well-formed id that names nothing usable; "
        "`idempotency_key_reused`: an Idempotency-Key reused for another request"
    ),
    "429": "`rate_limited`: too many requests (a vendor key's limit) or refused credentials from this address",
    "503": "`service_unavailable`: the database is unavailable; nothing was changed",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}
# Sent on every answer to a vendor key that got past authentication (not on a 401).
RATE_LIMIT = {
    "X-RateLimit-Limit": {"description": "Requests this key may make per window", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "Seconds until a request is freed again", "schema": {"type": "integer"}},
}
VENDOR_PREFIX = "/api/vendor/"
# The documented version; the unversioned paths are a deprecated alias (app.core.versioning).
VENDOR_V1 = "/api/vendor/v1/"
# On every answer, success or error.
ANSWER_HEADERS = {
    REQUEST_ID: {
        "description": "This request's id: yours if you sent a sane X-Request-Id (up to 128 characters of "
        "letters, digits and ._:@+=/-), else ours; it is also in every error's `request_id`",
        "schema": {"type": "string"},
    }
}
VENDOR_TITLE = "dpa vendor API"
# The vendor document's own version: bumped when what a vendor's client sees changes.
VENDOR_VERSION = "1.0.0"
VENDOR_DESCRIPTION = """What a vendor (受托方) calls with its own key (`Authorization: Bearer dpv_...`):
its engagements, its issued agreements and their files, the duties it owes us (obligations), and
the attestations it sends as proof, with their evidence. Another vendor's object answers 404, as
if it did not exist. Every error is one `Error` object, an RFC 9457 problem
(`application/problem+json`) with a stable `code` to branch on; lists are one `Page` envelope.
A sandbox key (`dpv_test_...`) rehearses all of it without touching our record.
The paths without `/v1` still answer, deprecated (see the `Deprecation` and `Sunset` headers).

Changelog. v1 (30 November 2026): paths under `/api/vendor/v1/`, the unversioned ones a deprecated
alias until 31 May 2027; errors as problem details with `code`, `type`, `title`, `status` and
`request_id` (keeping `detail`, `status_code`, `extra`); `X-Request-Id` on every answer; sandbox
keys and `test` on attestations; 409 `duty_already_closed`; withdrawing an unreviewed attestation."""
OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]{2,39}$")
WRITES = {"post", "put", "patch", "delete"}
# Routes that answer 404 without a path parameter: an id in their query, or a thing that may not exist yet.
NOT_FOUND_BY_QUERY = {"/api/exports/evidence-pack", "/api/users/me/calendar", "/api/users/me/chat-robot"}
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
    r"/audit-orders/\{order_id\}/report$": [  # the audit report a regulator ordered, as it was sent
        "application/pdf",
        "image/png",
        "image/jpeg",
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
    "description": "An RFC 9457 problem. Branch on `code`; `detail` is for people; `extra` names each field.",
    "required": ["type", "title", "status", "code", "detail", "status_code"],
    "properties": {
        "type": {"type": "string", "description": f"{PROBLEM_TYPE} and the code: one per kind of error"},
        "title": {"type": "string", "description": "The kind of error, the same for every error of that kind"},
        "status": {"type": "integer", "description": "The HTTP status"},
        "code": {
            "type": "string",
            "description": "Stable, to branch on: "
            + ", ".join(f"`{code}`" for code in TITLES)
            + f" (a status's default: {', '.join(f'{status} {code}' for status, code in CODES.items())})",
        },
        "detail": {"type": "string", "description": "What went wrong with this request, for a person (English)"},
        "detail_zh": {"type": "string", "description": "`detail` in Chinese, where the refusal has it"},
        "request_id": {"type": "string", "description": "The X-Request-Id of this request"},
        "status_code": {"type": "integer", "description": "The HTTP status (as before problem details; kept)"},
        "extra": {
            "type": "array",
            "description": "The fields at fault, when there are any",
            "items": {
                "type": "object",
                "required": ["key", "message"],
                "properties": {
                    "key": {"type": "string", "description": "The field, e.g. metadata.completed_on"},
                    "message": {"type": "string", "description": "Why, in English: stable for scripts"},
                    "message_zh": {
                        "type": "string",
                        "description": "The same in Chinese (中文), as the pages show it; absent where the "
                        "request could not be read as the route's type",
                    },
                    "source": {"type": "string"},
                },
            },
        },
    },
}


def complete(
    document: dict[str, Any],
    public_paths: list[str],
    json_parts: dict[tuple[str, str], dict[str, TypeAdapter[Any]]] | None = None,
    path_credentials: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Add the error answers, headers and download types to a generated document, in place.
    `json_parts` names the multipart parts that carry one JSON object, by (method, path), with
    the type that validates it: the part is documented as that type, encoded application/json.
    `path_credentials`: routes whose credential is part of the path (a calendar URL), so no header."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for (method, path), parts in (json_parts or {}).items():
        _json_parts(document, document["paths"][path][method], parts)
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
            if "400" in responses:  # Litestar's own 400 (a parameter it validates) has our shape too
                codes.add("400")
            for code in sorted(codes):
                responses[code] = _error(code)
            _downloads(path, responses)
            for code, answer in responses.items():
                rate_limited = path.startswith(VENDOR_PREFIX) and code != "401"
                answer["headers"] = {
                    **answer.get("headers", {}),
                    **(RATE_LIMIT if rate_limited else {}),
                    **ANSWER_HEADERS,
                }
    return document


def _json_parts(document: dict[str, Any], operation: dict[str, Any], parts: dict[str, TypeAdapter[Any]]) -> None:
    schemas = document["components"]["schemas"]
    multipart = operation["requestBody"]["content"]["multipart/form-data"]
    body = multipart["schema"]
    if "$ref" in body:  # Litestar names the form's dataclass; describe it in place
        body = schemas[body["$ref"].rsplit("/", 1)[1]]
    for name, adapter in parts.items():
        schema = adapter.json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        for model, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(model, definition)
        body["properties"][name] = {**schema, "description": body["properties"][name].get("description", "")}
        multipart.setdefault("encoding", {})[name] = {"contentType": "application/json"}


def vendor_document(document: dict[str, Any]) -> dict[str, Any]:
    """The document a vendor's developer needs: only the /api/vendor/v1/ operations, each with a short
    stable operationId, and only the schemas they refer to. Derived from the completed internal
    document, so both say the same about every vendor route."""
    paths = {path: copy.deepcopy(ops) for path, ops in document["paths"].items() if path.startswith(VENDOR_V1)}
    for path, operations in paths.items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            if not OPERATION_ID.match(operation.get("operationId", "")):
                raise ValueError(f"{method.upper()} {path}: give the handler a short operation_id (snake_case)")
            operation["tags"] = ["vendor"]
            operation.pop("security", None)
    schemes = document["components"]["securitySchemes"]
    vendor: dict[str, Any] = {
        "openapi": document["openapi"],
        "info": {"title": VENDOR_TITLE, "version": VENDOR_VERSION, "description": VENDOR_DESCRIPTION},
        "paths": paths,
        "components": {"schemas": _referenced(paths, document["components"]["schemas"])},
        "security": [{name: []} for name in schemes],
        "tags": [{"name": "vendor", "description": "Everything a vendor key can call"}],
    }
    vendor["components"]["securitySchemes"] = {
        name: {**scheme, "description": "Your vendor key: Authorization: Bearer dpv_..."}
        for name, scheme in schemes.items()
    }
    return vendor


def _referenced(root: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    """The component schemas `root` refers to, transitively."""
    found: dict[str, Any] = {}
    pending = [root]
    while pending:
        text = json.dumps(pending.pop())
        for name in re.findall(r'"#/components/schemas/([^"]+)"', text):
            if name not in found:
                found[name] = schemas[name]
                pending.append(schemas[name])
    return dict(sorted(found.items()))


def _error(code: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": REASONS[code],
        "content": {PROBLEM_JSON: {"schema": {"$ref": ERROR}}},
    }
    if code in ("429", "503"):
        answer["headers"] = RETRY_AFTER
    return answer


def _downloads(path: str, responses: dict[str, Any]) -> None:
    for pattern, media_types in DOWNLOADS.items():
        if re.search(pattern, path) and "200" in responses:
            # The real types first; application/octet-stream last, for generic clients (generators
            # that know no PDF or image type read the same bytes under it).
            responses["200"]["content"] = {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in [*media_types, "application/octet-stream"]
            }
            responses["200"]["description"] = (
                "The file, in its own media type (one of those listed but the last); Content-Disposition "
                "names it, Digest carries its SHA-256"
            )
