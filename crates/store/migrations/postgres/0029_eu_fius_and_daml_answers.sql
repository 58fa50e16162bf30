-- Regulatory reports (issue 16, continued): reports to EU FIUs, and the NCA's answers to a
-- DAML request.
--
-- An `eu_sar` goes to the FIU of one member state (`fiu_country`, configured under
-- `[reports.fius]`). A submitted UK SAR asking for a defence records the NCA's answer as an
-- officer enters it: consent granted, consent refused (a moratorium of 31 days, ending at
-- `daml_moratorium_ends_at`), or consent deemed (no refusal within the notice period, or the
-- moratorium over). Once consent is granted or deemed the answer is final (the trigger says so).
ALTER TABLE reports DROP CONSTRAINT reports_kind_check;
ALTER TABLE reports ADD CONSTRAINT reports_kind_check
    CHECK (kind IN ('ltkm', 'uk_sar', 'eu_sar'));
-- An EU report: the member state whose FIU it goes to (ISO 3166 alpha-2).
ALTER TABLE reports ADD COLUMN fiu_country TEXT CHECK (length(fiu_country) = 2);
-- The NCA's latest answer to the DAML request, who recorded it and when.
ALTER TABLE reports ADD COLUMN daml_answer TEXT
    CHECK (daml_answer IN ('granted', 'refused', 'deemed'));
ALTER TABLE reports ADD COLUMN daml_answered_at BIGINT;
ALTER TABLE reports ADD COLUMN daml_answered_by TEXT REFERENCES people (id);
-- Set by a refusal: the end of its 31-day moratorium.
ALTER TABLE reports ADD COLUMN daml_moratorium_ends_at BIGINT;
ALTER TABLE reports ADD CONSTRAINT reports_fiu_country_for_eu
    CHECK ((kind = 'eu_sar') = (fiu_country IS NOT NULL));
ALTER TABLE reports ADD CONSTRAINT reports_daml_answer_recorded
    CHECK (daml_answer IS NULL OR (daml_due_at IS NOT NULL AND status = 'submitted'
        AND daml_answered_at IS NOT NULL AND daml_answered_by IS NOT NULL));
ALTER TABLE reports ADD CONSTRAINT reports_daml_refusal_has_moratorium
    CHECK (daml_answer IS NULL OR daml_answer <> 'refused' OR daml_moratorium_ends_at IS NOT NULL);

CREATE OR REPLACE FUNCTION guard_report_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'reports are never deleted';
    END IF;
    IF OLD.status IN ('submitted', 'withdrawn') AND (
        NEW.status <> OLD.status
        OR NEW.content_sealed <> OLD.content_sealed
        OR NEW.version <> OLD.version
        OR NEW.fiu_reference IS DISTINCT FROM OLD.fiu_reference
        OR NEW.approved_by IS DISTINCT FROM OLD.approved_by
        OR NEW.fiu_country IS DISTINCT FROM OLD.fiu_country
        OR NEW.daml_due_at IS DISTINCT FROM OLD.daml_due_at
        OR (OLD.superseded_by IS NOT NULL AND NEW.superseded_by IS DISTINCT FROM OLD.superseded_by)
    ) THEN
        RAISE EXCEPTION 'a submitted or withdrawn report cannot be changed, only superseded';
    END IF;
    IF OLD.daml_answer IN ('granted', 'deemed') AND (
        NEW.daml_answer IS DISTINCT FROM OLD.daml_answer
        OR NEW.daml_answered_at IS DISTINCT FROM OLD.daml_answered_at
        OR NEW.daml_moratorium_ends_at IS DISTINCT FROM OLD.daml_moratorium_ends_at
    ) THEN
        RAISE EXCEPTION 'consent to a DAML request was given; the answer is final';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
