-- A case shows its party's other cases (issue 15: "the party's previous cases and decisions").
CREATE INDEX cases_by_party ON cases (party_kind, party_id, opened_at);
