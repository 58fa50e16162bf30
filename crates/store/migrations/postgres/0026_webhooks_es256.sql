-- Webhooks signed with ES256 (issue 18). Each signing key generation gains a P-256 half beside
-- its RSA one (NULL on generations made before this migration: the schedule makes a new
-- generation for them, see docs/webhooks.md), and an endpoint may choose ES256.
ALTER TABLE webhook_signing_keys ADD COLUMN ec_public_jwk TEXT;
-- PKCS#8, sealed under the private_key data key, like sealed_private.
ALTER TABLE webhook_signing_keys ADD COLUMN ec_sealed_private TEXT;

ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_alg_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_alg_check
    CHECK (alg IN ('RS256', 'PS256', 'ES256'));
