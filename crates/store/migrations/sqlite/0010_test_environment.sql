-- Test mode: what a tenant's `sk_test_` keys create lives in its test environment, beside (never
-- among) its live data. Every payment row says which environment it belongs to, and every read
-- of a tenant's data names one. Ledger accounts of the test books have codes of their own
-- (`test:…`); the column lets a tenant's balances be read per environment.
ALTER TABLE quotes ADD COLUMN environment TEXT NOT NULL DEFAULT 'live'
    CHECK (environment IN ('live', 'test'));
ALTER TABLE recipients ADD COLUMN environment TEXT NOT NULL DEFAULT 'live'
    CHECK (environment IN ('live', 'test'));
ALTER TABLE transfers ADD COLUMN environment TEXT NOT NULL DEFAULT 'live'
    CHECK (environment IN ('live', 'test'));
ALTER TABLE batches ADD COLUMN environment TEXT NOT NULL DEFAULT 'live'
    CHECK (environment IN ('live', 'test'));
ALTER TABLE ledger_accounts ADD COLUMN environment TEXT NOT NULL DEFAULT 'live'
    CHECK (environment IN ('live', 'test'));
