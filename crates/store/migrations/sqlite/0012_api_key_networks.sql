-- API keys restricted to source networks: `networks` is the key's allow-list, CIDRs separated by
-- single spaces (`10.0.0.0/8 2001:db8::/32`). NULL or empty: any network, which is what every
-- key issued before this script could do, so existing keys need no data step. Reads parse the
-- list strictly (`core::network`), so a malformed value is refused, never read as "any".
ALTER TABLE api_keys ADD COLUMN networks TEXT;
-- When the key last changed after issue (its network list; revocation has `revoked_at`), Unix
-- microseconds. Part of the credential watermark: an instance that polls it refreshes the keys
-- changed since its last look.
ALTER TABLE api_keys ADD COLUMN updated_at INTEGER;
CREATE INDEX api_keys_by_update ON api_keys (updated_at);
