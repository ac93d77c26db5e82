"""Domain errors and how they reach the client.

Services raise these; one handler per class turns them into an RFC 9457 problem
(application/problem+json) with the right status and a stable `code` to branch on:
{"type": "urn:dpa:problem:validation_failed", "title": ..., "status": 400, "code": ...,
"detail": "...", "request_id": ..., "extra": [{"key": field, "message": reason, "message_zh": 理由}]}.
The English `message` and `detail` stay what scripts read; the Chinese stands beside them
(`message_zh`, and `detail_zh` where the refusal has one), and the pages show it first.
`status_code`, `detail` and `extra` keep the shape Litestar gave before, which clients and
tests already read. No `instance`: it would echo ids from the path, and an answer about another
vendor's object must not hold anything of it; the request id finds the request.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.core.messages import pydantic_zh
from app.core.requests import request_id
from app.core.storage import AlteredFileError, StorageError

log = logging.getLogger(__name__)


PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:dpa:problem:"  # + the code: stable, and names the kind without a server to ask
# The code a status gets when the error names none of its own.
CODES = {
    400: "validation_failed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "file_too_large",
    415: "file_type_refused",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}
TITLES = {
    "validation_failed": "A field is missing or breaks a rule",
    "bad_request": "The request cannot be read",
    "unauthenticated": "No valid credential",
    "forbidden": "Not allowed with this credential",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed here",
    "request_timeout": "The request body stalled",
    "client_gone": "The client went away",
    "conflict": "Conflicts with the current state",
    "duty_already_closed": "The duty this answers is already closed",
    "file_too_large": "Too large",
    "file_type_refused": "File type refused",
    "unprocessable": "Cannot be acted on",
    "invalid_reference": "Names nothing usable",
    "idempotency_key_reused": "Idempotency-Key reused for another request",
    "rate_limited": "Too many requests",
    "internal_error": "Internal error",
    "storage_failed": "The file store failed",
    "service_unavailable": "Temporarily unavailable",
}


def field_item(field: str, message: str, zh: str) -> dict[str, str]:
    """One field at fault, as `extra` carries it: the English message and its Chinese."""
    return {"key": field, "message": message, "message_zh": zh, "source": "body"}


class DomainError(Exception):
    status_code = 400
    code: str | None = None  # None: the status's own (CODES)

    def __init__(
        self,
        detail: str,
        extra: list[dict[str, str]] | None = None,
        *,
        code: str | None = None,
        zh: str = "",
    ) -> None:
        """`zh`: the detail in Chinese, shown first on the pages (and as `detail_zh` by the API)."""
        super().__init__(detail)
        self.detail = detail
        self.detail_zh = zh
        self.extra = extra
        if code is not None:
            self.code = code


class NotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    status_code = 409


class PermissionDeniedError(DomainError):
    status_code = 403


class UnprocessableError(DomainError):
    """Well-formed input the service cannot act on (a document it cannot render faithfully, say)."""

    status_code = 422


class FieldDomainError(DomainError):
    """A refusal about one field (an uploaded file, say) with a status of its own."""

    def __init__(self, field: str, reason: str, *, zh: str) -> None:
        super().__init__(f"{field}: {reason}", [field_item(field, reason, zh)], zh=f"{field}：{zh}")


class InvalidReferenceError(FieldDomainError):
    """Well-formed input that names something that does not exist or may not be used."""

    status_code = 422
    code = "invalid_reference"


class TooManyRequestsError(DomainError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int, *, zh: str = "") -> None:
        super().__init__(detail, zh=zh)
        self.retry_after = retry_after


class PayloadTooLargeError(FieldDomainError):
    status_code = 413


class UnsupportedMediaTypeError(FieldDomainError):
    status_code = 415


class RequestTimeoutError(DomainError):
    status_code = 408


class ClientGoneError(DomainError):
    """The client went away mid-request: nobody reads the answer; logged, not an error."""

    status_code = 400
    code = "client_gone"


class DatabaseUnavailableError(DomainError):
    status_code = 503


class SharedStateUnavailableError(DomainError):
    """Redis (REDIS_URL), where the instances keep their rate limits, does not answer."""

    status_code = 503


RETRY_AFTER_SECONDS = 5  # after a database failure: long enough for a restart or a failover


class FieldErrors:
    """Collects broken rules that span several fields, then answers 400 with each field and reason."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str, *, zh: str) -> None:
        """`message` in English (the API's), `zh` the same in Chinese (the pages show it first)."""
        self.errors.append(field_item(field, message, zh))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationException(detail="Validation failed", extra=self.errors)


def field_error(field: str, message: str, *, zh: str) -> ValidationException:
    """A 400 about one field, to raise: `message` in English, `zh` the same in Chinese."""
    return ValidationException(detail="Validation failed", extra=[field_item(field, message, zh)])


def problem(
    request: Request[Any, Any, Any],
    status_code: int,
    detail: str,
    extra: Any = None,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    detail_zh: str = "",
) -> Response[Any]:
    """The one shape of every error the API answers (RFC 9457), with the request's id."""
    code = code or CODES.get(status_code, "bad_request" if status_code < 500 else "internal_error")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": TITLES.get(code, code.replace("_", " ")),
        "status": status_code,
        "code": code,
        "detail": detail,
        "request_id": request_id(request.scope),
        "status_code": status_code,
    }
    if detail_zh:
        body["detail_zh"] = detail_zh
    if extra:
        body["extra"] = extra
    return Response(body, status_code=status_code, media_type=PROBLEM_JSON, headers=headers)


def validation_exception(exc: ValidationError, source: str = "body", prefix: str = "") -> ValidationException:
    """A Pydantic error raised inside a service, shaped like Litestar's own 400."""
    extra = [
        {
            "key": ".".join([prefix] * bool(prefix) + [str(part) for part in err["loc"]]),
            "message": err["msg"].removeprefix("Value error, "),
            "message_zh": pydantic_zh(err),
            "source": source,
        }
        for err in exc.errors(include_url=False)
    ]
    return ValidationException(detail="Validation failed", extra=extra)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequestsError) else None
    if isinstance(exc, ClientGoneError):
        log.info("client went away during %s %s", request.method, request.url.path)
    return problem(
        request, exc.status_code, exc.detail, exc.extra, code=exc.code, headers=headers, detail_zh=exc.detail_zh
    )


def integrity_error_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # Services check uniqueness first; this catches the race where two requests pass
    # the check at once and the database's constraint decides.
    log.info("integrity error answered as 409 (request %s): %s", request_id(request.scope), exc.orig)
    return problem(request, 409, "conflicts with an existing record")


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own refusals (no credential, no route, a method not allowed, a body too large)
    in the same shape as ours, with the headers they carry (WWW-Authenticate, Allow)."""
    headers = {str(name): str(value) for name, value in (exc.headers or {}).items()}
    if exc.status_code >= 500:
        return internal_error_handler(request, exc)
    extra = exc.extra if isinstance(exc.extra, list) else None
    return problem(request, exc.status_code, exc.detail, extra, headers=headers or None)


def _pydantic_chinese(cause: BaseException | None) -> dict[tuple[str, str], str]:
    """Litestar's check of a body against its Pydantic model keeps Pydantic's errors on the
    exception it raises from (`errors`): the Chinese of each, by the key and message it shows."""
    found: dict[tuple[str, str], str] = {}
    details = getattr(cause, "errors", None)
    if not isinstance(details, list):
        return found
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get("msg"), str) and "type" in detail:
            key = ".".join(str(part) for part in detail.get("loc", ())).removeprefix("data.")
            message = detail["msg"].split(" - ", maxsplit=1)[0]
            found[(key, message.removeprefix("Value error, "))] = pydantic_zh(detail)  # type: ignore[arg-type]
    return found


def validation_error_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's 400 for invalid input, with Pydantic's "Value error, " prefix taken off and the
    Chinese beside each message where Pydantic's error is at hand."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    chinese = _pydantic_chinese(exc.__cause__)
    for item in extra:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            item["message"] = item["message"].removeprefix("Value error, ")
            zh = chinese.get((str(item.get("key", "")), item["message"]))
            if zh and "message_zh" not in item:
                item["message_zh"] = zh
    return problem(request, 400, exc.detail, extra or exc.extra)


def nesting_error_handler(request: Request[Any, Any, Any], _exc: RecursionError) -> Response[Any]:
    # Decoding a body such as [[[[...]]]] thousands deep exhausts the stack: bad input, not a bug.
    return problem(request, 400, "request body is nested too deeply", code="bad_request")


def database_unavailable(exc: BaseException) -> bool:
    """The database is down, restarting or dropped the connection, rather than refusing a
    statement (which is a bug of ours, answered 500)."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError | ConnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def database_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database is unavailable: 503, try again shortly. The transaction did not commit, so
    nothing of the request was applied."""
    if not database_unavailable(exc):
        return internal_error_handler(request, exc)
    log.warning(
        "database unavailable on %s %s (request %s): %s",
        request.method,
        request.url.path,
        request_id(request.scope),
        exc,
    )
    return problem(
        request,
        503,
        "the database is unavailable; nothing was changed, retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},  # a read was tried twice (RetryReadOnce)
    )


def storage_error_handler(request: Request[Any, Any, Any], exc: StorageError) -> Response[Any]:
    """A stored file that is altered or gone is never served: said plainly, for the operator."""
    log.error("storage: %s on %s %s (request %s)", exc, request.method, request.url.path, request_id(request.scope))
    if isinstance(exc, AlteredFileError):
        detail = (
            f"存储的文件已被改动，与其 SHA-256 不符，未提供下载；请运行 dpa evidence verify。 "
            f"(The stored file {exc.sha256} was altered: it no longer matches its SHA-256 and was not served; "
            "run dpa evidence verify.)"
        )
    else:
        detail = "文件存储不可用或文件缺失；请运行 dpa evidence verify。 (The file store failed, or the file is gone.)"
    return problem(request, 500, detail, code="storage_failed")


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The log gets the traceback; the client never does, but its request id finds it in the log.
    rid = request_id(request.scope)
    log.error("unhandled error on %s %s (request %s)", request.method, request.url.path, rid, exc_info=exc)
    return problem(request, 500, f"internal error; quote request {rid} when reporting it")


exception_handlers: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    IntegrityError: integrity_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    RecursionError: nesting_error_handler,
    DBAPIError: database_error_handler,
    PoolTimeoutError: database_error_handler,
    ConnectionError: database_error_handler,  # the driver could not connect (refused, reset)
    StorageError: storage_error_handler,
    500: internal_error_handler,
}
