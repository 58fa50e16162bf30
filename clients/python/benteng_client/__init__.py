"""A client of benteng's tenant API (standard library only).

    from benteng_client import Client
    client = Client("https://localhost:8443", key, ca_file="data/tls/dev-ca.pem")
    client.get_tenant()
"""

from .client import Client
from .errors import (
    AuthenticationError,
    BentengError,
    ConflictError,
    ForbiddenError,
    HttpError,
    NotFoundError,
    ProblemError,
    RateLimitError,
    TransportError,
    UnavailableError,
    ValidationError,
)
from .transport import IDEMPOTENCY_IN_FLIGHT, Response, RetryPolicy

__all__ = [
    "AuthenticationError",
    "BentengError",
    "Client",
    "ConflictError",
    "ForbiddenError",
    "HttpError",
    "IDEMPOTENCY_IN_FLIGHT",
    "NotFoundError",
    "ProblemError",
    "RateLimitError",
    "Response",
    "RetryPolicy",
    "TransportError",
    "UnavailableError",
    "ValidationError",
]
