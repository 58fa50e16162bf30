/**
 * The client against a running benteng: the README's payment, refusals as typed errors, and
 * mTLS. Run by the Rust suite (crates/benteng/tests/it/clients.rs), which starts the server,
 * makes the tenants and passes them here:
 *
 * - `BENTENG_URL`, `BENTENG_CA_FILE`: the server and the CA its certificate chains to;
 * - `BENTENG_API_KEY`: a live key of a funded tenant (IDR) at KYC level `standard`;
 * - `BENTENG_IBAN`: a recipient IBAN;
 * - `BENTENG_MTLS_API_KEY`, `BENTENG_MTLS_TENANT_ID`, `BENTENG_CLIENT_CERT`,
 *   `BENTENG_CLIENT_KEY`: a tenant that requires mTLS and its registered certificate.
 *
 * Without `BENTENG_URL` these tests are skipped (the suite checks none was).
 */

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { inspect } from "node:util";

import {
  AuthenticationError,
  BentengClient,
  type ClientOptions,
  ForbiddenError,
  NOT_COVERED_PREFIXES,
  NotFoundError,
  OPERATIONS,
  type Transfer,
  TransportError,
  ValidationError,
} from "../src/index.mjs";

const env = process.env;
const live = env.BENTENG_URL !== undefined;

const clients: BentengClient[] = [];
after(() => {
  for (const client of clients) client.close();
});

function need(name: string): string {
  const value = env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

function client(options: Partial<ClientOptions> = {}): BentengClient {
  const made = new BentengClient({
    baseUrl: need("BENTENG_URL"),
    apiKey: need("BENTENG_API_KEY"),
    caFile: need("BENTENG_CA_FILE"),
    ...options,
  });
  clients.push(made);
  return made;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail("the call succeeded"),
    (error: unknown) => error,
  );
}

describe("against a live benteng", { skip: live ? false : "BENTENG_URL is not set: no server to test against" }, () => {
  it("makes the walk-through's payment", async () => {
    const benteng = client();
    const tenant = await benteng.getTenant();
    assert.equal(tenant.status, "active");
    assert.equal((await benteng.getKyc()).level, "standard");

    const iban = need("BENTENG_IBAN");
    const recipient = await benteng.createRecipient({
      type: "business",
      name: "Müller Handels GmbH",
      country: "DE",
      bank_account: { iban },
    });
    assert.equal(recipient.bank_account.last4, iban.slice(-4));
    const quote = await benteng.createQuote({ source_currency: "IDR", target_currency: "EUR", source_amount: "500000.00" });
    assert.equal(quote.fixed_side, "source");

    const idempotencyKey = randomUUID();
    const order = { quote_id: quote.id, recipient_id: recipient.id, amount: "500000.00", currency: "IDR", reference: "INV-1" };
    const transfer = await benteng.createTransfer(order, { idempotencyKey });
    assert.ok(["APPROVED", "SUBMITTED", "COMPLETED"].includes(transfer.status), transfer.status);
    // A retry with the same key is the same transfer, replayed, not a second payment.
    const again = await benteng.request<Transfer>("POST", "/v1/transfers", { json: order, idempotencyKey });
    assert.equal(again.body.id, transfer.id);
    assert.equal(again.replayed, true);
    assert.equal((await benteng.createTransfer(order, { idempotencyKey })).id, transfer.id);

    const shown = await benteng.getTransfer(transfer.id);
    assert.equal(shown.reference, "INV-1");
    assert.equal(shown.history?.[0]?.to, "INITIATED");
    const listed = (await benteng.listTransfers({ limit: 10 })).data;
    assert.equal(listed.filter((t) => t.id === transfer.id).length, 1);

    const small = await benteng.createQuote({ source_currency: "IDR", target_currency: "EUR", source_amount: "100000.00" });
    const batch = await benteng.createBatch([
      { quote_id: small.id, recipient_id: recipient.id, amount: "100000.00", currency: "IDR" },
      // A number, not a decimal string: this item alone is rejected.
      { quote_id: small.id, recipient_id: recipient.id, amount: 100 as unknown as string, currency: "IDR" },
    ]);
    assert.deepEqual([batch.accepted, batch.rejected], [1, 1]);
    assert.deepEqual(batch.items.map((i) => i.status), ["accepted", "rejected"]);
    assert.equal((await benteng.getBatch(batch.id)).accepted, 1);

    const balances = (await benteng.getBalances()).data;
    assert.ok(balances.some((b) => b.currency === "IDR"));
    const events = (await benteng.listAuditEvents({ limit: 500 })).data;
    assert.ok(events.length > 0, "the tenant's own audit events");
  });

  it("has a method for each tenant operation of the document", async () => {
    type Document = { paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>> };
    const document = (await client().request<Document>("GET", "/openapi.json")).body;
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if ((operation.security ?? []).some((scheme) => "api_key" in scheme)) documented.add(`${method.toUpperCase()} ${path}`);
      }
    }
    const covered = new Set(Object.keys(OPERATIONS));
    const left = [...documented].filter((op) => !covered.has(op) && !NOT_COVERED_PREFIXES.some((p) => op.split(" ")[1]!.startsWith(p)));
    assert.deepEqual(left, [], "documented tenant operations without a client method");
    assert.deepEqual([...covered].filter((op) => !documented.has(op)), [], "client methods the document lacks");
    for (const name of Object.values(OPERATIONS)) assert.equal(typeof BentengClient.prototype[name], "function", name);
  });

  it("makes a validation failure a ValidationError with its fields", async () => {
    const error = await rejection(
      client().createRecipient({ type: "business", name: "CV Sinar Abadi", country: "XX", bank_account: { iban: "not an iban" } }),
    );
    assert.ok(error instanceof ValidationError, inspect(error));
    assert.equal(error.status, 422);
    assert.equal(error.type, "https://benteng.dev/problems/validation-failed");
    assert.equal(error.title, "Validation failed");
    const fields = new Set(error.errors.map((e) => e.field));
    assert.ok(fields.has("country") && fields.has("bank_account.iban"), inspect(error.errors));
  });

  it("makes a bad key an AuthenticationError", async () => {
    const wrong = `sk_live_${"0".repeat(40)}`;
    const error = await rejection(client({ apiKey: wrong }).getTenant());
    assert.ok(error instanceof AuthenticationError, inspect(error));
    assert.equal(error.status, 401);
    assert.equal(error.slug, "unauthenticated");
    assert.ok(!inspect(error, { showHidden: true, depth: 5 }).includes(wrong));
  });

  it("makes an unknown transfer a NotFoundError", async () => {
    const error = await rejection(client().getTransfer(randomUUID()));
    assert.ok(error instanceof NotFoundError, inspect(error));
    assert.equal(error.status, 404);
    assert.equal(error.type, "https://benteng.dev/problems/not-found");
  });

  it("makes a server the trust roots do not vouch for a TransportError", async () => {
    // Node's built-in roots do not include the development CA.
    const error = await rejection(client({ caFile: undefined }).getTenant());
    assert.ok(error instanceof TransportError, inspect(error));
    assert.match(error.message, /TLS/);
  });

  it("is refused without the client certificate where mTLS is required, and served with it", async () => {
    const apiKey = need("BENTENG_MTLS_API_KEY");
    const error = await rejection(client({ apiKey }).getTenant());
    assert.ok(error instanceof ForbiddenError, inspect(error));
    assert.equal(error.slug, "client-certificate-refused");
    const withCertificate = client({ apiKey, clientCertFile: need("BENTENG_CLIENT_CERT"), clientKeyFile: need("BENTENG_CLIENT_KEY") });
    assert.equal((await withCertificate.getTenant()).id, need("BENTENG_MTLS_TENANT_ID"));
  });
});
