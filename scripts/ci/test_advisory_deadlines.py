"""advisory_deadlines.py through its command line, on cargo deny's real output format.

The fixture is a cargo deny run over a scratch crate depending on smallvec 0.6.13
(RUSTSEC-2021-0003, CVSS 9.8); the tests change its advisory to make each case.
"""

import copy
import io
import json
import pathlib
import tempfile
import unittest

import advisory_deadlines

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "cargo-deny-advisories.jsonl"
RECORDS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
DIAGNOSTIC = next(r for r in RECORDS if r["type"] == "diagnostic")
SUMMARY = next(r for r in RECORDS if r["type"] == "summary")

HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5
MEDIUM = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N"  # 4.8
CRITICAL_V4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"  # 9.3


def advisory(date, cvss=None, informational=None, code="vulnerability", **extra):
    record = copy.deepcopy(DIAGNOSTIC)
    record["fields"]["code"] = code
    record["fields"]["advisory"].update(
        date=date, cvss=cvss, informational=informational, **extra
    )
    return record


class Deadlines(unittest.TestCase):
    def run_on(self, records, now):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
            file.write("\n".join(json.dumps(r) for r in records) + "\n")
        out = io.StringIO()
        code = advisory_deadlines.main([file.name, "--now", now], out)
        pathlib.Path(file.name).unlink()
        return code, out.getvalue()

    def test_the_fixture_as_cargo_deny_wrote_it_is_read(self):
        out = io.StringIO()
        code = advisory_deadlines.main([str(FIXTURE), "--now", "2021-01-08T12:00:00+00:00"], out)
        self.assertEqual(code, 0, out.getvalue())
        self.assertIn("RUSTSEC-2021-0003 smallvec 0.6.13", out.getvalue())
        self.assertIn("critical (CVSS 9.8)", out.getvalue())

    def test_a_high_past_its_seven_days_fails(self):
        code, out = self.run_on(
            [advisory("2026-01-01", HIGH), SUMMARY], "2026-01-08T00:00:01+00:00"
        )
        self.assertEqual(code, 1, out)
        self.assertIn("FAIL RUSTSEC-2021-0003", out)
        self.assertIn("high (CVSS 7.5)", out)

    def test_a_high_within_its_seven_days_passes(self):
        code, out = self.run_on(
            [advisory("2026-01-01", HIGH), SUMMARY], "2026-01-07T23:59:00+00:00"
        )
        self.assertEqual(code, 0, out)
        self.assertIn("due in 0 days 0 h", out)

    def test_a_fresh_medium_passes_and_is_listed_with_its_deadline(self):
        code, out = self.run_on(
            [advisory("2026-01-01", MEDIUM), SUMMARY], "2026-01-02T00:00:00+00:00"
        )
        self.assertEqual(code, 0, out)
        self.assertIn("medium (CVSS 4.8)", out)
        self.assertIn("fix by 2026-01-31 00:00 UTC", out)

    def test_an_overdue_medium_is_reported_but_does_not_fail(self):
        code, out = self.run_on(
            [advisory("2026-01-01", MEDIUM), SUMMARY], "2026-03-01T00:00:00+00:00"
        )
        self.assertEqual(code, 0, out)
        self.assertIn("note RUSTSEC-2021-0003", out)
        self.assertIn("OVERDUE", out)

    def test_a_critical_has_24_hours(self):
        records = [advisory("2026-01-01", CRITICAL_V4), SUMMARY]
        self.assertEqual(self.run_on(records, "2026-01-01T23:00:00+00:00")[0], 0)
        code, out = self.run_on(records, "2026-01-02T01:00:00+00:00")
        self.assertEqual(code, 1, out)
        self.assertIn("critical (CVSS 9.3)", out)

    def test_a_vulnerability_without_cvss_counts_as_high(self):
        code, out = self.run_on(
            [advisory("2026-01-01", None), SUMMARY], "2026-01-09T00:00:00+00:00"
        )
        self.assertEqual(code, 1, out)
        self.assertIn("high (no CVSS, vulnerability)", out)

    def test_unmaintained_and_unsound_without_cvss_are_low_and_medium(self):
        records = [
            advisory("2026-01-01", None, "unmaintained", code="unmaintained"),
            advisory("2026-01-01", None, "unsound", code="unsound"),
            SUMMARY,
        ]
        code, out = self.run_on(records, "2026-06-01T00:00:00+00:00")
        self.assertEqual(code, 0, out)
        self.assertIn("unmaintained, low (no CVSS, unmaintained)", out)
        self.assertIn("unsound, medium (no CVSS, unsound)", out)

    def test_a_withdrawn_advisory_is_left_out(self):
        code, out = self.run_on(
            [advisory("2020-01-01", HIGH, withdrawn="2020-02-01"), SUMMARY],
            "2026-01-01T00:00:00+00:00",
        )
        self.assertEqual(code, 0, out)
        self.assertIn("0 advisories", out)

    def test_a_run_without_its_summary_fails_closed(self):
        code, out = self.run_on([advisory("2026-01-01", MEDIUM)], "2026-01-02T00:00:00+00:00")
        self.assertEqual(code, 2, out)
        self.assertIn("did not finish", out)

    def test_a_run_that_could_not_read_the_database_fails_closed(self):
        error = {
            "type": "log",
            "fields": {"level": "ERROR", "message": "failed to open advisory database"},
        }
        code, out = self.run_on([error, SUMMARY], "2026-01-02T00:00:00+00:00")
        self.assertEqual(code, 2, out)
        self.assertIn("failed to open advisory database", out)

    def test_an_unknown_cvss_version_fails_closed(self):
        code, out = self.run_on(
            [advisory("2026-01-01", "CVSS:2.0/AV:N"), SUMMARY], "2026-01-02T00:00:00+00:00"
        )
        self.assertEqual(code, 2, out)


if __name__ == "__main__":
    unittest.main()
