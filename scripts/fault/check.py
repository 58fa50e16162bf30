#!/usr/bin/env python3
"""The fault suite's history checker: reads the load generator's history (JSON lines) and the
PostgreSQL store afterwards, and asserts what a client was told holds in the store.

  check.py --history FILE --tenants FILE --db URL [--bin BENTENG]

Per request (one idempotency key):
  - every 2xx answer names the same transfer(s) (a replay repeats the first answer);
  - an acknowledged transfer exists, and its history reached the status it was acknowledged
    with (it may have moved on since): else it is LOST;
  - at most one transfer per reference (each carries its key): else DUPLICATED;
  - a request whose definitive answer was a refusal (4xx) made nothing;
  - a request with only indeterminate answers (transport error, 409 key in use, 429, 5xx) is
    UNRESOLVED: the load generator retries until one settles, so none may remain;
  - every 5xx other than 503 with Retry-After, and every 5xx body that shows internals, fails.
Over the store: no transfer the history does not know; each tenant's available balance equals
its funding minus what its transfers hold (source + fee, unless voided); every transfer has its
audit events (initiated, and one status change per move in its history); `benteng ledger
check` and `benteng audit verify` pass (with --bin; their environment is the caller's); with
--webhooks, every transfer's events were received at least once and none that the outbox lacks.

Prints the counts and exits 1 when anything failed. Standard library and psql only.
"""

import argparse
import os
import csv
import io
import json
import re
import subprocess
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loadgen import settles  # noqa: E402  the load generator's own rule, so both agree

# Order of a transfer's life: an acknowledged status must appear in the transfer's history.
SUCCESS = range(200, 300)
# Statuses whose reservation was voided (their source + fee are back on the balance).
VOIDED = {"BLOCKED", "FAILED"}
INTERNALS = re.compile(
    r"sqlx|postgres|redis|panick|backtrace|stack trace|error returned from database|"
    r"connection refused|os error|pool timed out|\.rs:\d+|tokio|hyper::",
    re.IGNORECASE,
)


def query(db, sql):
    out = subprocess.run(
        ["psql", db, "-X", "-q", "--csv", "-c", sql],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout
    return list(csv.DictReader(io.StringIO(out)))


def judge_5xx(status, retry_after, body, what, counts, failures):
    """A 5xx must be a 503 with Retry-After and no internals in its body."""
    if status is None or status < 500:
        return
    text = body if isinstance(body, str) else json.dumps(body)
    if status != 503 or not retry_after:
        counts["bad_5xx"] += 1
        failures.append(f"{what}: HTTP {status} (only 503 with Retry-After may be): {text[:300]}")
    elif INTERNALS.search(text):
        counts["bad_5xx"] += 1
        failures.append(f"{what}: HTTP {status} shows internals: {text[:300]}")


def load_history(path):
    requests, attempts, reads = {}, defaultdict(list), []
    with open(path, encoding="utf-8") as file:
        for line in file:
            if not line.strip():
                continue
            record = json.loads(line)
            if record["kind"] == "request":
                requests[record["key"]] = record
            elif record["kind"] == "attempt":
                attempts[record["key"]].append(record)
            elif record["kind"] == "read":
                reads.append(record)
    return requests, attempts, reads


def acknowledged_transfers(request, body):
    """(transfer id, status or None) pairs a 2xx answer names."""
    if not isinstance(body, dict):
        return None
    if request["op"] == "batch":
        items = body.get("items")
        if not isinstance(items, list):
            return None
        return [(item.get("transfer_id"), None) for item in items if item.get("transfer_id")]
    if "id" not in body:
        return None
    return [(body["id"], body.get("status"))]


def check_webhooks(args, transfers, counts, failures):
    """Every transfer has its `transfer.created` event; every delivery of a transfer event was
    received at least once; nothing was received that the outbox does not hold."""
    received = defaultdict(int)
    with open(args.webhooks, encoding="utf-8") as file:
        for line in file:
            if line.strip():
                received[json.loads(line).get("event_id")] += 1
    events = query(
        args.db,
        "SELECT e.id, e.event_type, e.object_id, d.state FROM webhook_events e "
        "JOIN webhook_deliveries d ON d.event_id = e.id WHERE e.object_type = 'transfer'",
    )
    outbox = {row["id"] for row in query(args.db, "SELECT id FROM webhook_events")}
    created = {row["object_id"] for row in events if row["event_type"] == "transfer.created"}
    counts["webhook deliveries"] = len(events)
    counts["webhook events received"] = len(received)
    counts["webhook events received twice or more"] = sum(1 for n in received.values() if n > 1)
    for transfer_id in transfers:
        if transfer_id not in created:
            counts["webhook events missing"] += 1
            failures.append(f"transfer {transfer_id}: no transfer.created event for its endpoint")
    for row in events:
        if row["state"] != "delivered" or row["id"] not in received:
            counts["undelivered"] += 1
            failures.append(
                f"event {row['id']} ({row['event_type']}): {row['state']}, "
                f"received {received.get(row['id'], 0)} times"
            )
    for event_id in received:
        if event_id not in outbox:
            counts["phantom webhook events"] += 1
            failures.append(f"received event {event_id} is not in the outbox")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", required=True)
    parser.add_argument("--tenants", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--bin")
    parser.add_argument("--webhooks", help="the local receiver's record (JSON lines)")
    args = parser.parse_args()

    requests, attempts, reads = load_history(args.history)
    tenants = json.load(open(args.tenants, encoding="utf-8"))
    failures = []

    transfers = {row["id"]: row for row in query(
        args.db,
        "SELECT id, tenant_id, reference, status, source_amount, fee_amount, batch_id, "
        "environment FROM transfers",
    )}
    history = defaultdict(list)
    for row in query(args.db, "SELECT transfer_id, from_status, to_status FROM transfer_events"):
        history[row["transfer_id"]].append(row)
    by_reference = defaultdict(list)
    for row in transfers.values():
        by_reference[row["reference"]].append(row["id"])

    counts = defaultdict(int)
    counts["requests"] = len(requests)
    counts["attempts"] = sum(len(a) for a in attempts.values())
    for key, request in requests.items():
        tries = sorted(attempts.get(key, []), key=lambda a: a["n"])
        indeterminate = False
        final = None
        acked = set()
        for attempt in tries:
            status = attempt.get("status")
            body = attempt.get("body")
            judge_5xx(status, attempt.get("retry_after"), body, key, counts, failures)
            if attempt.get("timeout"):
                counts["client_gave_up"] += 1
            if status is not None and status >= 500:
                counts[f"answered {status}"] += 1
            if status is None or not settles(status, body):
                indeterminate = True
                continue
            final = attempt
            if status in SUCCESS:
                named = acknowledged_transfers(request, body)
                if named is None:
                    failures.append(f"{key}: 2xx without transfer ids: {json.dumps(body)[:300]}")
                    counts["malformed"] += 1
                    continue
                acked.add(tuple(sorted(t for t, _ in named)))
                for transfer_id, status_then in named:
                    row = transfers.get(transfer_id)
                    if row is None:
                        counts["lost"] += 1
                        failures.append(f"{key}: acknowledged transfer {transfer_id} is not in the store")
                    elif status_then and not any(
                        e["to_status"] == status_then for e in history[transfer_id]
                    ):
                        counts["lost"] += 1
                        failures.append(
                            f"{key}: transfer {transfer_id} acknowledged {status_then} never was"
                        )
        if len(acked) > 1:
            counts["duplicated"] += 1
            failures.append(f"{key}: answers name different transfers: {sorted(acked)}")
        made = [t for ref in request["references"] for t in by_reference.get(ref, [])]
        if any(len(by_reference.get(ref, [])) > 1 for ref in request["references"]):
            counts["duplicated"] += 1
            failures.append(f"{key}: more than one transfer for one reference: {made}")
        if final is None:
            counts["unresolved"] += 1
            failures.append(f"{key}: no definitive answer after {len(tries)} attempts")
            continue
        if final["status"] in SUCCESS:
            counts["acknowledged"] += 1
            counts["acknowledged_transfers"] += len(made)
            if request["expect"] == "refuse":
                counts["wrongly_accepted"] += 1
                failures.append(f"{key}: should have been refused, got HTTP {final['status']}")
            if tries[0] is not final and indeterminate:
                counts["indeterminate_then_resolved"] += 1
            if len(tries) > 1 and final.get("replayed") == "true":
                counts["replayed"] += 1
        else:
            counts["refused"] += 1
            if indeterminate:
                counts["indeterminate_then_resolved"] += 1
            if made:
                counts["refused_but_made"] += 1
                failures.append(f"{key}: refused with HTTP {final['status']} but made {made}")
            if request["expect"] != "refuse":
                counts["unexpected_refusals"] += 1
                failures.append(
                    f"{key}: refused HTTP {final['status']}: {json.dumps(final.get('body'))[:300]}"
                )

    for read in reads:
        counts[f"quote answered {read['status']}"] += 1
        judge_5xx(read["status"], read.get("retry_after"), read.get("body"), "GET /v1/quotes",
                  counts, failures)

    known = {ref for r in requests.values() for ref in r["references"]}
    for row in transfers.values():
        if row["reference"].startswith("FS-") and row["reference"] not in known:
            counts["unknown_transfers"] += 1
            failures.append(f"transfer {row['id']} ({row['reference']}) is in no request")

    # Balances: funding minus what the tenant's transfers hold.
    accounts = {(r["tenant_id"], r["currency"]): r for r in query(
        args.db,
        "SELECT code, tenant_id, currency, debits_pending, debits_posted, credits_posted "
        "FROM ledger_accounts WHERE tenant_id IS NOT NULL AND code NOT LIKE 'test:%'",
    )}
    for tenant in tenants:
        held = 0
        for row in transfers.values():
            if row["tenant_id"] == tenant["id"] and row["environment"] == "live" \
                    and row["status"] not in VOIDED:
                held += int(row["source_amount"]) + int(row["fee_amount"])
                if row["status"] == "RETURNED":
                    held -= int(row["source_amount"])
        account = accounts.get((tenant["id"], "EUR"))
        if account is None:
            failures.append(f"tenant {tenant['id']}: no EUR account")
            counts["balance_mismatch"] += 1
            continue
        available = int(account["credits_posted"]) - int(account["debits_posted"]) \
            - int(account["debits_pending"])
        expected = tenant["funding_minor"] - held
        if available != expected:
            counts["balance_mismatch"] += 1
            failures.append(
                f"tenant {tenant['id']}: available {available} != funding "
                f"{tenant['funding_minor']} - held {held} = {expected}"
            )

    # Audit: every transfer has its `transfer.initiated` and one status change per move.
    audit = defaultdict(lambda: defaultdict(int))
    for row in query(
        args.db,
        "SELECT document::json->'resource'->>'id' AS id, event_type, COUNT(*) AS n "
        "FROM audit_events WHERE document::json->'resource'->>'type' = 'transfer' "
        "GROUP BY 1, 2",
    ):
        audit[row["id"]][row["event_type"]] = int(row["n"])
    for transfer_id in transfers:
        moves = sum(1 for e in history[transfer_id] if e["from_status"])
        events = audit.get(transfer_id, {})
        if events.get("transfer.initiated", 0) != 1 or events.get("transfer.status_changed", 0) != moves:
            counts["audit_missing"] += 1
            failures.append(
                f"transfer {transfer_id}: audit {dict(events)} for {moves} moves in its history"
            )

    if args.webhooks:
        check_webhooks(args, transfers, counts, failures)

    if args.bin:
        for verb in (["ledger", "check"], ["audit", "verify"]):
            done = subprocess.run([args.bin, *verb], capture_output=True, text=True, timeout=600)
            name = " ".join(verb)
            if done.returncode != 0:
                counts[f"{name} failed"] += 1
                failures.append(f"benteng {name}: {(done.stdout + done.stderr)[-1000:]}")
            else:
                counts[f"{name} ok"] = 1

    counts["transfers_in_store"] = len(transfers)
    for row in transfers.values():
        counts[f"store {row['status']}"] += 1
    if counts["acknowledged"] == 0:
        failures.append("nothing was acknowledged: the run proves nothing")
    for name in ("lost", "duplicated", "unresolved", "bad_5xx") + (
            ("undelivered",) if args.webhooks else ()):
        counts.setdefault(name, 0)
    print("CHECK | " + " | ".join(f"{k} {v}" for k, v in sorted(counts.items())) + " |")
    for failure in failures[:40]:
        print(f"FAIL  {failure}")
    if len(failures) > 40:
        print(f"FAIL  … and {len(failures) - 40} more")
    print("CHECK " + ("FAILED" if failures else "PASSED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
