"""Retries, idempotency keys and error mapping against a scripted local stub (no benteng
needed). The client's waits go to a recorder instead of sleeping, so nothing here is timed."""

from __future__ import annotations

import socket
import unittest
import uuid

from benteng_client import (
    Client,
    ConflictError,
    HttpError,
    ProblemError,
    RateLimitError,
    RetryPolicy,
    TransportError,
    UnavailableError,
)

from .stub import Scripted, Stub, problem

KEY = "sk_live_stubkey_0123456789abcdef"
POLICY = RetryPolicy(max_attempts=3, base_delay=0.25, max_delay=10.0)
TRANSFER = {"quote_id": "q", "recipient_id": "r", "amount": "1.00", "currency": "IDR"}


def unavailable(retry_after: str | None = "1") -> Scripted:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    answer = problem(503, "unavailable", "Service unavailable")
    answer.headers.update(headers)
    return answer


class ClientTestCase(unittest.TestCase):
    def make(self, url: str, key: str = KEY, **options: object) -> Client:
        client = Client(url, key, **options)  # type: ignore[arg-type]
        self.addCleanup(client.close)
        return client

    def client(self, stub: Stub) -> tuple[Client, list[float]]:
        """A client whose waits are recorded instead of slept."""
        waits: list[float] = []
        return self.make(stub.url, retry=POLICY, sleep=waits.append), waits


class RetryTests(ClientTestCase):
    def test_503_with_retry_after_is_retried_after_that_many_seconds(self) -> None:
        with Stub([unavailable("2"), Scripted(200, {"id": "t-1"})]) as stub:
            client, waits = self.client(stub)
            self.assertEqual(client.get_tenant(), {"id": "t-1"})
        self.assertEqual(len(stub.requests), 2)
        self.assertEqual(len(waits), 1)
        # Never earlier than the server asked; jitter of at most one base delay on top.
        self.assertGreaterEqual(waits[0], 2.0)
        self.assertLessEqual(waits[0], 2.0 + POLICY.base_delay)

    def test_429_without_retry_after_backs_off_exponentially_and_gives_up(self) -> None:
        limited = problem(429, "rate-limited", "Too many requests")
        with Stub([limited] * 5) as stub:
            client, waits = self.client(stub)
            with self.assertRaises(RateLimitError) as raised:
                client.get_balances()
        self.assertEqual(len(stub.requests), POLICY.max_attempts)
        self.assertEqual(raised.exception.status, 429)
        self.assertEqual(len(waits), POLICY.max_attempts - 1)
        for attempt, wait in enumerate(waits, start=1):
            backoff = POLICY.base_delay * 2 ** (attempt - 1)
            self.assertGreaterEqual(wait, backoff / 2)
            self.assertLessEqual(wait, backoff)

    def test_a_retry_after_beyond_the_policy_is_not_waited_for(self) -> None:
        with Stub([unavailable("3600"), Scripted(200, {})]) as stub:
            client, waits = self.client(stub)
            with self.assertRaises(UnavailableError):
                client.get_tenant()
        self.assertEqual((len(stub.requests), waits), (1, []))

    def test_a_400_is_not_retried(self) -> None:
        malformed = problem(400, "malformed-request", "Malformed request", detail="bad")
        with Stub([malformed, Scripted(200, {})]) as stub:
            client, waits = self.client(stub)
            with self.assertRaises(ProblemError) as raised:
                client.get_tenant()
        self.assertEqual(len(stub.requests), 1)
        self.assertEqual(waits, [])
        self.assertEqual(raised.exception.status, 400)
        self.assertEqual(raised.exception.detail, "bad")

    def test_a_money_moving_retry_reuses_its_generated_idempotency_key(self) -> None:
        with Stub([unavailable(), Scripted(201, {"id": "tr-1"})]) as stub:
            client, _ = self.client(stub)
            self.assertEqual(client.create_transfer(**TRANSFER), {"id": "tr-1"})
        keys = [r.headers.get("x-idempotency-key") for r in stub.requests]
        self.assertEqual(len(keys), 2)
        self.assertEqual(keys[0], keys[1])
        self.assertEqual(str(uuid.UUID(keys[0])), keys[0])

    def test_each_call_gets_its_own_key_and_a_given_key_wins(self) -> None:
        given = str(uuid.uuid4())
        answers = [Scripted(201, {"id": "a"}), Scripted(201, {"id": "b"}), Scripted(201, {})]
        with Stub(answers) as stub:
            client, _ = self.client(stub)
            client.create_transfer(**TRANSFER)
            client.create_batch([TRANSFER])
            client.create_transfer(**TRANSFER, idempotency_key=given)
        keys = [r.headers.get("x-idempotency-key") for r in stub.requests]
        self.assertEqual([r.path for r in stub.requests], ["/v1/transfers", "/v1/batches", "/v1/transfers"])
        self.assertNotEqual(keys[0], keys[1])
        self.assertEqual(keys[2], given)

    def test_only_the_in_flight_conflict_is_retried(self) -> None:
        in_flight = problem(409, "idempotency-key-in-use", "Request with this idempotency key in progress")
        in_flight.headers["Retry-After"] = "1"
        used = problem(409, "quote-used", "Quote already used")
        with Stub([in_flight, Scripted(201, {"id": "tr-2"}), used]) as stub:
            client, waits = self.client(stub)
            self.assertEqual(client.create_transfer(**TRANSFER), {"id": "tr-2"})
            with self.assertRaises(ConflictError) as raised:
                client.create_transfer(**TRANSFER)
        self.assertEqual(len(stub.requests), 3)
        self.assertEqual(len(waits), 1)
        self.assertEqual(raised.exception.slug, "quote-used")

    def test_a_503_of_a_post_without_idempotency_key_is_not_repeated(self) -> None:
        with Stub([unavailable(), Scripted(201, {})]) as stub:
            client, waits = self.client(stub)
            with self.assertRaises(UnavailableError):
                client.create_recipient({"type": "business"})
        self.assertEqual((len(stub.requests), waits), (1, []))


class ErrorMappingTests(ClientTestCase):
    def test_problem_members_and_extensions_are_carried(self) -> None:
        document = problem(
            422,
            "validation-failed",
            "Validation failed",
            detail="see errors",
            errors=[{"field": "country", "code": "invalid_format", "message": "must be ISO"}],
            trace="abc",
        )
        document.headers["X-Request-Id"] = "req_1"
        with Stub([document]) as stub:
            client = self.make(stub.url)
            with self.assertRaises(ProblemError) as raised:
                client.create_recipient({})
        error = raised.exception
        self.assertEqual(error.status, 422)
        self.assertEqual(error.type, "https://benteng.dev/problems/validation-failed")
        self.assertEqual(error.title, "Validation failed")
        self.assertEqual(error.detail, "see errors")
        self.assertEqual(error.errors[0]["field"], "country")
        self.assertEqual(error.extensions["trace"], "abc")
        self.assertEqual(error.request_id, "req_1")
        self.assertIn("country must be ISO", str(error))

    def test_an_error_without_a_problem_document_is_an_http_error(self) -> None:
        page = Scripted(502, "<html>bad gateway</html>", content_type="text/html")
        with Stub([page]) as stub:
            with self.assertRaises(HttpError) as raised:
                self.make(stub.url).get_tenant()
        self.assertNotIsInstance(raised.exception, ProblemError)
        self.assertEqual(raised.exception.status, 502)
        self.assertEqual(raised.exception.body, b"<html>bad gateway</html>")

    def test_no_answer_is_a_transport_error(self) -> None:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        with self.assertRaises(TransportError):
            self.make(f"http://127.0.0.1:{port}", retry=POLICY).get_tenant()

    def test_tls_to_a_plain_server_is_a_transport_error(self) -> None:
        with Stub([Scripted(200, {})]) as stub:
            url = stub.url.replace("http://", "https://")
            with self.assertRaises(TransportError) as raised:
                self.make(url).get_tenant()
        self.assertIn("TLS", str(raised.exception))


class ConnectionTests(ClientTestCase):
    def test_one_connection_is_kept_alive(self) -> None:
        with Stub([Scripted(200, {})] * 3) as stub:
            client = self.make(stub.url)
            for _ in range(3):
                client.get_tenant()
        self.assertEqual([r.connection for r in stub.requests], [1, 1, 1])

    def test_a_connection_the_server_closed_is_replaced(self) -> None:
        with Stub([Scripted(200, {}, drop_connection=True), Scripted(201, {"id": "r"})]) as stub:
            client = self.make(stub.url)
            client.get_tenant()
            self.assertTrue(stub.dropped.wait(10))
            # A POST without idempotency key is never repeated, so this passes only because
            # the dropped connection was noticed before it was used.
            self.assertEqual(client.create_recipient({}), {"id": "r"})
        self.assertEqual([r.connection for r in stub.requests], [1, 2])


class SecretTests(ClientTestCase):
    def test_the_key_is_never_shown(self) -> None:
        client = self.make("https://localhost:8443")
        for text in (repr(client), str(client), repr(vars(client))):
            self.assertNotIn(KEY, text)
            self.assertNotIn("stubkey", text)

    def test_the_key_is_never_in_an_error(self) -> None:
        with Stub([problem(401, "unauthenticated", "Authentication required")]) as stub:
            with self.assertRaises(ProblemError) as raised:
                self.make(stub.url).get_tenant()
        error = raised.exception
        self.assertNotIn("stubkey", repr(error) + str(error) + repr(vars(error)))
        self.assertEqual(stub.requests[0].headers["authorization"], f"Bearer {KEY}")

    def test_a_key_that_could_split_a_header_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            Client("https://localhost:8443", "sk_live_x\r\nX-Evil: 1")

    def test_plain_http_only_to_this_machine(self) -> None:
        with self.assertRaises(ValueError):
            Client("http://example.com", KEY)


if __name__ == "__main__":
    unittest.main()
