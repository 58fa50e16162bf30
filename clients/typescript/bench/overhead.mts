/**
 * What the client adds to a request: GET /v1/tenant through `getTenant` against the same
 * request made with `node:https` directly (same CA, one kept-alive connection each, the JSON
 * body parsed either way), in alternating rounds. Prints one line of JSON.
 *
 *     node dist/bench/overhead.mjs URL KEY CA_FILE [REQUESTS_PER_ROUND] [ROUNDS]
 *
 * Run by scripts/bench-clients, which starts a release build of benteng for it.
 */

import { readFileSync } from "node:fs";
import * as https from "node:https";

import { BentengClient } from "../src/index.mjs";

const [url, key, caFile, perRoundText, roundsText] = process.argv.slice(2);
if (url === undefined || key === undefined || caFile === undefined) {
  throw new Error("usage: overhead.mjs URL KEY CA_FILE [REQUESTS_PER_ROUND] [ROUNDS]");
}
const perRound = Number(perRoundText ?? 2000);
const rounds = Number(roundsText ?? 5);
const base = new URL(url);
const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(caFile), minVersion: "TLSv1.2" });

function rawGet(): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      { hostname: base.hostname, port: base.port, path: "/v1/tenant", method: "GET", agent,
        headers: { authorization: `Bearer ${key}`, accept: "application/json" } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          if (response.statusCode !== 200) return reject(new Error(`raw: HTTP ${response.statusCode}`));
          JSON.parse(Buffer.concat(chunks).toString("utf8"));
          resolve();
        });
      },
    );
    request.on("error", reject);
    request.end();
  });
}

const client = new BentengClient({ baseUrl: url, apiKey: key, caFile });
const clientGet = async () => {
  await client.getTenant();
};

/** Wall-clock and this process's CPU time per request, in µs. */
async function roundUs(call: () => Promise<void>): Promise<[number, number]> {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < perRound; i++) await call();
  const wall = Number(process.hrtime.bigint() - started) / perRound / 1000;
  const used = process.cpuUsage(cpu);
  return [wall, (used.user + used.system) / perRound];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round1 = (x: number) => Math.round(x * 10) / 10;

for (const call of [rawGet, clientGet]) for (let i = 0; i < Math.min(200, perRound); i++) await call(); // warm-up
const raw: [number, number][] = [];
const viaClient: [number, number][] = [];
for (let r = 0; r < rounds; r++) {
  raw.push(await roundUs(rawGet));
  viaClient.push(await roundUs(clientGet));
}
client.close();
agent.destroy();
// Per round and as the median of the rounds' differences (client minus raw): wall-clock µs per
// request, and this process's CPU µs per request (which the load of other processes on a
// shared machine disturbs far less).
const out: Record<string, unknown> = { language: "typescript", requests_per_round: perRound };
for (const [index, name] of [[0, "wall"], [1, "cpu"]] as const) {
  const r = raw.map((x) => x[index]);
  const c = viaClient.map((x) => x[index]);
  out[`raw_${name}_us`] = r.map(round1);
  out[`client_${name}_us`] = c.map(round1);
  out[`${name}_overhead_median_us`] = round1(median(c.map((v, i) => v - r[i]!)));
}
console.log(JSON.stringify(out));
