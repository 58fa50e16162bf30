-- The cases' SLA clock (issue 15, item 4): when a case's miss of its SLA was recorded (the
-- `sla_missed` event, once per due time: the conditional update that sets it is what makes one
-- instance of several record it), cleared when an escalation gives the case a new due time.

ALTER TABLE cases ADD COLUMN sla_missed_at INTEGER;
