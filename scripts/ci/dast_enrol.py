"""Enrols a staff member for scripts/ci/dast through the operator API, as a person would:
`POST /admin/v1/enrolment/start` with the one-time enrolment code and a new password, then
`/finish` with a TOTP code (RFC 6238: HMAC-SHA-1, 6 digits, 30 s) computed from the secret the
first step returned. Usage: dast_enrol.py BASE_URL ENROLMENT_CODE"""

import base64
import hashlib
import hmac
import json
import secrets
import struct
import sys
import time
import urllib.request


def post(base, path, body):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def totp(secret_b32, at):
    secret = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(secret, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def main():
    base, code = sys.argv[1], sys.argv[2]
    password = "Dast-" + secrets.token_urlsafe(24)
    started = post(base, "/admin/v1/enrolment/start", {"enrolment_code": code, "password": password})
    post(base, "/admin/v1/enrolment/finish", {"enrolment_code": code, "code": totp(started["totp_secret"], time.time())})


main()
