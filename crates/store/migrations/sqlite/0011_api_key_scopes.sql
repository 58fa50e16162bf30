-- Scoped API keys: what each key may do, as scope names separated by single spaces
-- (`transfers:read quotes:write`). NULL only for keys issued before scopes existed: right after
-- this script, `Store::migrate` gives each of them the full set and records
-- `api_key.scopes_migrated` for it, in one transaction. Reads refuse NULL, so such a key is
-- never honoured without its scopes.
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
