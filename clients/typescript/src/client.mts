/** The tenant API of benteng (`/v1`), one method per operation of its OpenAPI document. */

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";

import { type Call, DEFAULT_RETRY, type ApiResponse, type RetryPolicy, Transport } from "./transport.mjs";
import type {
  AuditEvent,
  Balances,
  Batch,
  BeneficialOwner,
  Evidence,
  Kyc,
  NewRecipient,
  Page,
  Quote,
  QuoteRequest,
  Recipient,
  Tenant,
  Transfer,
  TransferRequest,
  TransferStatus,
  UpgradeRequest,
} from "./types.mjs";

export interface ClientOptions {
  /** E.g. `https://localhost:8443`. */
  baseUrl: string;
  /** The tenant's API key; never shown by `toString`, `JSON.stringify` or `console.log`. */
  apiKey: string;
  /** PEM file of the CA to trust instead of Node's built-in roots (e.g. `data/tls/dev-ca.pem`). */
  caFile?: string;
  /** PEM files of the client certificate and key, for a tenant that requires mTLS. */
  clientCertFile?: string;
  clientKeyFile?: string;
  /** Per request (each attempt); 30 s by default. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** How retries wait (tests record instead of waiting). */
  sleep?: (ms: number) => Promise<void>;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** Sent as JSON. */
  json?: unknown;
  idempotencyKey?: string;
}

/** The routes that move money (the server's protection policy): each POST needs an
 * idempotency key, and gets one here when the caller gives none. */
const MONEY_MOVING = new Set(["POST /v1/transfers", "POST /v1/batches"]);

/** Each operation of the OpenAPI document this client has a method for (the live tests check
 * the table against the server's `/openapi.json` both ways). */
export const OPERATIONS: Readonly<Record<string, Extract<keyof BentengClient, string>>> = {
  "GET /v1/tenant": "getTenant",
  "GET /v1/balances": "getBalances",
  "GET /v1/audit-events": "listAuditEvents",
  "POST /v1/recipients": "createRecipient",
  "GET /v1/recipients": "listRecipients",
  "GET /v1/recipients/{id}": "getRecipient",
  "GET /v1/quotes": "createQuote",
  "POST /v1/transfers": "createTransfer",
  "GET /v1/transfers": "listTransfers",
  "GET /v1/transfers/{id}": "getTransfer",
  "POST /v1/batches": "createBatch",
  "GET /v1/batches/{id}": "getBatch",
  "GET /v1/kyc": "getKyc",
  "POST /v1/kyc/evidence/{item}": "uploadKycEvidence",
  "POST /v1/kyc/beneficial-owners": "submitBeneficialOwners",
  "POST /v1/kyc/upgrade-requests": "requestKycUpgrade",
};

/** Tenant operations left to `request`: managing webhook endpoints and reading the notices
 * about them. */
export const NOT_COVERED_PREFIXES: readonly string[] = ["/v1/webhook-endpoints", "/v1/notices"];

const PRINTABLE_TOKEN = /^[\x21-\x7e]+$/;

/**
 * A client of benteng's tenant API. Money-moving POSTs carry an idempotency key: the one
 * given, else a new UUID per call, reused by that call's retries. Refusals reject with
 * `ProblemError` subclasses, a lost connection or failed TLS with `TransportError`.
 * Connections are kept alive; `close()` ends them.
 */
export class BentengClient {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #transport: Transport;

  constructor(options: ClientOptions) {
    if (!PRINTABLE_TOKEN.test(options.apiKey)) {
      throw new TypeError("apiKey must be a non-empty printable ASCII token");
    }
    this.baseUrl = options.baseUrl;
    this.#apiKey = options.apiKey;
    this.#transport = new Transport({
      baseUrl: options.baseUrl,
      authorization: () => `Bearer ${this.#apiKey}`,
      tls: {
        ca: options.caFile === undefined ? undefined : readFileSync(options.caFile),
        cert: options.clientCertFile === undefined ? undefined : readFileSync(options.clientCertFile),
        key: options.clientKeyFile === undefined ? undefined : readFileSync(options.clientKeyFile),
      },
      timeoutMs: options.timeoutMs ?? 30_000,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    });
  }

  toString(): string {
    return `BentengClient(${this.baseUrl}, apiKey=<redacted>)`;
  }

  toJSON(): Record<string, string> {
    return { baseUrl: this.baseUrl, apiKey: "<redacted>" };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** Ends the kept-alive connections. */
  close(): void {
    this.#transport.close();
  }

  // ----- the low level: any route, any body -----

  /** One call with retries; `path` starts with `/v1/`. The answer with its headers
   * (`replayed` tells a replayed idempotent answer). */
  request<T = unknown>(method: "GET" | "POST", path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    let idempotencyKey = options.idempotencyKey;
    if (idempotencyKey === undefined && MONEY_MOVING.has(`${method} ${path}`)) {
      // One key per call, so this call's retries are replays, never second payments.
      idempotencyKey = randomUUID();
    }
    const call: Call = { method, path, query: options.query, idempotencyKey };
    if (options.json !== undefined) {
      call.body = Buffer.from(JSON.stringify(options.json));
      call.contentType = "application/json";
    }
    return this.#transport.request<T>(call);
  }

  async #get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
    return (await this.request<T>("GET", path, { query })).body;
  }

  async #post<T>(path: string, json?: unknown, idempotencyKey?: string): Promise<T> {
    return (await this.request<T>("POST", path, { json, idempotencyKey })).body;
  }

  // ----- tenant -----

  /** The tenant the key acts for. */
  getTenant(): Promise<Tenant> {
    return this.#get("/v1/tenant");
  }

  getBalances(): Promise<Balances> {
    return this.#get("/v1/balances");
  }

  /** The tenant's own audit events, oldest first; `since`/`until` are RFC 3339 times. */
  listAuditEvents(query: { since?: string; until?: string; limit?: number; cursor?: string } = {}): Promise<Page<AuditEvent>> {
    return this.#get("/v1/audit-events", query);
  }

  // ----- recipients -----

  createRecipient(recipient: NewRecipient): Promise<Recipient> {
    return this.#post("/v1/recipients", recipient);
  }

  getRecipient(id: string): Promise<Recipient> {
    return this.#get(`/v1/recipients/${segment(id)}`);
  }

  listRecipients(query: { limit?: number; cursor?: string } = {}): Promise<Page<Recipient>> {
    return this.#get("/v1/recipients", query);
  }

  // ----- quotes and transfers -----

  /** A priced quote; give exactly one of `source_amount` and `target_amount`. */
  createQuote(request: QuoteRequest): Promise<Quote> {
    return this.#get("/v1/quotes", { ...request });
  }

  /** Pays a recipient at a quote. Send the same `idempotencyKey` (a UUID) to retry a call
   * whose outcome you did not see: the server replays the first answer instead of paying
   * twice. */
  createTransfer(transfer: TransferRequest, options: { idempotencyKey?: string } = {}): Promise<Transfer> {
    return this.#post("/v1/transfers", transfer, options.idempotencyKey);
  }

  /** A transfer with its status `history`. */
  getTransfer(id: string): Promise<Transfer> {
    return this.#get(`/v1/transfers/${segment(id)}`);
  }

  /** Newest first. */
  listTransfers(query: { status?: TransferStatus; limit?: number; cursor?: string } = {}): Promise<Page<Transfer>> {
    return this.#get("/v1/transfers", query);
  }

  /** Up to 1,000 transfers; every item is accepted or rejected on its own. */
  createBatch(transfers: TransferRequest[], options: { idempotencyKey?: string } = {}): Promise<Batch> {
    return this.#post("/v1/batches", { transfers }, options.idempotencyKey);
  }

  getBatch(id: string): Promise<Batch> {
    return this.#get(`/v1/batches/${segment(id)}`);
  }

  // ----- KYC -----

  /** The tenant's KYC level, its 30-day ceiling and volume, and each evidence item. */
  getKyc(): Promise<Kyc> {
    return this.#get("/v1/kyc");
  }

  /** A document for `item` (e.g. `business_registration`): `application/pdf`, `image/png`
   * or `image/jpeg`. */
  async uploadKycEvidence(item: string, content: Uint8Array, contentType: string): Promise<Evidence> {
    const answer = await this.#transport.request<Evidence>({
      method: "POST",
      path: `/v1/kyc/evidence/${segment(item)}`,
      body: Buffer.from(content),
      contentType,
    });
    return answer.body;
  }

  submitBeneficialOwners(owners: BeneficialOwner[]): Promise<Evidence> {
    return this.#post("/v1/kyc/beneficial-owners", { owners });
  }

  /** Asks for the next KYC level (two compliance officers decide). */
  requestKycUpgrade(): Promise<UpgradeRequest> {
    return this.#post("/v1/kyc/upgrade-requests");
  }
}

/** An id as one path segment: nothing in it can reach another route. */
function segment(value: string): string {
  return encodeURIComponent(value);
}
