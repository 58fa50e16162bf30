-- FAPI 2.0 authorization server: the clients operators register, pushed authorization
-- requests (PAR), authorization codes, DPoP-bound access tokens and the server's own signing
-- keys. Handles, codes and tokens are never stored: only the SHA-256 (hex) of each, which
-- carries 256 random bits, so the hash cannot be reversed by guessing.
CREATE TABLE fapi_clients (
    client_id          TEXT PRIMARY KEY CHECK (length(client_id) BETWEEN 3 AND 64),
    name               TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The client's JWK Set by value (public keys only, checked on registration).
    jwks               TEXT NOT NULL,
    -- JSON array of exact https redirect URIs.
    redirect_uris      TEXT NOT NULL,
    -- API-key scope names separated by single spaces; never empty.
    scopes             TEXT NOT NULL CHECK (scopes <> ''),
    profile            TEXT NOT NULL CHECK (profile IN ('fapi2')),
    token_auth         TEXT NOT NULL CHECK (token_auth IN ('private_key_jwt')),
    sender_constraint  TEXT NOT NULL CHECK (sender_constraint IN ('dpop')),
    status             TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE fapi_requests (
    handle_hash  TEXT PRIMARY KEY CHECK (handle_hash ~ '^[0-9a-f]{64}$'),
    client_id    TEXT NOT NULL REFERENCES fapi_clients (client_id),
    -- The validated request object's parameters (JSON).
    params       TEXT NOT NULL,
    -- The consent form's anti-forgery token (SHA-256, hex).
    form_hash    TEXT NOT NULL CHECK (length(form_hash) = 64),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    CHECK (expires_at > created_at)
);

CREATE TABLE fapi_codes (
    code_hash       TEXT PRIMARY KEY CHECK (code_hash ~ '^[0-9a-f]{64}$'),
    client_id       TEXT NOT NULL REFERENCES fapi_clients (client_id),
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    person_id       TEXT NOT NULL REFERENCES people (id),
    scopes          TEXT NOT NULL CHECK (scopes <> ''),
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL CHECK (length(code_challenge) = 43),
    dpop_jkt        TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    CHECK (expires_at > created_at)
);

CREATE TABLE fapi_tokens (
    id          TEXT PRIMARY KEY CHECK (length(id) = 36),
    token_hash  TEXT NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    code_hash   TEXT NOT NULL REFERENCES fapi_codes (code_hash),
    client_id   TEXT NOT NULL REFERENCES fapi_clients (client_id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    person_id   TEXT NOT NULL REFERENCES people (id),
    scopes      TEXT NOT NULL CHECK (scopes <> ''),
    -- The DPoP key's RFC 7638 thumbprint the token is bound to.
    jkt         TEXT NOT NULL CHECK (length(jkt) = 43),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    CHECK (expires_at > created_at)
);
CREATE INDEX fapi_tokens_by_code ON fapi_tokens (code_hash);

-- The authorization server's ES256 keys (JARM), sealed under the KEK, on the shared rotation
-- timeline (published → signing → retiring → retired).
CREATE TABLE fapi_signing_keys (
    kid         TEXT PRIMARY KEY CHECK (length(kid) BETWEEN 1 AND 64),
    sealed_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    signs_from  BIGINT NOT NULL
);
