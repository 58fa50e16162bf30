"""The fault suite's load generator: transfers and batches with idempotency keys from several
tenants through the load balancer, every attempt and its answer recorded as one JSON line.

An answer that does not settle a request (a transport error, a timeout, 409 idempotency key in
flight, 429, 502/503/504) is *indeterminate*: the request is retried later with the same key and
the same body until a definitive answer (2xx or another 4xx) arrives. Workers do not wait for
that: a retry is queued with its due time and the worker goes on with new requests, so a lock
left by a killed instance (it lapses after 60 s) does not stall the load.
"""

import http.client
import json
import random
import ssl
import threading
import time
import uuid

# Answers after which the same request must be sent again (same key, same body); a 409 only
# when it says the key is in use by a request still running (or by a crashed one, until its lock
# lapses).
RETRYABLE = {409, 429, 502, 503, 504}
KEY_IN_USE = "idempotency-key-in-use"


def settles(status, body) -> bool:
    if status == 409:
        return not (isinstance(body, dict) and str(body.get("type", "")).endswith(KEY_IN_USE))
    return status not in RETRYABLE and status < 500


def now() -> float:
    return time.time()


class History:
    """Append-only JSON lines, one per event; flushed per line so a crash of the suite keeps
    what was sent."""

    def __init__(self, path: str):
        self.file = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, record: dict):
        line = json.dumps(record, separators=(",", ":"))
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()

    def close(self):
        with self.lock:
            self.file.close()


class Request:
    """One logical money-moving request: its key, body and tenant."""

    def __init__(self, op, tenant, key, body, expect):
        self.op = op
        self.tenant = tenant
        self.key = key
        self.body = body
        self.expect = expect
        self.attempts = 0
        self.due = 0.0


class Client:
    """One keep-alive HTTPS connection to the load balancer; reconnects after any error."""

    def __init__(self, host, port, ca, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.context = ssl.create_default_context(cafile=ca)
        self.connection = None

    def call(self, method, path, auth, body=None, key=None, timeout=None):
        """(status, headers, body bytes) or raises OSError / http.client.HTTPException.
        `timeout` shortens this one call's wait (a client that gives up early)."""
        if self.connection is None:
            self.connection = http.client.HTTPSConnection(
                self.host, self.port, context=self.context, timeout=self.timeout
            )
        self.connection.timeout = timeout or self.timeout
        if self.connection.sock is not None:
            self.connection.sock.settimeout(self.connection.timeout)
        headers = {"authorization": auth}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if key is not None:
            headers["idempotency-key"] = key
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
            if response.getheader("connection", "").lower() == "close":
                self.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.connection is not None:
            try:
                self.connection.close()
            except OSError:
                pass
            self.connection = None


class LoadGenerator:
    def __init__(self, host, port, ca, tenants, history, workers=8, batch_share=0.15,
                 refuse_share=0.03, impatient_share=0.05, timeout=20.0, seed=None):
        self.host, self.port, self.ca = host, port, ca
        self.tenants = tenants  # [{"id", "auth", "recipient"}]
        self.history = history
        self.workers = workers
        self.batch_share = batch_share
        self.refuse_share = refuse_share
        # First attempts sent by a client that gives up after 50-300 ms: the server may commit
        # what the client never hears of, and the retry must then replay it.
        self.impatient_share = impatient_share
        self.timeout = timeout
        self.random = random.Random(seed)
        self.stop_new = threading.Event()
        self.stop_all = threading.Event()
        self.retry_lock = threading.Lock()
        self.retries: list[Request] = []
        self.sent = 0
        # Requests made and not settled yet (queued for a retry or being sent).
        self.unsettled = 0
        self.threads = []

    # -- requests -------------------------------------------------------------------------

    def quote(self, client, tenant):
        """A fresh quote for EUR 1.00 → IDR; reads are retried until one is made."""
        path = "/v1/quotes?source_currency=EUR&target_currency=IDR&source_amount=1.00"
        for _ in range(200):
            try:
                status, headers, data = client.call("GET", path, tenant["auth"])
                if 200 <= status < 300:
                    return json.loads(data)["id"]
                if status >= 500:
                    # Recorded so the checker judges a read's 5xx like a write's.
                    self.history.write({
                        "kind": "read", "status": status,
                        "retry_after": headers.get("retry-after"),
                        "body": data.decode("utf-8", "replace")[:2000],
                    })
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                pass
            if self.stop_new.is_set():
                return None
            time.sleep(0.2)
        return None

    def order(self, tenant, quote, reference, amount="1.00"):
        return {
            "quote_id": quote,
            "recipient_id": tenant["recipient"],
            "amount": amount,
            "currency": "EUR",
            "reference": reference,
        }

    def new_request(self, client, rng) -> Request | None:
        tenant = rng.choice(self.tenants)
        key = str(uuid.uuid4())
        roll = rng.random()
        if roll < self.batch_share:
            items = []
            for index in range(rng.randint(2, 5)):
                quote = self.quote(client, tenant)
                if quote is None:
                    return None
                items.append(self.order(tenant, quote, f"FS-{key}-{index}"))
            return Request("batch", tenant, key, {"transfers": items}, "ok")
        quote = self.quote(client, tenant)
        if quote is None:
            return None
        if roll < self.batch_share + self.refuse_share:
            # The quote is for 1.00: a different amount must be refused and make nothing.
            body = self.order(tenant, quote, f"FS-{key}", amount="2.00")
            return Request("transfer", tenant, key, body, "refuse")
        return Request("transfer", tenant, key, self.order(tenant, quote, f"FS-{key}"), "ok")

    def attempt(self, client, request: Request) -> bool:
        """Sends one attempt and records it; True when the answer settles the request."""
        request.attempts += 1
        path = "/v1/batches" if request.op == "batch" else "/v1/transfers"
        sent = now()
        record = {
            "kind": "attempt",
            "key": request.key,
            "n": request.attempts,
            "sent": sent,
        }
        settled = False
        retry_after = None
        timeout = None
        if request.attempts == 1 and self.random.random() < self.impatient_share:
            timeout = self.random.uniform(0.05, 0.3)
            record["timeout"] = round(timeout, 3)
        try:
            status, headers, data = client.call(
                "POST", path, request.tenant["auth"], request.body, request.key, timeout
            )
            record["status"] = status
            record["retry_after"] = headers.get("retry-after")
            record["replayed"] = headers.get("idempotent-replayed")
            text = data.decode("utf-8", "replace")
            try:
                record["body"] = json.loads(text)
            except ValueError:
                record["body"] = text[:2000]
            settled = settles(status, record["body"])
            if headers.get("retry-after", "").isdigit():
                retry_after = int(headers["retry-after"])
        except (OSError, http.client.HTTPException) as error:
            record["status"] = None
            record["error"] = f"{type(error).__name__}: {error}"[:300]
        record["took"] = round(now() - sent, 4)
        self.history.write(record)
        if not settled:
            delay = min(retry_after if retry_after is not None else 0.5, 3.0)
            request.due = now() + delay * (0.5 + self.random.random())
        return settled

    def due_retry(self) -> Request | None:
        with self.retry_lock:
            t = now()
            for index, request in enumerate(self.retries):
                if request.due <= t:
                    return self.retries.pop(index)
        return None

    def requeue(self, request: Request):
        with self.retry_lock:
            self.retries.append(request)

    def pending(self) -> int:
        with self.retry_lock:
            return self.unsettled

    # -- workers --------------------------------------------------------------------------

    def worker(self, index):
        rng = random.Random(f"{index}-{self.random.random()}")
        client = Client(self.host, self.port, self.ca, self.timeout)
        while not self.stop_all.is_set():
            request = self.due_retry()
            if request is None:
                if self.stop_new.is_set():
                    if self.stop_all.is_set():
                        break
                    time.sleep(0.1)
                    continue
                request = self.new_request(client, rng)
                if request is None:
                    continue
                self.history.write({
                    "kind": "request",
                    "op": request.op,
                    "tenant": request.tenant["id"],
                    "key": request.key,
                    "expect": request.expect,
                    "references": [item["reference"] for item in request.body["transfers"]]
                    if request.op == "batch" else [request.body["reference"]],
                })
                with self.retry_lock:
                    self.sent += 1
                    self.unsettled += 1
            if self.attempt(client, request):
                with self.retry_lock:
                    self.unsettled -= 1
            else:
                self.requeue(request)
        client.close()

    def start(self):
        for index in range(self.workers):
            thread = threading.Thread(target=self.worker, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self, resolve_within: float) -> int:
        """Stops new requests, keeps retrying the unsettled ones for up to `resolve_within`
        seconds, then stops; returns how many were left unsettled."""
        self.stop_new.set()
        deadline = now() + resolve_within
        while now() < deadline and self.pending() > 0:
            time.sleep(0.5)
        self.stop_all.set()
        for thread in self.threads:
            thread.join(timeout=self.timeout + 5)
        return self.pending()
