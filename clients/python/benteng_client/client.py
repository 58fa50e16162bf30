"""The tenant API of benteng (``/v1``), one method per operation of its OpenAPI document."""

from __future__ import annotations

import decimal
import json
import urllib.parse
import uuid
from typing import Any, Callable, Iterable, Mapping

from .transport import RetryPolicy, Response, Transport, default_sleep, tls_context


# The routes that move money (the server's protection policy): each POST needs an idempotency
# key, and gets one here when the caller gives none.
MONEY_MOVING = frozenset({("POST", "/v1/transfers"), ("POST", "/v1/batches")})


# Each operation of the OpenAPI document this client has a method for (the live tests check
# the table against the server's `/openapi.json` both ways).
OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/v1/tenant"): "get_tenant",
    ("GET", "/v1/balances"): "get_balances",
    ("GET", "/v1/audit-events"): "list_audit_events",
    ("POST", "/v1/recipients"): "create_recipient",
    ("GET", "/v1/recipients"): "list_recipients",
    ("GET", "/v1/recipients/{id}"): "get_recipient",
    ("GET", "/v1/quotes"): "create_quote",
    ("POST", "/v1/transfers"): "create_transfer",
    ("GET", "/v1/transfers"): "list_transfers",
    ("GET", "/v1/transfers/{id}"): "get_transfer",
    ("POST", "/v1/batches"): "create_batch",
    ("GET", "/v1/batches/{id}"): "get_batch",
    ("GET", "/v1/kyc"): "get_kyc",
    ("POST", "/v1/kyc/evidence/{item}"): "upload_kyc_evidence",
    ("POST", "/v1/kyc/beneficial-owners"): "submit_beneficial_owners",
    ("POST", "/v1/kyc/upgrade-requests"): "request_kyc_upgrade",
}

# Tenant operations left to `Client.request`: managing webhook endpoints and reading the
# notices about them.
NOT_COVERED_PREFIXES = ("/v1/webhook-endpoints", "/v1/notices")


class _ApiKey:
    """The key, kept out of every repr, str and traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value or any(ord(c) < 0x21 or ord(c) > 0x7E for c in value):
            raise ValueError("api_key must be a non-empty printable ASCII token")
        self._value = value

    def bearer(self) -> str:
        return f"Bearer {self._value}"

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


class Client:
    """A client of benteng's tenant API.

    ``base_url`` (e.g. ``https://localhost:8443``), the tenant's ``api_key``, ``ca_file``
    (PEM; the system roots when omitted), and for a tenant that requires mTLS
    ``client_cert``/``client_key`` (PEM files). Money-moving POSTs carry an idempotency key:
    the one given, else a new UUID per call, reused by that call's retries. Refusals raise
    ``ProblemError`` subclasses, a lost connection or failed TLS ``TransportError``.

    One kept-alive connection per thread; ``close()`` (or ``with Client(...)``) ends them.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        ca_file: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = default_sleep,
    ) -> None:
        self.base_url = base_url
        self._api_key = _ApiKey(api_key)
        self._transport = Transport(
            base_url,
            self._api_key.bearer,
            tls_context(ca_file, client_cert, client_key),
            timeout,
            retry or RetryPolicy(),
            sleep,
        )

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, api_key=<redacted>)"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # ----- the low level: any route, any body -----

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
    ) -> Response:
        """One call with retries; ``path`` starts with ``/v1/``. The answer with its headers
        (``Response.replayed`` tells a replayed idempotent answer)."""
        if idempotency_key is None and (method, path) in MONEY_MOVING:
            # One key per call, so this call's retries are replays, never second payments.
            idempotency_key = str(uuid.uuid4())
        body = None
        content_type = None
        if json_body is not None:
            body = json.dumps(json_body, default=_decimal).encode()
            content_type = "application/json"
        return self._transport.request(
            method,
            path,
            query=query,
            body=body,
            content_type=content_type,
            idempotency_key=idempotency_key,
        )

    def _get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query).body

    def _post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json_body=body).body

    # ----- tenant -----

    def get_tenant(self) -> dict[str, Any]:
        """The tenant the key acts for: ``id``, ``name``, ``tier``, ``status``, ``created_at``."""
        return self._get("/v1/tenant")

    def get_balances(self) -> dict[str, Any]:
        """``{"data": [{"currency", "available", "reserved"}, ...]}``."""
        return self._get("/v1/balances")

    def list_audit_events(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """The tenant's own audit events, oldest first: ``{"data", "next_cursor"?}``;
        ``since``/``until`` are RFC 3339 times."""
        return self._get("/v1/audit-events", since=since, until=until, limit=limit, cursor=cursor)

    # ----- recipients -----

    def create_recipient(self, recipient: Mapping[str, Any]) -> dict[str, Any]:
        """``{"type": "business"|"individual", "name", "country", "bank_account": {"iban"} or
        {"account_number", "bank_code"}, "address"?, "national_id"?, "bic"?}``."""
        return self._post("/v1/recipients", recipient)

    def get_recipient(self, recipient_id: str) -> dict[str, Any]:
        return self._get(f"/v1/recipients/{_segment(recipient_id)}")

    def list_recipients(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        return self._get("/v1/recipients", limit=limit, cursor=cursor)

    # ----- quotes and transfers -----

    def create_quote(
        self,
        source_currency: str,
        target_currency: str,
        *,
        source_amount: str | decimal.Decimal | None = None,
        target_amount: str | decimal.Decimal | None = None,
    ) -> dict[str, Any]:
        """A priced quote; give exactly one of ``source_amount`` and ``target_amount``
        (decimal strings)."""
        return self._get(
            "/v1/quotes",
            source_currency=source_currency,
            target_currency=target_currency,
            source_amount=_amount(source_amount),
            target_amount=_amount(target_amount),
        )

    def create_transfer(
        self,
        *,
        quote_id: str,
        recipient_id: str,
        amount: str | decimal.Decimal,
        currency: str,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Pays ``recipient_id`` at ``quote_id``; ``amount`` and ``currency`` are the quote's
        fixed side. Send the same ``idempotency_key`` (a UUID) to retry a call whose outcome
        you did not see: the server replays the first answer instead of paying twice."""
        body = {
            "quote_id": quote_id,
            "recipient_id": recipient_id,
            "amount": _amount(amount),
            "currency": currency,
        }
        if reference is not None:
            body["reference"] = reference
        return self.request(
            "POST", "/v1/transfers", json_body=body, idempotency_key=idempotency_key
        ).body

    def get_transfer(self, transfer_id: str) -> dict[str, Any]:
        """A transfer with its status ``history``."""
        return self._get(f"/v1/transfers/{_segment(transfer_id)}")

    def list_transfers(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Newest first: ``{"data", "next_cursor"?}``; ``status`` e.g. ``COMPLETED``."""
        return self._get("/v1/transfers", status=status, limit=limit, cursor=cursor)

    def create_batch(
        self,
        transfers: Iterable[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Up to 1,000 transfers (each as ``create_transfer``'s fields); every item is
        accepted or rejected on its own: ``{"id", "accepted", "rejected", "items"}``."""
        return self.request(
            "POST",
            "/v1/batches",
            json_body={"transfers": list(transfers)},
            idempotency_key=idempotency_key,
        ).body

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        return self._get(f"/v1/batches/{_segment(batch_id)}")

    # ----- KYC -----

    def get_kyc(self) -> dict[str, Any]:
        """The tenant's KYC level, its 30-day ceiling and volume, and each evidence item."""
        return self._get("/v1/kyc")

    def upload_kyc_evidence(self, item: str, content: bytes, content_type: str) -> dict[str, Any]:
        """A document for ``item`` (e.g. ``business_registration``): ``application/pdf``,
        ``image/png`` or ``image/jpeg``."""
        response = self._transport.request(
            "POST",
            f"/v1/kyc/evidence/{_segment(item)}",
            body=bytes(content),
            content_type=content_type,
        )
        return response.body

    def submit_beneficial_owners(self, owners: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """``[{"name", "date_of_birth": "YYYY-MM-DD", "country"}, ...]``."""
        return self._post("/v1/kyc/beneficial-owners", {"owners": list(owners)})

    def request_kyc_upgrade(self) -> dict[str, Any]:
        """Asks for the next KYC level (two compliance officers decide)."""
        return self.request("POST", "/v1/kyc/upgrade-requests").body


def _segment(value: str) -> str:
    """An id as one path segment: nothing in it can reach another route."""
    return urllib.parse.quote(str(value), safe="")


def _amount(value: str | decimal.Decimal | None) -> str | None:
    """Amounts travel as decimal strings; a float would lose cents, so it is refused here."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    raise TypeError("amounts are decimal strings or decimal.Decimal, never floats")


def _decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
