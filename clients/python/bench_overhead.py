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

    def round_us(call) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        """Wall-clock and this process's CPU time per request, in µs."""
        started, cpu = time.perf_counter_ns(), time.process_time_ns()
        for _ in range(per_round):
            call()
        wall = (time.perf_counter_ns() - started) / per_round / 1000
        return wall, (time.process_time_ns() - cpu) / per_round / 1000

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


def summary(
    language: str, per_round: int, raw: list[tuple[float, float]], client: list[tuple[float, float]]
) -> dict:
    """Per round and as the median of the rounds' differences (client minus raw): wall-clock
    µs per request, and the client process's CPU µs per request (which the load of other
    processes on a shared machine disturbs far less)."""
    out: dict = {"language": language, "requests_per_round": per_round}
    for index, name in ((0, "wall"), (1, "cpu")):
        r = [x[index] for x in raw]
        c = [x[index] for x in client]
        out[f"raw_{name}_us"] = [round(x, 1) for x in r]
        out[f"client_{name}_us"] = [round(x, 1) for x in c]
        out[f"{name}_overhead_median_us"] = round(statistics.median(b - a for a, b in zip(r, c)), 1)
    return out


if __name__ == "__main__":
    main()
