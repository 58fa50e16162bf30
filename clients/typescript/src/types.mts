/** The shapes of the tenant API's requests and answers, as its OpenAPI document gives them. */

/** An amount with its currency; the amount is a decimal string with the currency's decimals. */
export interface Money {
  value: string;
  currency: string;
}

export interface Tenant {
  id: string;
  name: string;
  /** `starter`, `growth` or `enterprise`. */
  tier: string;
  status: string;
  created_at: string;
}

export interface Balance {
  currency: string;
  /** Spendable now. */
  available: string;
  /** Held by transfers still in flight. */
  reserved: string;
}

export interface Balances {
  data: Balance[];
}

/** A page of a list; pass `next_cursor` as `cursor` for the next one (absent on the last). */
export interface Page<T> {
  data: T[];
  next_cursor?: string;
}

export interface Address {
  line1: string;
  line2?: string;
  city: string;
  postal_code?: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export interface NewRecipient {
  type: "business" | "individual";
  /** 1 to 140 characters. */
  name: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  address?: Address;
  /** An IBAN, or an Indonesian account number with its 3-digit bank code. */
  bank_account: { iban: string } | { account_number: string; bank_code: string };
  national_id?: string;
  /** ISO 9362. */
  bic?: string;
}

export interface Recipient {
  id: string;
  type: "business" | "individual";
  livemode: boolean;
  name: string;
  country: string;
  address: Address | null;
  bank_account: { scheme: "iban" | "idn"; last4: string };
  bic: string | null;
  has_national_id: boolean;
  created_at: string;
}

export interface QuoteRequest {
  source_currency: string;
  target_currency: string;
  /** Exactly one of `source_amount` and `target_amount`: a positive decimal string. */
  source_amount?: string;
  target_amount?: string;
}

export interface Quote {
  id: string;
  source: Money;
  target: Money;
  fee: Money;
  /** What the balance is charged: source plus fee. */
  total_debit: Money;
  /** Units of target currency per unit of source currency. */
  rate: string;
  /** The side the caller fixed; a transfer states that amount and currency. */
  fixed_side: "source" | "target";
  livemode: boolean;
  created_at: string;
  expires_at: string;
}

export interface TransferRequest {
  quote_id: string;
  recipient_id: string;
  /** The quote's fixed amount, a decimal string. */
  amount: string;
  /** The currency of the quote's fixed side. */
  currency: string;
  /** At most 140 printable ASCII characters. */
  reference?: string;
}

export type TransferStatus =
  | "INITIATED"
  | "SCREENING"
  | "APPROVED"
  | "PENDING_REVIEW"
  | "BLOCKED"
  | "SUBMITTED"
  | "COMPLETED"
  | "FAILED"
  | "RETURNED";

export interface TransferEvent {
  from?: TransferStatus;
  to: TransferStatus;
  cause: string;
  at: string;
}

export interface Transfer {
  id: string;
  status: TransferStatus;
  livemode: boolean;
  quote_id: string;
  recipient_id: string;
  batch_id?: string;
  source: Money;
  target: Money;
  fee: Money;
  reference: string;
  created_at: string;
  updated_at: string;
  /** On `getTransfer` only. */
  history?: TransferEvent[];
}

export interface BatchItem {
  index: number;
  status: "accepted" | "rejected";
  transfer_id?: string;
  /** Why a rejected item was refused (a problem document's members). */
  errors?: unknown;
}

export interface Batch {
  id: string;
  accepted: number;
  rejected: number;
  created_at: string;
  items: BatchItem[];
}

/** An audit event in the spec's shape (its fields depend on the event type). */
export type AuditEvent = Record<string, unknown>;

export interface KycItemStatus {
  item: string;
  status: "missing" | "submitted" | "verified" | "rejected";
  /** The level that first requires the item. */
  level: string;
}

export interface Kyc {
  level: "none" | "basic" | "standard" | "enhanced";
  /** The most the tenant may send in 30 days, in US cents; null: no ceiling. */
  ceiling_usd_cents: number | null;
  volume_30d_usd_cents: number;
  next_level: string | null;
  missing_for_next: string[];
  items: KycItemStatus[];
}

export interface Evidence {
  id: string;
  item: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  created_at: string;
}

export interface BeneficialOwner {
  name: string;
  /** `YYYY-MM-DD`. */
  date_of_birth: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export interface UpgradeRequest {
  id: string;
  level: string;
  status: "pending" | "approved" | "rejected";
  requested_at: string;
}
