"""HTTPS with kept-alive connections, retries and problem documents: what every call shares.

Only the standard library: ``http.client`` over an ``ssl`` context that trusts the configured
CA (or the system's roots) and presents the client certificate when one is configured.
"""

from __future__ import annotations

import http.client
import json
import random
import select
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import HttpError, ProblemError, TransportError, problem_class

USER_AGENT = "benteng-client-python/0.1"

# Problem type of a 409 that means "the first request with this key is still running": the one
# conflict worth retrying (a used quote or an existing recipient stays a conflict).
IDEMPOTENCY_IN_FLIGHT = "https://benteng.dev/problems/idempotency-key-in-use"

_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class RetryPolicy:
    """How refused-for-now requests are retried.

    429 is retried for every request (a rate limit refuses before anything runs); 503 only
    for requests that are safe to repeat (GET, or a POST carrying an idempotency key); 409
    only when it says the same idempotency key is still in flight. The wait is the server's
    ``Retry-After`` (seconds) when given, else ``base_delay * 2**(attempt-1)`` capped at
    ``max_delay``, with jitter either way. A ``Retry-After`` longer than ``max_delay`` is not
    waited for: the error is raised at once.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; ``None``: do not retry."""
        if retry_after is not None:
            if retry_after > self.max_delay:
                return None
            # Never earlier than asked; the jitter spreads clients told the same second.
            return retry_after + random.uniform(0, self.base_delay)
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff / 2 + random.uniform(0, backoff / 2)


@dataclass
class Response:
    """A successful answer: status, headers (lower-case names) and the decoded JSON body."""

    status: int
    headers: dict[str, str]
    body: Any = field(repr=False)

    @property
    def replayed(self) -> bool:
        """True when the server replayed the stored answer of an earlier request with the
        same idempotency key (``Idempotent-Replayed: true``)."""
        return self.headers.get("idempotent-replayed", "").lower() == "true"

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")


def parse_base_url(base_url: str) -> urllib.parse.SplitResult:
    """The base URL, checked: HTTPS, or plain HTTP to this machine only (a local stub)."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("base_url must be an https:// URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError("base_url must be https:// (plain http is allowed to localhost only)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("base_url takes no query, fragment or credentials")
    return parts


def tls_context(
    ca_file: str | None, client_cert: str | None, client_key: str | None
) -> ssl.SSLContext:
    """Verifying context: the CA file when given (else the system roots), TLS 1.2 or newer,
    and the client certificate for mTLS when given."""
    if client_key is not None and client_cert is None:
        raise ValueError("client_key needs client_cert")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert is not None:
        context.load_cert_chain(client_cert, client_key)
    return context


class Transport:
    """One kept-alive connection per thread to the base URL, and the retry loop."""

    def __init__(
        self,
        base_url: str,
        authorization: Callable[[], str],
        context: ssl.SSLContext,
        timeout: float,
        retry: RetryPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self._base = parse_base_url(base_url)
        self._prefix = self._base.path.rstrip("/")
        self._authorization = authorization
        self._context = context
        self._timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> Response:
        target = self._prefix + path
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        if params:
            target += "?" + urllib.parse.urlencode(params)
        headers = {
            "Authorization": self._authorization(),
            "Accept": "application/json, application/problem+json",
            "User-Agent": USER_AGENT,
        }
        if content_type is not None:
            headers["Content-Type"] = content_type
        if idempotency_key is not None:
            headers["X-Idempotency-Key"] = idempotency_key
        repeatable = method in ("GET", "HEAD") or idempotency_key is not None
        attempt = 1
        while True:
            status, response_headers, data = self._exchange(
                method, target, body, headers, repeatable
            )
            if 200 <= status < 300:
                return Response(status, response_headers, _json(status, response_headers, data))
            error = error_from(status, response_headers, data)
            wait = None
            if attempt < self.retry.max_attempts and _retryable(error, repeatable):
                wait = self.retry.delay(attempt, _retry_after(response_headers))
            if wait is None:
                raise error
            self._sleep(wait)
            attempt += 1

    def _exchange(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        repeatable: bool,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on this thread's connection: (status, headers, body).

        A kept-alive connection the server closed meanwhile (its idle timeout) is replaced
        before use; if it fails on the first bytes anyway, a request safe to repeat is sent
        once more on a new connection.
        """
        connection, reused = self._connection()
        try:
            return _send(connection, method, target, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
            self._discard(connection)
            if not (reused and repeatable):
                raise TransportError(f"connection lost: {error}", error) from error
        except (OSError, http.client.HTTPException) as error:
            self._discard(connection)
            raise _transport_error(error) from error
        connection, _ = self._connection()
        try:
            return _send(connection, method, target, body, headers)
        except (OSError, http.client.HTTPException) as error:
            self._discard(connection)
            raise _transport_error(error) from error

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection and whether it carried a request before."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and _dropped(connection):
            self._discard(connection)
            connection = None
        if connection is not None:
            return connection, True
        port = self._base.port
        host = self._base.hostname or ""
        if self._base.scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=self._timeout, context=self._context
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection, False

    def _discard(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)


def _send(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    body: bytes | None,
    headers: Mapping[str, str],
) -> tuple[int, dict[str, str], bytes]:
    connection.request(method, target, body=body, headers=dict(headers))
    response = connection.getresponse()
    data = response.read()
    response_headers = {name.lower(): value for name, value in response.getheaders()}
    if response_headers.get("connection", "").lower() == "close":
        connection.close()
    return response.status, response_headers, data


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection was closed by the server: readable while idle
    means end-of-file (or garbage), either way unusable."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _transport_error(error: BaseException) -> TransportError:
    if isinstance(error, ssl.SSLError):
        return TransportError(f"TLS failed: {error}", error)
    if isinstance(error, TimeoutError):
        return TransportError("the request timed out", error)
    return TransportError(f"request failed: {error}", error)


def _retryable(error: HttpError, repeatable: bool) -> bool:
    if error.status == 429:
        return True
    if error.status == 503:
        return repeatable
    if error.status == 409:
        return isinstance(error, ProblemError) and error.type == IDEMPOTENCY_IN_FLIGHT
    return False


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds; the HTTP-date form (which benteng never sends) counts as
    absent, so the backoff applies."""
    value = headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _json(status: int, headers: Mapping[str, str], data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError as error:
        raise HttpError(status, headers, data, f"HTTP {status}: the answer is not JSON") from error


def error_from(status: int, headers: Mapping[str, str], data: bytes) -> HttpError:
    """A problem document becomes its ``ProblemError`` subclass; anything else an
    ``HttpError``."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/problem+json":
        try:
            document = json.loads(data)
        except ValueError:
            document = None
        if isinstance(document, dict):
            return problem_class(status)(status, headers, data, document)
    return HttpError(status, headers, data)


def default_sleep(seconds: float) -> None:
    time.sleep(seconds)
