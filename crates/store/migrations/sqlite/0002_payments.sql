-- The payment flow: ledger, quotes, recipients, transfers and their history, batches.
-- Money columns are integer minor units of the row's currency.

-- One row per account. Only accounts that must not go negative (tenants) keep running balances,
-- updated in the transaction that moves money; platform accounts are derived from the postings
-- (no hot rows shared by every transfer). The CHECK is the last line of defence behind the
-- conditional updates.
CREATE TABLE ledger_accounts (
    code             TEXT PRIMARY KEY,
    tenant_id        TEXT REFERENCES tenants (id),
    currency         TEXT NOT NULL CHECK (length(currency) = 3),
    no_overdraft     INTEGER NOT NULL CHECK (no_overdraft IN (0, 1)),
    debits_pending   INTEGER NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted    INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending  INTEGER NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted   INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at       INTEGER NOT NULL,
    CHECK (no_overdraft = 0 OR debits_pending + debits_posted <= credits_posted)
) STRICT;

CREATE TABLE ledger_transfers (
    id              TEXT PRIMARY KEY,
    debit_account   TEXT NOT NULL REFERENCES ledger_accounts (code),
    credit_account  TEXT NOT NULL REFERENCES ledger_accounts (code),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    kind            TEXT NOT NULL CHECK (kind IN ('funding', 'transfer', 'return')),
    transfer_id     TEXT,
    created_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    CHECK (debit_account <> credit_account)
) STRICT;

CREATE INDEX ledger_transfers_by_transfer ON ledger_transfers (transfer_id);

CREATE TABLE quotes (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    source_currency  TEXT NOT NULL,
    source_amount    INTEGER NOT NULL CHECK (source_amount > 0),
    target_currency  TEXT NOT NULL,
    target_amount    INTEGER NOT NULL CHECK (target_amount > 0),
    fee_amount       INTEGER NOT NULL CHECK (fee_amount >= 0),
    rate             TEXT NOT NULL,
    fixed_side       TEXT NOT NULL CHECK (fixed_side IN ('source', 'target')),
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_by          TEXT UNIQUE
) STRICT;

CREATE INDEX quotes_by_tenant ON quotes (tenant_id, created_at);

-- Tier 1 columns hold ciphertext only (sealed); equality lookups go through the blind index.
CREATE TABLE recipients (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    kind                 TEXT NOT NULL CHECK (kind IN ('individual', 'business')),
    name                 TEXT NOT NULL,
    country              TEXT NOT NULL CHECK (length(country) = 2),
    address              TEXT,
    bank_scheme          TEXT NOT NULL CHECK (bank_scheme IN ('iban', 'idn')),
    bank_account_sealed  TEXT NOT NULL,
    bank_account_last4   TEXT NOT NULL,
    bank_account_index   TEXT NOT NULL,
    national_id_sealed   TEXT,
    created_at           INTEGER NOT NULL
) STRICT;

CREATE INDEX recipients_by_tenant ON recipients (tenant_id, created_at, id);
CREATE INDEX recipients_by_account ON recipients (tenant_id, bank_account_index);

CREATE TABLE batches (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    item_count  INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE transfers (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    quote_id         TEXT NOT NULL UNIQUE REFERENCES quotes (id),
    recipient_id     TEXT NOT NULL REFERENCES recipients (id),
    batch_id         TEXT REFERENCES batches (id),
    source_currency  TEXT NOT NULL,
    source_amount    INTEGER NOT NULL,
    target_currency  TEXT NOT NULL,
    target_amount    INTEGER NOT NULL,
    fee_amount       INTEGER NOT NULL,
    reference        TEXT NOT NULL,
    status           TEXT NOT NULL,
    risk_score       INTEGER NOT NULL,
    rail             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX transfers_by_tenant ON transfers (tenant_id, created_at, id);
CREATE INDEX transfers_by_status ON transfers (status, updated_at);

-- Every status change, with its time and cause.
CREATE TABLE transfer_events (
    transfer_id  TEXT NOT NULL REFERENCES transfers (id),
    seq          INTEGER NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    cause        TEXT NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (transfer_id, seq)
) STRICT;

CREATE TABLE batch_items (
    batch_id     TEXT NOT NULL REFERENCES batches (id),
    idx          INTEGER NOT NULL,
    transfer_id  TEXT REFERENCES transfers (id),
    errors       TEXT,
    PRIMARY KEY (batch_id, idx)
) STRICT;
