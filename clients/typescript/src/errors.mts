/**
 * The errors a call can reject with. `BentengError` is the base of all of them:
 *
 * - `ProblemError`: the server refused the request with an RFC 9457 problem document
 *   (`application/problem+json`); one subclass per common status, so callers can test for,
 *   say, `NotFoundError` alone.
 * - `HttpError`: an error status without a problem document (a proxy's 502 page, say).
 * - `TransportError`: no HTTP answer at all (DNS, refused connection, TLS, timeout, reset).
 */

export class BentengError extends Error {
  override name = "BentengError";
}

/** The request got no HTTP answer: name resolution, connection, TLS or a timeout. */
export class TransportError extends BentengError {
  override name = "TransportError";
  /** The Node.js error code when there is one, e.g. `ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`. */
  readonly code: string | undefined;

  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    const code = (cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === "string" ? code : undefined;
  }
}

/** An HTTP error status whose body is not a problem document. */
export class HttpError extends BentengError {
  override name = "HttpError";
  readonly status: number;
  /** Response headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly requestId: string | undefined;

  constructor(status: number, headers: Record<string, string>, body: string, message?: string) {
    super(message ?? `HTTP ${status}`);
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.requestId = headers["x-request-id"];
  }
}

/** One invalid field of a 422 (`errors` of the problem document). */
export interface FieldProblem {
  field: string;
  code: string;
  message: string;
}

const STANDARD_MEMBERS = new Set(["type", "title", "status", "detail", "instance"]);

/**
 * The server's problem document as an error: `type`, `title`, `detail` and `instance` are
 * its members, `extensions` every other one (e.g. `errors`, the invalid fields of a 422, also
 * available as `errors`).
 */
export class ProblemError extends HttpError {
  override name = "ProblemError";
  readonly type: string;
  readonly title: string | undefined;
  readonly detail: string | undefined;
  readonly instance: string | undefined;
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    headers: Record<string, string>,
    body: string,
    document: Record<string, unknown>,
  ) {
    const text = (value: unknown) => (typeof value === "string" ? value : undefined);
    const type = text(document.type) ?? "about:blank";
    const title = text(document.title);
    const detail = text(document.detail);
    const extensions: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(document)) {
      if (!STANDARD_MEMBERS.has(name)) extensions[name] = value;
    }
    let summary = `${status} ${title ?? type}`;
    if (detail) summary += `: ${detail}`;
    const errors = Array.isArray(extensions.errors) ? (extensions.errors as FieldProblem[]) : [];
    for (const error of errors) summary += `; ${error?.field} ${error?.message}`;
    super(status, headers, body, summary);
    this.type = type;
    this.title = title;
    this.detail = detail;
    this.instance = text(document.instance);
    this.extensions = extensions;
  }

  /** The invalid fields of a validation failure (empty otherwise). */
  get errors(): FieldProblem[] {
    const errors = this.extensions.errors;
    return Array.isArray(errors) ? (errors as FieldProblem[]) : [];
  }

  /** The last segment of `type`: `validation-failed`, `not-found`, … */
  get slug(): string {
    return this.type.replace(/\/+$/, "").split("/").pop() ?? this.type;
  }
}

/** 401: no credentials, or credentials the server does not accept. */
export class AuthenticationError extends ProblemError {
  override name = "AuthenticationError";
}
/** 403: authenticated, but not allowed (scope, network, client certificate, …). */
export class ForbiddenError extends ProblemError {
  override name = "ForbiddenError";
}
/** 404. */
export class NotFoundError extends ProblemError {
  override name = "NotFoundError";
}
/** 409: e.g. a quote already used, or the same idempotency key still in flight. */
export class ConflictError extends ProblemError {
  override name = "ConflictError";
}
/** 422: understood but refused; see `errors`. */
export class ValidationError extends ProblemError {
  override name = "ValidationError";
}
/** 429. */
export class RateLimitError extends ProblemError {
  override name = "RateLimitError";
}
/** 503. */
export class UnavailableError extends ProblemError {
  override name = "UnavailableError";
}

const BY_STATUS: Record<number, typeof ProblemError> = {
  401: AuthenticationError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  422: ValidationError,
  429: RateLimitError,
  503: UnavailableError,
};

/** A problem document becomes its `ProblemError` subclass; anything else an `HttpError`. */
export function errorFrom(status: number, headers: Record<string, string>, body: string): HttpError {
  const mediaType = (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType === "application/problem+json") {
    let document: unknown;
    try {
      document = JSON.parse(body);
    } catch {
      document = undefined;
    }
    if (document !== null && typeof document === "object" && !Array.isArray(document)) {
      const Class = BY_STATUS[status] ?? ProblemError;
      return new Class(status, headers, body, document as Record<string, unknown>);
    }
  }
  return new HttpError(status, headers, body);
}
