-- An idempotency record keeps the payments layer's outcome of the write it guards, as opaque
-- text, not an HTTP response. It is written once, complete, in the transaction of that write
-- (0006's comment about a row inserted first and completed later describes an older design).
ALTER TABLE idempotency_keys DROP COLUMN response_status;
ALTER TABLE idempotency_keys DROP COLUMN response_headers;
ALTER TABLE idempotency_keys RENAME COLUMN response_body TO outcome;
