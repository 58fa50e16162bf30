/**
 * HTTPS with kept-alive connections, retries and problem documents: what every call shares.
 *
 * Built on `node:https` rather than the global `fetch`: Node 20's `fetch` cannot be given a
 * CA or a client certificate without the `undici` package, and the tenant API needs both (a
 * private CA in development, mTLS for tenants that require it).
 */

import * as http from "node:http";
import * as https from "node:https";
import { errorFrom, HttpError, ProblemError, TransportError } from "./errors.mjs";

export const USER_AGENT = "benteng-client-typescript/0.1";

/**
 * Problem type of a 409 that means "the first request with this key is still running": the
 * one conflict worth retrying (a used quote or an existing recipient stays a conflict).
 */
export const IDEMPOTENCY_IN_FLIGHT = "https://benteng.dev/problems/idempotency-key-in-use";

/**
 * How refused-for-now requests are retried. 429 is retried for every request (a rate limit
 * refuses before anything runs); 503 only for requests safe to repeat (GET, or a POST
 * carrying an idempotency key); 409 only when it says the same idempotency key is still in
 * flight. The wait is the server's `Retry-After` (seconds) when given, else
 * `baseDelayMs * 2^(attempt-1)` capped at `maxDelayMs`, with jitter either way. A
 * `Retry-After` longer than `maxDelayMs` is not waited for: the error is thrown at once.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/** Milliseconds to wait before attempt `attempt + 1`; `undefined`: do not retry. */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (retryAfterSeconds !== undefined) {
    const asked = retryAfterSeconds * 1000;
    if (asked > policy.maxDelayMs) return undefined;
    // Never earlier than asked; the jitter spreads clients told the same second.
    return asked + random() * policy.baseDelayMs;
  }
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return backoff / 2 + (random() * backoff) / 2;
}

/** A successful answer: status, headers (lower-case names) and the decoded JSON body. */
export class ApiResponse<T = unknown> {
  constructor(
    readonly status: number,
    readonly headers: Readonly<Record<string, string>>,
    readonly body: T,
  ) {}

  /** True when the server replayed the stored answer of an earlier request with the same
   * idempotency key (`Idempotent-Replayed: true`). */
  get replayed(): boolean {
    return (this.headers["idempotent-replayed"] ?? "").toLowerCase() === "true";
  }

  get requestId(): string | undefined {
    return this.headers["x-request-id"];
  }
}

export interface TlsOptions {
  /** PEM of the CA(s) to trust instead of Node's built-in roots. */
  ca?: string | Buffer;
  /** PEM client certificate and key, for a tenant that requires mTLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface Call {
  method: "GET" | "POST";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: Buffer;
  contentType?: string;
  idempotencyKey?: string;
}

interface Exchanged {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The base URL, checked: HTTPS, or plain HTTP to this machine only (a local stub). */
export function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError("baseUrl must be an https:// URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError("baseUrl must be an https:// URL");
  }
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new TypeError("baseUrl must be https:// (plain http is allowed to localhost only)");
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new TypeError("baseUrl takes no query, fragment or credentials");
  }
  return url;
}

/** Errors of a connection the server closed while it sat idle in the pool. */
const STALE_CONNECTION = new Set(["ECONNRESET", "EPIPE"]);

export class Transport {
  readonly #base: URL;
  readonly #prefix: string;
  readonly #authorization: () => string;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: {
    baseUrl: string;
    authorization: () => string;
    tls: TlsOptions;
    timeoutMs: number;
    retry: RetryPolicy;
    sleep: (ms: number) => Promise<void>;
  }) {
    if (options.retry.maxAttempts < 1) throw new RangeError("maxAttempts must be at least 1");
    if (options.tls.key !== undefined && options.tls.cert === undefined) {
      throw new TypeError("a client key needs its certificate");
    }
    this.#base = parseBaseUrl(options.baseUrl);
    this.#prefix = this.#base.pathname.replace(/\/+$/, "");
    this.#authorization = options.authorization;
    this.#timeoutMs = options.timeoutMs;
    this.#retry = options.retry;
    this.#sleep = options.sleep;
    this.#agent =
      this.#base.protocol === "https:"
        ? new https.Agent({ keepAlive: true, minVersion: "TLSv1.2", ...options.tls })
        : new http.Agent({ keepAlive: true });
  }

  /** Ends the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  async request<T>(call: Call): Promise<ApiResponse<T>> {
    let target = this.#prefix + call.path;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) params.append(name, String(value));
    }
    if ([...params].length > 0) target += `?${params}`;
    const headers: Record<string, string> = {
      authorization: this.#authorization(),
      accept: "application/json, application/problem+json",
      "user-agent": USER_AGENT,
      "content-length": String(call.body?.length ?? 0),
    };
    if (call.contentType !== undefined) headers["content-type"] = call.contentType;
    if (call.idempotencyKey !== undefined) headers["x-idempotency-key"] = call.idempotencyKey;
    const repeatable = call.method === "GET" || call.idempotencyKey !== undefined;
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#exchange(call.method, target, headers, call.body, repeatable);
      if (answer.status >= 200 && answer.status < 300) {
        return new ApiResponse<T>(answer.status, answer.headers, parseJson(answer) as T);
      }
      const error = errorFrom(answer.status, answer.headers, answer.body);
      let wait: number | undefined;
      if (attempt < this.#retry.maxAttempts && retryable(error, repeatable)) {
        wait = retryDelay(this.#retry, attempt, retryAfter(answer.headers));
      }
      if (wait === undefined) throw error;
      await this.#sleep(wait);
    }
  }

  /**
   * One request through the pool. A kept-alive connection the server closed meanwhile (its
   * idle timeout) is normally dropped from the pool when the close arrives; if a request
   * still meets one, a request safe to repeat is sent once more on a new connection.
   */
  async #exchange(
    method: string,
    target: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    repeatable: boolean,
  ): Promise<Exchanged> {
    try {
      return await this.#send(method, target, headers, body);
    } catch (error) {
      const stale = error instanceof StaleConnection;
      if (!(stale && repeatable)) throw stale ? error.transportError : error;
    }
    try {
      return await this.#send(method, target, headers, body);
    } catch (error) {
      throw error instanceof StaleConnection ? error.transportError : error;
    }
  }

  #send(
    method: string,
    target: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
  ): Promise<Exchanged> {
    const isHttps = this.#base.protocol === "https:";
    const request = (isHttps ? https.request : http.request)({
      protocol: this.#base.protocol,
      hostname: this.#base.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: this.#base.port || (isHttps ? 443 : 80),
      path: target,
      method,
      headers,
      agent: this.#agent,
    });
    return new Promise<Exchanged>((resolve, reject) => {
      let answered = false;
      request.setTimeout(this.#timeoutMs, () => {
        request.destroy(Object.assign(new Error("the request timed out"), { code: "ETIMEDOUT" }));
      });
      request.on("error", (error: NodeJS.ErrnoException) => {
        const transportError = toTransportError(error);
        if (!answered && request.reusedSocket && STALE_CONNECTION.has(error.code ?? "")) {
          reject(new StaleConnection(transportError));
        } else {
          reject(transportError);
        }
      });
      request.on("response", (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", (error) => reject(toTransportError(error)));
        response.on("end", () => {
          resolve({
            status: response.statusCode ?? 0,
            headers: flatHeaders(response.headers),
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
      });
      request.end(body);
    });
  }
}

class StaleConnection extends Error {
  constructor(readonly transportError: TransportError) {
    super(transportError.message);
  }
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_|ERR_OSSL_|EPROTO$)/;

function toTransportError(error: NodeJS.ErrnoException): TransportError {
  const code = error.code ?? "";
  if (TLS_CODES.test(code) || /SSL|TLS|certificate/i.test(error.message)) {
    return new TransportError(`TLS failed: ${error.message}`, error);
  }
  if (code === "ETIMEDOUT") return new TransportError("the request timed out", error);
  return new TransportError(`request failed: ${error.message}`, error);
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

function retryable(error: HttpError, repeatable: boolean): boolean {
  switch (error.status) {
    case 429:
      return true;
    case 503:
      return repeatable;
    case 409:
      return error instanceof ProblemError && error.type === IDEMPOTENCY_IN_FLIGHT;
    default:
      return false;
  }
}

/** `Retry-After` in seconds; the HTTP-date form (which benteng never sends) counts as
 * absent, so the backoff applies. */
function retryAfter(headers: Record<string, string>): number | undefined {
  const value = (headers["retry-after"] ?? "").trim();
  return /^[0-9]+$/.test(value) ? Number(value) : undefined;
}

function parseJson(answer: Exchanged): unknown {
  if (answer.body === "") return undefined;
  try {
    return JSON.parse(answer.body);
  } catch {
    throw new HttpError(answer.status, answer.headers, answer.body, `HTTP ${answer.status}: the answer is not JSON`);
  }
}
