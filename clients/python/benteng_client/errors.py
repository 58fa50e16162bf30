"""The errors a call can raise.

``BentengError`` is the base of all of them:

- ``ProblemError``: the server refused the request with an RFC 9457 problem document
  (``application/problem+json``); one subclass per common status, so callers can catch,
  say, ``NotFoundError`` alone.
- ``HttpError``: an error status without a problem document (a proxy's 502 page, say).
- ``TransportError``: no HTTP answer at all (DNS, refused connection, TLS, timeout, reset).
"""

from __future__ import annotations

from typing import Any, Mapping


class BentengError(Exception):
    """Every error this package raises."""


class TransportError(BentengError):
    """The request got no HTTP answer: name resolution, connection, TLS or a timeout.

    ``cause`` is the underlying exception (also chained as ``__cause__``).
    """

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class HttpError(BentengError):
    """An HTTP error status whose body is not a problem document."""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        message: str | None = None,
    ) -> None:
        self.status = status
        self.headers = dict(headers)
        self.body = body
        self.request_id = self.headers.get("x-request-id")
        super().__init__(message or f"HTTP {status}")


# Members every problem document may carry; anything else is an extension member.
_STANDARD_MEMBERS = ("type", "title", "status", "detail", "instance")


class ProblemError(HttpError):
    """The server's RFC 9457 problem document, as an exception.

    ``type``, ``title``, ``detail`` and ``instance`` are the document's members (``None`` when
    absent); ``extensions`` holds every other member, e.g. ``errors``, the invalid fields of
    a 422 (each ``{"field", "code", "message"}``), also available as ``errors``.
    """

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        document: Mapping[str, Any],
    ) -> None:
        self.type: str = str(document.get("type") or "about:blank")
        self.title: str | None = _text(document.get("title"))
        self.detail: str | None = _text(document.get("detail"))
        self.instance: str | None = _text(document.get("instance"))
        self.extensions: dict[str, Any] = {
            name: value for name, value in document.items() if name not in _STANDARD_MEMBERS
        }
        summary = f"{status} {self.title or self.type}"
        if self.detail:
            summary += f": {self.detail}"
        for error in self.errors:
            if isinstance(error, Mapping):
                summary += f"; {error.get('field')} {error.get('message')}"
        super().__init__(status, headers, body, summary)

    @property
    def errors(self) -> list[Any]:
        """The invalid fields of a validation failure (empty otherwise)."""
        errors = self.extensions.get("errors")
        return list(errors) if isinstance(errors, list) else []

    @property
    def slug(self) -> str:
        """The last segment of ``type``: ``validation-failed``, ``not-found``, ..."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]


class AuthenticationError(ProblemError):
    """401: no credentials, or credentials the server does not accept."""


class ForbiddenError(ProblemError):
    """403: authenticated, but not allowed (scope, network, client certificate, ...)."""


class NotFoundError(ProblemError):
    """404."""


class ConflictError(ProblemError):
    """409: e.g. a quote already used, or the same idempotency key still in flight."""


class ValidationError(ProblemError):
    """422: the request was understood but refused; see ``errors``."""


class RateLimitError(ProblemError):
    """429."""


class UnavailableError(ProblemError):
    """503."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
    503: UnavailableError,
}


def problem_class(status: int) -> type[ProblemError]:
    """The most specific ``ProblemError`` class for a status."""
    return _BY_STATUS.get(status, ProblemError)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
