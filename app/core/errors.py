"""Domain errors and how they reach the client.

Services raise these; one handler per class turns them into a JSON answer with the
right status, the same shape Litestar uses for its own validation errors:
{"status_code": 422, "detail": "...", "extra": [{"key": field, "message": reason}]}.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ValidationException
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.core.storage import AlteredFileError, StorageError

log = logging.getLogger(__name__)


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str, extra: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


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

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", [{"key": field, "message": reason, "source": "body"}])


class InvalidReferenceError(FieldDomainError):
    """Well-formed input that names something that does not exist or may not be used."""

    status_code = 422


class TooManyRequestsError(DomainError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
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

    def add(self, field: str, message: str) -> None:
        self.errors.append({"key": field, "message": message, "source": "body"})

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationException(detail="Validation failed", extra=self.errors)


def field_error(field: str, message: str) -> ValidationException:
    """A 400 about one field, to raise."""
    return ValidationException(detail="Validation failed", extra=[{"key": field, "message": message, "source": "body"}])


def _body(status_code: int, detail: str, extra: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status_code": status_code, "detail": detail}
    if extra:
        body["extra"] = extra
    return body


def validation_exception(exc: ValidationError, source: str = "body", prefix: str = "") -> ValidationException:
    """A Pydantic error raised inside a service, shaped like Litestar's own 400."""
    extra = [
        {
            "key": ".".join([prefix] * bool(prefix) + [str(part) for part in err["loc"]]),
            "message": err["msg"].removeprefix("Value error, "),
            "source": source,
        }
        for err in exc.errors(include_url=False)
    ]
    return ValidationException(detail="Validation failed", extra=extra)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequestsError) else None
    if isinstance(exc, ClientGoneError):
        log.info("client went away during %s %s", request.method, request.url.path)
    return Response(
        _body(exc.status_code, exc.detail, exc.extra),
        status_code=exc.status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


def integrity_error_handler(_request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # Services check uniqueness first; this catches the race where two requests pass
    # the check at once and the database's constraint decides.
    log.info("integrity error answered as 409: %s", exc.orig)
    return Response(_body(409, "conflicts with an existing record"), status_code=409, media_type=MediaType.JSON)


def validation_error_handler(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's 400 for invalid input, with Pydantic's "Value error, " prefix taken off."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            item["message"] = item["message"].removeprefix("Value error, ")
    return Response(_body(400, exc.detail, extra or exc.extra), status_code=400, media_type=MediaType.JSON)


def nesting_error_handler(_request: Request[Any, Any, Any], _exc: RecursionError) -> Response[Any]:
    # Decoding a body such as [[[[...]]]] thousands deep exhausts the stack: bad input, not a bug.
    return Response(_body(400, "request body is nested too deeply"), status_code=400, media_type=MediaType.JSON)


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
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return Response(
        _body(503, "the database is unavailable; nothing was changed, retry shortly"),
        status_code=503,
        media_type=MediaType.JSON,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},  # a read was tried twice (RetryReadOnce)
    )


def storage_error_handler(request: Request[Any, Any, Any], exc: StorageError) -> Response[Any]:
    """A stored file that is altered or gone is never served: said plainly, for the operator."""
    log.error("storage: %s on %s %s", exc, request.method, request.url.path)
    if isinstance(exc, AlteredFileError):
        detail = (
            f"存储的文件已被改动，与其 SHA-256 不符，未提供下载；请运行 dpa evidence verify。 "
            f"(The stored file {exc.sha256} was altered: it no longer matches its SHA-256 and was not served; "
            "run dpa evidence verify.)"
        )
    else:
        detail = "文件存储不可用或文件缺失；请运行 dpa evidence verify。 (The file store failed, or the file is gone.)"
    return Response(_body(500, detail), status_code=500, media_type=MediaType.JSON)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The log gets the traceback; the client never does.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(_body(500, "internal error"), status_code=500, media_type=MediaType.JSON)


exception_handlers: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    IntegrityError: integrity_error_handler,
    ValidationException: validation_error_handler,
    RecursionError: nesting_error_handler,
    DBAPIError: database_error_handler,
    PoolTimeoutError: database_error_handler,
    ConnectionError: database_error_handler,  # the driver could not connect (refused, reset)
    StorageError: storage_error_handler,
    500: internal_error_handler,
}
