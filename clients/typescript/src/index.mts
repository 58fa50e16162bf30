/**
 * A client of benteng's tenant API (Node.js built-ins only).
 *
 *     import { BentengClient } from "benteng-client";
 *     const client = new BentengClient({ baseUrl: "https://localhost:8443", apiKey, caFile: "data/tls/dev-ca.pem" });
 *     await client.getTenant();
 */

export { BentengClient, type ClientOptions, NOT_COVERED_PREFIXES, OPERATIONS, type RequestOptions } from "./client.mjs";
export {
  AuthenticationError,
  BentengError,
  ConflictError,
  type FieldProblem,
  ForbiddenError,
  HttpError,
  NotFoundError,
  ProblemError,
  RateLimitError,
  TransportError,
  UnavailableError,
  ValidationError,
} from "./errors.mjs";
export { ApiResponse, DEFAULT_RETRY, IDEMPOTENCY_IN_FLIGHT, type RetryPolicy } from "./transport.mjs";
export type * from "./types.mjs";
