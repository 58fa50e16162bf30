"""What the client adds to a request: GET /v1/tenant through ``Client.get_tenant`` against the
same request made with ``http.client`` directly (same TLS context, one kept-alive connection
each, the JSON body parsed either way), in alternating rounds. Prints one line of JSON.

    python3 bench_overhead.py URL KEY CA_FILE [REQUESTS_PER_ROUND] [ROUNDS]

Run by scripts/bench-clients, which starts a release build of benteng for it.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
import urllib.parse

from benteng_client import Client
from benteng_client.transport import tls_context


def main() -> None:
    url, key, ca_file = sys.argv[1:4]
    per_round = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    parts = urllib.parse.urlsplit(url)
    raw = http.client.HTTPSConnection(
        parts.hostname or "", parts.port, context=tls_context(ca_file, None, None)
    )
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}

    def raw_get() -> None:
        raw.request("GET", "/v1/tenant", headers=headers)
        response = raw.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"raw: HTTP {response.status} {body!r}")
        json.loads(body)

    client = Client(url, key, ca_file=ca_file)
    client_get = client.get_tenant

    def round_us(call) -> float:  # type: ignore[no-untyped-def]
        started = time.perf_counter_ns()
        for _ in range(per_round):
            call()
        return (time.perf_counter_ns() - started) / per_round / 1000

    for call in (raw_get, client_get):  # warm-up: connections, caches
        for _ in range(min(200, per_round)):
            call()
    raw_rounds, client_rounds = [], []
    for _ in range(rounds):
        raw_rounds.append(round_us(raw_get))
        client_rounds.append(round_us(client_get))
    client.close()
    raw.close()
    print(json.dumps(summary("python", per_round, raw_rounds, client_rounds)))


def summary(language: str, per_round: int, raw: list[float], client: list[float]) -> dict:
    differences = [c - r for r, c in zip(raw, client)]
    return {
        "language": language,
        "requests_per_round": per_round,
        "raw_us": [round(x, 1) for x in raw],
        "client_us": [round(x, 1) for x in client],
        "raw_median_us": round(statistics.median(raw), 1),
        "client_median_us": round(statistics.median(client), 1),
        "overhead_median_us": round(statistics.median(differences), 1),
    }


if __name__ == "__main__":
    main()
