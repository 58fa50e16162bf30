#!/usr/bin/env python3
"""Independent SNAP (Bank Indonesia Open API) test client.

Written from the standard's rules, not from the Rust code, so the two can check each other:

  token string      client_id + "|" + X-TIMESTAMP                      SHA256withRSA, base64
  symmetric string  METHOD:RelativeUrl:AccessToken:hexbody:X-TIMESTAMP  HMAC-SHA512(secret), base64
  asymmetric string METHOD:RelativeUrl:hexbody:X-TIMESTAMP              SHA256withRSA, base64
  hexbody           lower-case hex SHA-256 of the body with JSON whitespace outside strings removed
  RelativeUrl       path + "?" + query params sorted by name then value, RFC 3986 encoded

Usage:
  snap_client.py --selftest
  snap_client.py token   --base-url URL --client-id ID --private-key key.pem [--cacert CA]
                         [--cert client.pem --key client.key]   (mTLS, same for request)
  snap_client.py request --base-url URL --client-id ID --private-key key.pem \\
                         --client-secret S [--partner-id P] [--channel-id C] METHOD PATH [BODY]
  snap_client.py sign    --secret S --method M --url PATH[?QUERY] --token T --timestamp TS [--body B]
  snap_client.py sign-rsa --private-key key.pem --method M --url PATH --timestamp TS [--body B]

Needs the `cryptography` package (pip install cryptography).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
except ImportError:  # pragma: no cover - reported to the caller
    sys.stderr.write("snap_client.py: the 'cryptography' package is missing: pip install cryptography\n")
    sys.exit(3)

WIB = timezone(timedelta(hours=7))
HERE = os.path.dirname(os.path.abspath(__file__))
DEMO_KEY = os.path.join(HERE, "..", "tests", "fixtures", "demo_private_key_pkcs8.pem")


# ---------------------------------------------------------------- canonical forms

def minify(body: bytes) -> bytes:
    """Drop JSON whitespace outside string literals; everything else byte-for-byte."""
    body.decode("utf-8")  # refuse invalid UTF-8
    out = bytearray()
    in_string = False
    escaped = False
    for byte in body:
        if in_string:
            out.append(byte)
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte in b" \t\r\n":
            continue
        else:
            out.append(byte)
            if byte == 0x22:
                in_string = True
    if in_string:
        raise ValueError("unterminated string in body")
    return bytes(out)


def body_hex(body: bytes) -> str:
    return hashlib.sha256(minify(body)).hexdigest().lower()


def _enc(raw: str) -> str:
    # quote() keeps A-Z a-z 0-9 - _ . ~ and writes %XY upper-case; '+' is a literal plus.
    return urllib.parse.quote(urllib.parse.unquote_to_bytes(raw), safe="")


def relative_url(url: str, with_query: bool = True) -> str:
    path, _, query = url.partition("?")
    canonical_path = "/".join(_enc(segment) for segment in path.split("/"))
    if not with_query or not query:
        return canonical_path
    params = []
    for item in query.split("&"):
        if not item:
            continue
        if "=" in item:
            name, value = item.split("=", 1)
            params.append((_enc(name), "=" + _enc(value)))
        else:
            params.append((_enc(item), ""))
    if not params:
        return canonical_path
    params.sort()
    return canonical_path + "?" + "&".join(n + v for n, v in params)


def timestamp_now() -> str:
    # Milliseconds: benteng refuses a token request whose signature it has seen, and an RSA
    # signature over `client_id|timestamp` repeats within one second.
    now = datetime.now(WIB)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+07:00"


# ---------------------------------------------------------------- signatures

def load_private_key(path: str):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def rsa_sign(key, text: str) -> str:
    sig = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode("ascii")


def hmac_sign(secret: str, text: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha512).digest()
    return base64.b64encode(mac).decode("ascii")


def symmetric_string(method, url, token, body, ts, with_query=True) -> str:
    return ":".join([method.upper(), relative_url(url, with_query), token, body_hex(body), ts])


def asymmetric_string(method, url, body, ts, with_query=True) -> str:
    return ":".join([method.upper(), relative_url(url, with_query), body_hex(body), ts])


# ---------------------------------------------------------------- HTTP

# Set by --cacert: a CA bundle to trust instead of the system's (e.g. benteng's dev CA).
CAFILE = None
# Set by --cert/--key: the client certificate for mTLS (a tenant that requires it).
CLIENT_CERT = None


def http(method: str, url: str, headers: dict, body: bytes):
    req = urllib.request.Request(url, data=body if body else None, method=method.upper())
    for k, v in headers.items():
        req.add_header(k, v)
    context = ssl.create_default_context(cafile=CAFILE) if CAFILE or CLIENT_CERT else None
    if CLIENT_CERT:
        context.load_cert_chain(*CLIENT_CERT)
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def get_token(base_url, client_id, key, path="/v1.0/access-token/b2b"):
    ts = timestamp_now()
    headers = {
        "Content-Type": "application/json",
        "X-CLIENT-KEY": client_id,
        "X-TIMESTAMP": ts,
        "X-SIGNATURE": rsa_sign(key, client_id + "|" + ts),
    }
    body = json.dumps({"grantType": "client_credentials"}, separators=(",", ":")).encode()
    return http("POST", base_url.rstrip("/") + path, headers, body)


def cmd_token(a):
    status, text = get_token(a.base_url, a.client_id, load_private_key(a.private_key), a.token_path)
    print(text)
    return 0 if status == 200 else 1


def cmd_request(a):
    token = a.token
    if not token:
        status, text = get_token(a.base_url, a.client_id, load_private_key(a.private_key), a.token_path)
        if status != 200:
            print(text)
            return 1
        token = json.loads(text)["accessToken"]
    body = a.body.encode("utf-8") if a.body else b""
    ts = timestamp_now()
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Bearer " + token,
        "X-TIMESTAMP": ts,
        "X-SIGNATURE": hmac_sign(a.client_secret, symmetric_string(a.method, a.path, token, body, ts)),
        "X-PARTNER-ID": a.partner_id or a.client_id,
        "X-EXTERNAL-ID": "".join(secrets.choice("0123456789") for _ in range(32)),
        "CHANNEL-ID": a.channel_id,
    }
    status, text = http(a.method, a.base_url.rstrip("/") + a.path, headers, body)
    print(text)
    return 0 if 200 <= status < 300 else 1


def cmd_sign(a):
    body = a.body.encode("utf-8")
    text = symmetric_string(a.method, a.url, a.token, body, a.timestamp, not a.path_only)
    print(json.dumps({"stringToSign": text, "signature": hmac_sign(a.secret, text)}))
    return 0


def cmd_sign_rsa(a):
    body = a.body.encode("utf-8")
    text = asymmetric_string(a.method, a.url, body, a.timestamp, not a.path_only)
    print(json.dumps({"stringToSign": text, "signature": rsa_sign(load_private_key(a.private_key), text)}))
    return 0


# ---------------------------------------------------------------- self-test

def selftest() -> int:
    failures = 0

    def check(name, got, want):
        nonlocal failures
        ok = got == want
        failures += 0 if ok else 1
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": got {got!r}, want {want!r}"))

    # 1. Symmetric (Midtrans/SNAP-BI-Signature-Demo, sample-code/symmetricSignature).
    body = (b'{"partnerReferenceNo":"2020102900000000000001","amount":{"value":"12345678.00",'
            b'"currency":"IDR"},"feeAmount":{"value":"12345678.00","currency":"IDR"},'
            b'"merchantId":"00007100010926","terminalId":"213141251124",'
            b'"validityPeriod":"2009-07-03T12:08:56-07:00"}')
    check("symmetric body hash", body_hex(body),
          "01463f60dbb6ca538581579dd95b31c8ba9fc6600eca750e4d8460ca4e402111")
    text = symmetric_string("POST", "/v1.0/qr/qr-mpm-generate", "myaccesstoken", body, "2024-03-05T10:37:16.196Z")
    check("symmetric signature", hmac_sign("myclientsecret", text),
          "wmzT7yjg1SxxCsxNsFgCR9SYXiZGGbceF6fV8xe97sAMHxZ+7OEBMIBmvb6Sj6GcksGp3iv77DiomgSbcST3XQ==")

    # 2. Token (sample-code/asymmetricSignature), published demo key.
    key = load_private_key(DEMO_KEY)
    check("token signature", rsa_sign(key, "G1234325-SNAP|2024-03-01T08:27:49.024Z"),
          "WzW49tYIgKIBmBi/gVBHGLAkhEaZlXM11zcZxAiyHji6TLPjPbwLu3Z45it25AIeG0XDItcdTSkds47zFEMh6IP0PXPIP1"
          "+Ey4RmX/o2fuYRF/xBHvfvKnMmANMTS1axsXBSW3EHqYpbVrkCcqNnB3u+wu63us9WIhRZaWgxgQ2PJLaiVHIwgu9u7jxk"
          "WX7Bg4rerZH3RKdQfIJAAJsSN13efR7VdSAyzU7QaKjgislxrLqmesYNJkbD03XLjHdo6YWuzAVV7xdZRpLiGkIAkW7luX"
          "TBZYBO+4oENZAPQYzrLeN1qRY1Sr7BgLONCA2QA26BB6SYW4R7qofS9+RyOQ==")

    # 3. Notification (sample-code/asymmetricSignatureNotificationGeneration).
    with open(os.path.join(HERE, "..", "tests", "fixtures", "notification_body.json"), "rb") as f:
        notify_body = f.read()
    check("notification body hash", body_hex(notify_body),
          "2ea1a3719499a0c45630f774b241a26a03d954fd8ab4a4d35cce05b5e37e4293")
    text = asymmetric_string("POST", "/v1.0/debit/notify", notify_body, "2024-03-05T10:37:16.196Z")
    check("notification signature", rsa_sign(key, text),
          "eUGsomFLNsjWzehgGsa317MqcVOgscay/Hml8yNmOsFhmoBM7pso+UPDgSe34anXvecSQkf5NOr0fbr8k9qdyyoWiYX7DT"
          "q/Wnz8XC0cRCCbNZfyLIyF33HO9cnvxOcRQq9DuWlQtld+uEluuivVdN2TiaWLpUTmfB/H7noZnXWWDj6FYa4n5kSo4o3a"
          "TeFYAF9EmLp0Tcsl8CiHSQCrQnIbB8M2+puLwyJ1l2OocvZ5qgjf5f2DqlCbemsSMzYzjN+YMrb0kiDx0TiW5UTk+WZass"
          "43xIfb3vdrlX+U2JSk5YsJ8lFpp9F+7FId4cyncElNFEbt3zWuP4iDzXteCg==")

    # Canonical URL rules.
    check("url sort/encode", relative_url("/v1.0/x?b=2&a=hello%20world&a=1&c"),
          "/v1.0/x?a=1&a=hello%20world&b=2&c")
    check("url equivalent escapes", relative_url("/a%7eb?k=%7e%2a"), relative_url("/a~b?k=~*"))
    check("empty body hash", body_hex(b""),
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    print("selftest: " + ("PASS" if failures == 0 else f"{failures} FAILED"))
    return 0 if failures == 0 else 1


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--selftest":
        return selftest()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--selftest", action="store_true", help="check the published vectors")
    sub = p.add_subparsers(dest="cmd")

    t = sub.add_parser("token", help="request a B2B access token")
    for s in (t, sub.add_parser("request", help="signed transactional request")):
        s.add_argument("--base-url", required=True)
        s.add_argument("--client-id", required=True)
        s.add_argument("--private-key", required=True, help="PKCS#8 PEM of the client's RSA key")
        s.add_argument("--token-path", default="/v1.0/access-token/b2b")
        s.add_argument("--cacert", help="PEM CA bundle to trust (e.g. data/tls/dev-ca.pem)")
        s.add_argument("--cert", help="PEM client certificate for mTLS (with --key)")
        s.add_argument("--key", help="PEM private key of --cert")
    r = sub.choices["request"]
    r.add_argument("--client-secret", required=True)
    r.add_argument("--token", help="use this access token instead of requesting one")
    r.add_argument("--partner-id")
    r.add_argument("--channel-id", default="95221")
    r.add_argument("method")
    r.add_argument("path", help="path with optional ?query")
    r.add_argument("body", nargs="?", default="")

    for name in ("sign", "sign-rsa"):
        s = sub.add_parser(name, help="print string-to-sign and signature as JSON")
        s.add_argument("--method", required=True)
        s.add_argument("--url", required=True, help="path with optional ?query")
        s.add_argument("--timestamp", required=True)
        s.add_argument("--body", default="")
        s.add_argument("--path-only", action="store_true")
    sub.choices["sign"].add_argument("--secret", required=True)
    sub.choices["sign"].add_argument("--token", required=True)
    sub.choices["sign-rsa"].add_argument("--private-key", required=True)

    a = p.parse_args()
    if a.selftest:
        return selftest()
    global CAFILE, CLIENT_CERT
    CAFILE = getattr(a, "cacert", None)
    cert, key = getattr(a, "cert", None), getattr(a, "key", None)
    if bool(cert) != bool(key):
        p.error("--cert and --key go together")
    CLIENT_CERT = (cert, key) if cert else None
    handlers = {"token": cmd_token, "request": cmd_request, "sign": cmd_sign, "sign-rsa": cmd_sign_rsa}
    if a.cmd not in handlers:
        p.print_help()
        return 2
    return handlers[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
