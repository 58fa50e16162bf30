"""Schemathesis hooks for scripts/ci/dast: the raw-bytes media types benteng documents (KYC
documents), which schemathesis does not serialize by itself. Generated values for a
`format: binary` string arrive as bytes and are sent as they are."""

import schemathesis


@schemathesis.serializer("application/pdf", "image/png", "image/jpeg")
def raw_bytes(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")
