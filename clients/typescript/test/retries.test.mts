/** Retries, idempotency keys and error mapping against a scripted local stub (no benteng
 * needed). The client's waits go to a recorder instead of sleeping, so nothing here is
 * timed. */

import assert from "node:assert/strict";
import * as net from "node:net";
import { after, describe, it } from "node:test";
import { inspect } from "node:util";

import {
  BentengClient,
  type ClientOptions,
  ConflictError,
  HttpError,
  ProblemError,
  RateLimitError,
  type RetryPolicy,
  TransportError,
  UnavailableError,
} from "../src/index.mjs";
import { problem, type Scripted, Stub } from "./stub.mjs";

const KEY = "sk_live_stubkey_0123456789abcdef";
const POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 10_000 };
const TRANSFER = { quote_id: "q", recipient_id: "r", amount: "1.00", currency: "IDR" };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const clients: BentengClient[] = [];
const stubs: Stub[] = [];
after(async () => {
  for (const client of clients) client.close();
  for (const stub of stubs) await stub.stop();
});

async function stub(script: Scripted[]): Promise<Stub> {
  const started = await new Stub(script).start();
  stubs.push(started);
  return started;
}

function make(options: Partial<ClientOptions> & { baseUrl: string }): BentengClient {
  const client = new BentengClient({ apiKey: KEY, ...options });
  clients.push(client);
  return client;
}

/** A client whose waits are recorded instead of slept. */
function recording(server: Stub): { client: BentengClient; waits: number[] } {
  const waits: number[] = [];
  const client = make({ baseUrl: server.url, retry: POLICY, sleep: async (ms) => void waits.push(ms) });
  return { client, waits };
}

function unavailable(retryAfter?: string): Scripted {
  const answer = problem(503, "unavailable", "Service unavailable");
  if (retryAfter !== undefined) answer.headers = { "retry-after": retryAfter };
  return answer;
}

describe("retries", () => {
  it("retries a 503 after its Retry-After seconds", async () => {
    const server = await stub([unavailable("2"), { status: 200, body: { id: "t-1" } }]);
    const { client, waits } = recording(server);
    assert.deepEqual(await client.getTenant(), { id: "t-1" });
    assert.equal(server.requests.length, 2);
    assert.equal(waits.length, 1);
    // Never earlier than the server asked; jitter of at most one base delay on top.
    assert.ok(waits[0]! >= 2000 && waits[0]! <= 2000 + POLICY.baseDelayMs, `${waits}`);
  });

  it("backs off exponentially on a 429 without Retry-After, and gives up", async () => {
    const limited = problem(429, "rate-limited", "Too many requests");
    const server = await stub([limited, limited, limited, limited]);
    const { client, waits } = recording(server);
    await assert.rejects(client.getBalances(), (error) => error instanceof RateLimitError && error.status === 429);
    assert.equal(server.requests.length, POLICY.maxAttempts);
    assert.equal(waits.length, POLICY.maxAttempts - 1);
    waits.forEach((wait, index) => {
      const backoff = POLICY.baseDelayMs * 2 ** index;
      assert.ok(wait >= backoff / 2 && wait <= backoff, `${waits}`);
    });
  });

  it("does not wait for a Retry-After beyond the policy", async () => {
    const server = await stub([unavailable("3600"), { status: 200, body: {} }]);
    const { client, waits } = recording(server);
    await assert.rejects(client.getTenant(), UnavailableError);
    assert.deepEqual([server.requests.length, waits], [1, []]);
  });

  it("does not retry a 400", async () => {
    const malformed = problem(400, "malformed-request", "Malformed request", { detail: "bad" });
    const server = await stub([malformed, { status: 200, body: {} }]);
    const { client, waits } = recording(server);
    await assert.rejects(client.getTenant(), (error) => error instanceof ProblemError && error.status === 400 && error.detail === "bad");
    assert.deepEqual([server.requests.length, waits], [1, []]);
  });

  it("reuses a money-moving call's generated idempotency key on its retry", async () => {
    const server = await stub([unavailable("1"), { status: 201, body: { id: "tr-1" } }]);
    const { client } = recording(server);
    assert.deepEqual(await client.createTransfer(TRANSFER), { id: "tr-1" });
    const keys = server.requests.map((r) => r.headers["x-idempotency-key"]);
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1]);
    assert.match(String(keys[0]), UUID);
  });

  it("gives each call its own key, and a given key wins", async () => {
    const given = "5f1d7a52-3c8e-4b1a-9f0e-2d6c8b4a7e13";
    const server = await stub([{ status: 201, body: {} }, { status: 201, body: {} }, { status: 201, body: {} }]);
    const { client } = recording(server);
    await client.createTransfer(TRANSFER);
    await client.createBatch([TRANSFER]);
    await client.createTransfer(TRANSFER, { idempotencyKey: given });
    assert.deepEqual(server.requests.map((r) => r.path), ["/v1/transfers", "/v1/batches", "/v1/transfers"]);
    const keys = server.requests.map((r) => r.headers["x-idempotency-key"]);
    assert.notEqual(keys[0], keys[1]);
    assert.equal(keys[2], given);
  });

  it("retries only the in-flight conflict", async () => {
    const inFlight = problem(409, "idempotency-key-in-use", "Request with this idempotency key in progress");
    inFlight.headers = { "retry-after": "1" };
    const used = problem(409, "quote-used", "Quote already used");
    const server = await stub([inFlight, { status: 201, body: { id: "tr-2" } }, used]);
    const { client, waits } = recording(server);
    assert.deepEqual(await client.createTransfer(TRANSFER), { id: "tr-2" });
    await assert.rejects(client.createTransfer(TRANSFER), (error) => error instanceof ConflictError && error.slug === "quote-used");
    assert.equal(server.requests.length, 3);
    assert.equal(waits.length, 1);
  });

  it("does not repeat a POST without idempotency key on a 503", async () => {
    const server = await stub([unavailable("1"), { status: 201, body: {} }]);
    const { client, waits } = recording(server);
    await assert.rejects(client.createRecipient({} as never), UnavailableError);
    assert.deepEqual([server.requests.length, waits], [1, []]);
  });
});

describe("errors", () => {
  it("carries a problem document's members and extensions", async () => {
    const document = problem(422, "validation-failed", "Validation failed", {
      detail: "see errors",
      errors: [{ field: "country", code: "invalid_format", message: "must be ISO" }],
      trace: "abc",
    });
    document.headers = { "x-request-id": "req_1" };
    const server = await stub([document]);
    const client = make({ baseUrl: server.url });
    const error = await client.createRecipient({} as never).then(
      () => assert.fail("no error"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof ProblemError);
    assert.equal(error.status, 422);
    assert.equal(error.type, "https://benteng.dev/problems/validation-failed");
    assert.equal(error.title, "Validation failed");
    assert.equal(error.detail, "see errors");
    assert.equal(error.errors[0]?.field, "country");
    assert.equal(error.extensions.trace, "abc");
    assert.equal(error.requestId, "req_1");
    assert.match(error.message, /country must be ISO/);
  });

  it("makes an error without a problem document an HttpError", async () => {
    const server = await stub([{ status: 502, body: "<html>bad gateway</html>", contentType: "text/html" }]);
    const client = make({ baseUrl: server.url });
    await assert.rejects(
      client.getTenant(),
      (error) => error instanceof HttpError && !(error instanceof ProblemError) && error.status === 502 && error.body === "<html>bad gateway</html>",
    );
  });

  it("makes no answer a TransportError", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const client = make({ baseUrl: `http://127.0.0.1:${port}`, retry: POLICY });
    await assert.rejects(client.getTenant(), (error) => error instanceof TransportError && error.code === "ECONNREFUSED");
  });

  it("makes TLS to a plain server a TransportError", async () => {
    const server = await stub([{ status: 200, body: {} }]);
    const client = make({ baseUrl: server.url.replace("http://", "https://") });
    await assert.rejects(client.getTenant(), (error) => error instanceof TransportError && /TLS/.test(error.message));
  });
});

describe("connections", () => {
  it("keeps one connection alive", async () => {
    const server = await stub([{ status: 200, body: {} }, { status: 200, body: {} }, { status: 200, body: {} }]);
    const client = make({ baseUrl: server.url });
    for (let i = 0; i < 3; i++) await client.getTenant();
    assert.deepEqual(server.requests.map((r) => r.connection), [1, 1, 1]);
  });

  it("replaces a connection the server closed", async () => {
    const server = await stub([{ status: 200, body: {}, dropConnection: true }, { status: 200, body: { id: "t" } }]);
    const client = make({ baseUrl: server.url });
    await client.getTenant();
    await server.dropped;
    // The stub shares this process's event loop, so the client has not yet read the close
    // and sends on the dead connection: a request safe to repeat goes again on a new one.
    assert.deepEqual(await client.getTenant(), { id: "t" });
    assert.deepEqual(server.requests.map((r) => r.connection), [1, 2]);
  });
});

describe("secrets", () => {
  it("never shows the key", () => {
    const client = make({ baseUrl: "https://localhost:8443" });
    for (const text of [String(client), JSON.stringify(client), inspect(client), inspect(client, { showHidden: true, depth: 5 })]) {
      assert.ok(!text.includes("stubkey"), text);
    }
  });

  it("never puts the key in an error", async () => {
    const server = await stub([problem(401, "unauthenticated", "Authentication required")]);
    const client = make({ baseUrl: server.url });
    const error = await client.getTenant().then(
      () => assert.fail("no error"),
      (error: unknown) => error,
    );
    assert.ok(!inspect(error, { showHidden: true, depth: 5 }).includes("stubkey"));
    assert.equal(server.requests[0]?.headers.authorization, `Bearer ${KEY}`);
  });

  it("refuses a key that could split a header", () => {
    assert.throws(() => new BentengClient({ baseUrl: "https://localhost:8443", apiKey: "sk_live_x\r\nX-Evil: 1" }), TypeError);
  });

  it("allows plain http to this machine only", () => {
    assert.throws(() => new BentengClient({ baseUrl: "http://example.com", apiKey: KEY }), TypeError);
  });
});
