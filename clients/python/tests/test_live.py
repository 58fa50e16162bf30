"""The client against a running benteng: the README's payment, refusals as typed errors, and
mTLS. Run by the Rust suite (crates/benteng/tests/it/clients.rs), which starts the server,
makes the tenants and passes them here:

- ``BENTENG_URL``, ``BENTENG_CA_FILE``: the server and the CA its certificate chains to;
- ``BENTENG_API_KEY``: a live key of a funded tenant (IDR) at KYC level ``standard``;
- ``BENTENG_IBAN``: a recipient IBAN;
- ``BENTENG_MTLS_API_KEY``, ``BENTENG_MTLS_TENANT_ID``, ``BENTENG_CLIENT_CERT``,
  ``BENTENG_CLIENT_KEY``: a tenant that requires mTLS and its registered certificate.

Without ``BENTENG_URL`` these tests are skipped (the suite checks none was).
"""

from __future__ import annotations

import os
import unittest
import uuid

from benteng_client import (
    AuthenticationError,
    Client,
    ForbiddenError,
    NotFoundError,
    TransportError,
    ValidationError,
)
from benteng_client.client import NOT_COVERED_PREFIXES, OPERATIONS

ENV = os.environ
LIVE = "BENTENG_URL" in ENV


@unittest.skipUnless(LIVE, "BENTENG_URL is not set: no server to test against")
class LiveTests(unittest.TestCase):
    def client(self, key: str | None = None, **options: object) -> Client:
        options.setdefault("ca_file", ENV["BENTENG_CA_FILE"])
        client = Client(ENV["BENTENG_URL"], key or ENV["BENTENG_API_KEY"], **options)  # type: ignore[arg-type]
        self.addCleanup(client.close)
        return client

    def test_the_walkthrough_payment(self) -> None:
        client = self.client()
        tenant = client.get_tenant()
        self.assertEqual(tenant["status"], "active")
        self.assertEqual(client.get_kyc()["level"], "standard")

        recipient = client.create_recipient(
            {
                "type": "business",
                "name": "Müller Handels GmbH",
                "country": "DE",
                "bank_account": {"iban": ENV["BENTENG_IBAN"]},
            }
        )
        self.assertEqual(recipient["bank_account"]["last4"], ENV["BENTENG_IBAN"][-4:])
        quote = client.create_quote("IDR", "EUR", source_amount="500000.00")
        self.assertEqual(quote["fixed_side"], "source")

        key = str(uuid.uuid4())
        order = {
            "quote_id": quote["id"],
            "recipient_id": recipient["id"],
            "amount": "500000.00",
            "currency": "IDR",
            "reference": "INV-1",
        }
        transfer = client.create_transfer(**order, idempotency_key=key)
        self.assertIn(transfer["status"], ("APPROVED", "SUBMITTED", "COMPLETED"))
        # A retry with the same key is the same transfer, replayed, not a second payment.
        again = client.request("POST", "/v1/transfers", json_body=order, idempotency_key=key)
        self.assertEqual(again.body["id"], transfer["id"])
        self.assertTrue(again.replayed)
        self.assertEqual(client.create_transfer(**order, idempotency_key=key)["id"], transfer["id"])

        shown = client.get_transfer(transfer["id"])
        self.assertEqual(shown["reference"], "INV-1")
        self.assertEqual(shown["history"][0]["to"], "INITIATED")
        listed = client.list_transfers(limit=10)["data"]
        self.assertEqual([t["id"] for t in listed].count(transfer["id"]), 1)

        small = client.create_quote("IDR", "EUR", source_amount="100000.00")
        batch = client.create_batch(
            [
                {
                    "quote_id": small["id"],
                    "recipient_id": recipient["id"],
                    "amount": "100000.00",
                    "currency": "IDR",
                },
                # A number, not a decimal string: this item alone is rejected.
                {
                    "quote_id": small["id"],
                    "recipient_id": recipient["id"],
                    "amount": 100,
                    "currency": "IDR",
                },
            ]
        )
        self.assertEqual((batch["accepted"], batch["rejected"]), (1, 1))
        self.assertEqual([i["status"] for i in batch["items"]], ["accepted", "rejected"])
        self.assertEqual(client.get_batch(batch["id"])["accepted"], 1)

        balances = {b["currency"]: b for b in client.get_balances()["data"]}
        self.assertIn("IDR", balances)
        events = client.list_audit_events(limit=500)["data"]
        self.assertTrue(events, "the tenant's own audit events")

    def test_the_client_has_a_method_for_each_tenant_operation_of_the_document(self) -> None:
        document = self.client().request("GET", "/openapi.json").body
        documented = {
            (method.upper(), path)
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if any("api_key" in scheme for scheme in operation.get("security", []))
        }
        left = {op for op in documented - set(OPERATIONS) if not op[1].startswith(NOT_COVERED_PREFIXES)}
        self.assertEqual(left, set(), "documented tenant operations without a client method")
        self.assertEqual(set(OPERATIONS) - documented, set(), "client methods the document lacks")
        for name in OPERATIONS.values():
            self.assertTrue(callable(getattr(Client, name, None)), name)

    def test_a_validation_failure_is_a_validation_error_with_its_fields(self) -> None:
        with self.assertRaises(ValidationError) as raised:
            self.client().create_recipient(
                {"type": "business", "name": "CV Sinar Abadi", "country": "XX",
                 "bank_account": {"iban": "not an iban"}}
            )
        error = raised.exception
        self.assertEqual(error.status, 422)
        self.assertEqual(error.type, "https://benteng.dev/problems/validation-failed")
        self.assertEqual(error.title, "Validation failed")
        fields = {e["field"] for e in error.errors}
        self.assertTrue({"country", "bank_account.iban"} <= fields, error.errors)

    def test_a_bad_key_is_an_authentication_error(self) -> None:
        wrong = "sk_live_" + "0" * 40
        with self.assertRaises(AuthenticationError) as raised:
            self.client(wrong).get_tenant()
        error = raised.exception
        self.assertEqual(error.status, 401)
        self.assertEqual(error.slug, "unauthenticated")
        self.assertNotIn(wrong, str(error) + repr(vars(error)))

    def test_an_unknown_transfer_is_not_found(self) -> None:
        with self.assertRaises(NotFoundError) as raised:
            self.client().get_transfer(str(uuid.uuid4()))
        self.assertEqual(raised.exception.status, 404)
        self.assertEqual(raised.exception.type, "https://benteng.dev/problems/not-found")

    def test_a_server_the_trust_roots_do_not_vouch_for_is_a_transport_error(self) -> None:
        # The system roots do not include the development CA.
        with self.assertRaises(TransportError) as raised:
            self.client(ca_file=None).get_tenant()
        self.assertIn("TLS", str(raised.exception))

    def test_mtls_is_refused_without_the_certificate_and_served_with_it(self) -> None:
        key = ENV["BENTENG_MTLS_API_KEY"]
        with self.assertRaises(ForbiddenError) as raised:
            self.client(key).get_tenant()
        self.assertEqual(raised.exception.slug, "client-certificate-refused")
        with_certificate = self.client(
            key, client_cert=ENV["BENTENG_CLIENT_CERT"], client_key=ENV["BENTENG_CLIENT_KEY"]
        )
        self.assertEqual(with_certificate.get_tenant()["id"], ENV["BENTENG_MTLS_TENANT_ID"])


if __name__ == "__main__":
    unittest.main()
