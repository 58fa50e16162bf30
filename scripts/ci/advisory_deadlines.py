#!/usr/bin/env python3
"""The spec's fix deadlines for the advisories `cargo deny check advisories` reports.

Reads cargo deny's JSON lines (`cargo deny --format json check advisories 2>FILE`). Each
advisory's severity comes from its CVSS vector (3.x or 4.0, base score in the standard bands);
an advisory without one is rated by its kind: a vulnerability counts as high (an unknown
severity is not taken as a low one), an unsound API as medium, an unmaintained crate or a
notice as low. The deadline runs from the advisory's date (00:00 UTC): critical 24 hours, high
7 days, medium 30, low 90.

Prints every advisory with its deadline. Exits 1 when a critical or high one is past its
deadline, 2 when the input is not a complete cargo deny run (it fails closed: a run that could
not read the database must not pass as a clean one), else 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass
from typing import Iterable, TextIO

from cvss import CVSS3, CVSS4

DEADLINES = {
    "critical": dt.timedelta(hours=24),
    "high": dt.timedelta(days=7),
    "medium": dt.timedelta(days=30),
    "low": dt.timedelta(days=90),
}
FAILS_WHEN_OVERDUE = {"critical", "high"}
WITHOUT_CVSS = {
    "vulnerability": "high",
    "unsound": "medium",
    "unmaintained": "low",
    "notice": "low",
}


class InputError(Exception):
    """The input is not a complete cargo deny run."""


@dataclass(frozen=True)
class Finding:
    advisory: str
    packages: tuple[str, ...]
    kind: str
    severity: str
    basis: str
    date: dt.date

    @property
    def deadline(self) -> dt.datetime:
        start = dt.datetime.combine(self.date, dt.time(), tzinfo=dt.timezone.utc)
        return start + DEADLINES[self.severity]


def severity_of(vector: str) -> tuple[str, str]:
    """The severity band of a CVSS vector, and the score it was read from."""
    if vector.startswith("CVSS:4.0/"):
        score = float(CVSS4(vector).base_score)
    elif vector.startswith("CVSS:3."):
        score = float(CVSS3(vector).base_score)
    else:
        raise InputError(f"unknown CVSS version: {vector}")
    if score >= 9.0:
        band = "critical"
    elif score >= 7.0:
        band = "high"
    elif score >= 4.0:
        band = "medium"
    else:
        band = "low"
    return band, f"CVSS {score:.1f}"


def read_findings(lines: Iterable[str]) -> tuple[list[Finding], list[str]]:
    """The advisories of a cargo deny run, and notes on what has no deadline (yanked crates)."""
    findings: list[Finding] = []
    notes: list[str] = []
    finished = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record["type"]
            fields = record["fields"]
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"line {number} is not a cargo deny JSON record: {error}") from None
        if kind == "summary":
            finished = True
        elif kind == "log" and fields.get("level") == "ERROR":
            raise InputError(f"cargo deny: {fields.get('message', '').strip()}")
        elif kind == "diagnostic":
            finding = finding_of(fields)
            if finding is not None:
                findings.append(finding)
            elif fields.get("code") == "yanked":
                notes.append(f"yanked: {fields.get('message', '')}")
    if not finished:
        raise InputError("no summary record: cargo deny did not finish its check")
    return findings, notes


def finding_of(fields: dict) -> Finding | None:
    code = fields.get("code")
    advisory = fields.get("advisory")
    if advisory is None:
        if code == "yanked":
            return None
        raise InputError(f"unexpected diagnostic {code!r}: {fields.get('message', '')}")
    if advisory.get("withdrawn"):
        return None
    try:
        identifier = advisory["id"]
        date = dt.date.fromisoformat(advisory["date"])
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"advisory without a usable id or date: {error}") from None
    kind = advisory.get("informational") or code or "vulnerability"
    vector = advisory.get("cvss")
    if vector:
        severity, basis = severity_of(vector)
    else:
        # A kind this script does not know is rated as a vulnerability.
        severity, basis = WITHOUT_CVSS.get(kind, "high"), f"no CVSS, {kind}"
    packages = tuple(
        f"{graph['Krate']['name']} {graph['Krate']['version']}"
        for graph in fields.get("graphs", [])
        if "Krate" in graph
    ) or (advisory.get("package", "?"),)
    return Finding(identifier, packages, kind, severity, basis, date)


def report(findings: list[Finding], notes: list[str], now: dt.datetime, out: TextIO) -> bool:
    """Prints each finding with its deadline; true when one that fails CI is overdue."""
    failed = False
    for finding in sorted(findings, key=lambda f: f.deadline):
        overdue = now > finding.deadline
        fails = overdue and finding.severity in FAILS_WHEN_OVERDUE
        failed = failed or fails
        if overdue:
            state = f"OVERDUE by {(now - finding.deadline).days} days"
        else:
            hours = int((finding.deadline - now).total_seconds() // 3600)
            state = f"due in {hours // 24} days {hours % 24} h"
        print(
            f"{'FAIL' if fails else 'note'} {finding.advisory} {', '.join(finding.packages)}: "
            f"{finding.kind}, {finding.severity} ({finding.basis}), dated {finding.date}, "
            f"fix by {finding.deadline:%Y-%m-%d %H:%M} UTC: {state}",
            file=out,
        )
    for note in notes:
        print(f"note {note}", file=out)
    print(
        f"{len(findings)} advisories, "
        f"{'a critical or high one is past its deadline' if failed else 'none critical or high past its deadline'}",
        file=out,
    )
    return failed


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="cargo deny's JSON lines (check advisories)")
    parser.add_argument(
        "--now",
        type=dt.datetime.fromisoformat,
        default=None,
        help="the moment to judge at, ISO 8601 with offset (default: now)",
    )
    args = parser.parse_args(argv)
    now = args.now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        parser.error("--now needs an offset, e.g. 2026-01-01T00:00:00+00:00")
    try:
        with open(args.input, encoding="utf-8") as lines:
            findings, notes = read_findings(lines)
    except (InputError, OSError) as error:
        print(f"error: {error}", file=out)
        return 2
    return 1 if report(findings, notes, now, out) else 0


if __name__ == "__main__":
    sys.exit(main())
