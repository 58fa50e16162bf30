#!/usr/bin/env python3
"""The fault-injection suite (see scripts/fault-suite, which installs what it needs and runs
this). Everything runs on loopback in a private work directory:

  private PostgreSQL cluster (initdb) ─┐            ┌─ benteng 0 ─┐
  private Redis (AOF on)               ├─ proxies ──┼─ benteng 1 ─┼─ HAProxy (TLS passthrough)
                                       │ (faults)   └─ benteng 2 ─┘        │
                                                                    load generator → history

While the load runs, a schedule of faults: kill -9 of a random instance and its restart (with a
new clock skew), Redis restarted (once after a FLUSHALL), PostgreSQL restarted (fast and
immediate), latency and dropped connections in the proxies. Then the unsettled requests are
retried with their keys, the instances stop, and check.py judges the history against the store.
In the short form, two broken copies of the store (one acknowledged transfer deleted; one
transfer duplicated) must make the checker fail: its negative controls.
"""

import argparse
import glob
import http.server
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loadgen import History, LoadGenerator  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# libfaketime (Debian package libfaketime), wherever the architecture puts it.
FAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))),
                "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
# Clock skew between instances: at most this many seconds either way. benteng has no setting
# that moves its clock; the offset is applied from outside with libfaketime (wall clock only).
MAX_SKEW_SECS = 2
FUNDING_MINOR = 100_000_00


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout=60.0, interval=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            pass
        time.sleep(interval)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s")


def stop_process(process, sig=signal.SIGTERM, timeout=20):
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Postgres:
    """A private cluster in the work directory, run as the postgres user when we are root."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        self.port = free_port()
        self.bin = sorted(
            (os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql")),
            key=lambda p: int(p.split("/")[-2]),
        )[-1]
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        self.admin_url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/benteng"

    def run(self, *command, check=True):
        return subprocess.run(self.as_user + list(command), check=check, capture_output=True,
                              text=True, timeout=120)

    def init(self):
        os.makedirs(self.dir)
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        self.run(f"{self.bin}/initdb", "-D", self.dir, "-A", "trust", "-U", "postgres")
        self.start()
        self.psql(self.admin_url, "CREATE DATABASE benteng")

    def start(self):
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200 -c fsync=on -c synchronous_commit=on")
        self.run(f"{self.bin}/pg_ctl", "-D", self.dir, "-l", os.path.join(self.dir, "log"),
                 "-o", options, "-w", "start")

    def stop(self, mode):
        self.run(f"{self.bin}/pg_ctl", "-D", self.dir, "-m", mode, "-w", "stop", check=False)

    def restart(self, mode):
        self.stop(mode)
        self.start()

    @staticmethod
    def psql(url, sql):
        return subprocess.run(["psql", url, "-X", "-qAtc", sql], check=True, capture_output=True,
                              text=True, timeout=120).stdout.strip()


class Redis:
    def __init__(self, work):
        self.dir = os.path.join(work, "redis")
        os.makedirs(self.dir)
        self.port = free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
             "--logfile", os.path.join(self.dir, "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_until("Redis", lambda: self.cli("ping") == "PONG", 30)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                              text=True, timeout=10).stdout.strip()

    def restart(self, flush):
        if flush:
            self.cli("FLUSHALL")
        stop_process(self.process, signal.SIGKILL)
        self.start()

    def stop(self):
        stop_process(self.process, signal.SIGKILL)


class Proxy:
    def __init__(self, name, upstream_port, work):
        self.name = name
        self.port = free_port()
        self.control_port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-B", os.path.join(HERE, "proxy.py"), "--listen", str(self.port),
             "--control", str(self.control_port), "--upstream", f"127.0.0.1:{upstream_port}"],
            stdout=open(os.path.join(work, f"proxy-{name}.log"), "a"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(f"proxy {name}", lambda: self.command("stats").startswith("ok"), 20)

    def command(self, line):
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as s:
            s.sendall((line + "\n").encode())
            return s.makefile().readline().strip()

    def stop(self):
        stop_process(self.process)


class Instance:
    def __init__(self, index, binary, env, work):
        self.index = index
        self.binary = binary
        self.env = env
        self.port = free_port()
        self.log_path = os.path.join(work, f"benteng-{index}.log")
        self.process = None
        self.skew = 0

    def start(self, skew, ca):
        if skew and not os.path.exists(FAKETIME):
            raise SystemExit(f"clock skew needs libfaketime ({FAKETIME}); or run with --no-skew")
        self.skew = skew
        env = dict(self.env, BENTENG_SERVER__BIND=f"127.0.0.1:{self.port}")
        if skew:
            env.update(LD_PRELOAD=FAKETIME, FAKETIME=f"{skew:+d}s", FAKETIME_DONT_FAKE_MONOTONIC="1",
                       FAKETIME_NO_CACHE="1")
        with open(self.log_path, "a") as out:
            out.write(json.dumps({"suite": f"start, clock skew {skew:+d} s"}) + "\n")
        self.process = subprocess.Popen(
            [self.binary, "serve"], env=env, stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "a"), start_new_session=True,
        )
        self.wait_ready(ca)

    def wait_ready(self, ca):
        def up():
            if self.process.poll() is not None:
                raise SystemExit(f"benteng {self.index} exited; see {self.log_path}")
            if not os.path.exists(ca):
                return False
            context = ssl.create_default_context(cafile=ca)
            with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/healthz",
                                        context=context, timeout=2) as r:
                return r.status == 200

        wait_until(f"benteng {self.index}", up, 90)

    def kill9(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self):
        stop_process(self.process, timeout=30)


class HAProxy:
    def __init__(self, work, instances):
        self.port = free_port()
        self.config = os.path.join(work, "haproxy.cfg")
        servers = "\n".join(
            f"  server b{i.index} 127.0.0.1:{i.port} check inter 300 fall 1 rise 2"
            for i in instances
        )
        with open(self.config, "w") as f:
            f.write(f"""global
  maxconn 4000
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 2
  option redispatch
frontend api
  bind 127.0.0.1:{self.port}
  default_backend benteng
backend benteng
  balance roundrobin
{servers}
""")
        self.process = subprocess.Popen(
            ["haproxy", "-db", "-f", self.config],
            stdout=open(os.path.join(work, "haproxy.log"), "a"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until("HAProxy", lambda: socket.create_connection(("127.0.0.1", self.port), 1).close()
                   is None, 20)

    def stop(self):
        stop_process(self.process)


class WebhookSink:
    """A local receiver: records each delivery's event id, type and object as a JSON line and
    answers 200 (duplicates are expected: delivery is at least once)."""

    def __init__(self, path):
        self.port = free_port()
        self.file = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    event = json.loads(body)
                    line = json.dumps({"event_id": event["event_id"],
                                       "event_type": event["event_type"],
                                       "object_id": event["data"]["id"]})
                except (ValueError, KeyError, TypeError):
                    line = json.dumps({"malformed": body[:200].decode("utf-8", "replace")})
                with sink.lock:
                    sink.file.write(line + "\n")
                    sink.file.flush()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        with self.lock:
            self.file.close()


class Suite:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = tempfile.mkdtemp(prefix="benteng-faults.")
        os.chmod(self.work, 0o755)
        self.history_path = os.path.join(self.work, "history.jsonl")
        self.tenants_path = os.path.join(self.work, "tenants.json")
        self.webhooks_path = os.path.join(self.work, "webhooks.jsonl")
        self.sink = None
        self.faults = {}
        self.postgres = self.redis = self.haproxy = None
        self.proxies = {}
        self.instances = []

    def count(self, fault):
        self.faults[fault] = self.faults.get(fault, 0) + 1

    # -- set-up ---------------------------------------------------------------------------

    def cli(self, *args, direct=True):
        env = dict(self.env)
        if direct:
            env["BENTENG_DATABASE__URL"] = self.postgres.url
            env["BENTENG_CACHE__URL"] = f"redis://127.0.0.1:{self.redis.port}"
        done = subprocess.run([self.args.bin, *args], env=env, capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"benteng {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def set_up(self):
        log(f"work directory {self.work}")
        self.postgres = Postgres(self.work)
        self.postgres.init()
        self.redis = Redis(self.work)
        self.redis.start()
        self.proxies = {
            "postgres": Proxy("postgres", self.postgres.port, self.work),
            "redis": Proxy("redis", self.redis.port, self.work),
        }
        data = os.path.join(self.work, "data")
        os.makedirs(data)
        self.ca = os.path.join(data, "tls", "dev-ca.pem")
        self.env = {
            k: v for k, v in os.environ.items()
            if not k.startswith("BENTENG_") and k not in ("LD_PRELOAD", "FAKETIME")
        }
        self.env.update({
            "BENTENG_DATA_DIR": data,
            "BENTENG_DATABASE__URL":
                f"postgres://postgres@127.0.0.1:{self.proxies['postgres'].port}/benteng",
            "BENTENG_DATABASE__MAX_CONNECTIONS": "8",
            "BENTENG_CACHE__URL": f"redis://127.0.0.1:{self.proxies['redis'].port}",
            "BENTENG_CACHE__NAMESPACE": "faults",
            "BENTENG_AUTH__API_KEY_SECRET": os.urandom(32).hex(),
            "BENTENG_LOG__FORMAT": "json",
            "BENTENG_LOG__LEVEL": "info",
            "BENTENG_PAYMENTS__QUOTE_TTL_SECS": "3600",
            "BENTENG_RAIL__SANDBOX_SETTLE_AFTER_MS": "1500",
            "BENTENG_SERVER__SHUTDOWN_GRACE_SECS": "5",
            "BENTENG_PROTECTION__TIERS__ENTERPRISE__REQUESTS_PER_MINUTE": "1000000",
        })
        # The per-route limits are TOML-only; raised so the load is not answered with 429.
        config = os.path.join(self.work, "benteng.toml")
        with open(config, "w") as f:
            f.write('[protection.endpoints]\n"POST /v1/transfers" = 1000000\n'
                    '"POST /v1/batches" = 1000000\n"GET /v1/quotes" = 1000000\n'
                    # Deliveries to the local sink; a killed worker's claim lapses in 20 s.
                    '[webhooks]\nallow_private = ["127.0.0.0/8"]\nallow_http = true\n'
                    'request_timeout_secs = 5\nvisibility_timeout_secs = 20\n'
                    'poll_interval_ms = 200\n')
        self.env["BENTENG_CONFIG"] = config
        self.cli("migrate")
        baseline = os.path.join(self.work, "baseline.csv")
        with open(baseline, "w") as f:
            f.write("id,name,type,aliases,dob,nationality,identifiers,addresses,programme\n"
                    "F-1,Fictitious Fault Suite Entry,person,,1970-01-01,,,,TEST\n")
        self.cli("lists", "load", "--source", "generic:fault-baseline", "--path", baseline)
        tenants = []
        for n in range(self.args.tenants):
            tenant = self.cli("tenant", "create", "--name", f"PT Fault Uji {n + 1}",
                              "--tier", "enterprise")
            key = self.cli("apikey", "issue", "--tenant", tenant, "--expires-in-days", "1")
            self.cli("kyc", "set-level", tenant, "enhanced")
            self.cli("ledger", "fund", "--tenant", tenant, "--currency", "EUR",
                     "--amount", f"{FUNDING_MINOR // 100}.00")
            tenants.append({"id": tenant, "auth": f"Bearer {key}", "funding_minor": FUNDING_MINOR})
        for index in range(3):
            self.instances.append(Instance(index, self.args.bin, self.env, self.work))
        # The first instance makes the development certificates the others then share.
        for instance in self.instances:
            instance.start(self.skew(), self.ca)
        self.haproxy = HAProxy(self.work, self.instances)
        context = ssl.create_default_context(cafile=self.ca)
        for tenant in tenants:
            request = urllib.request.Request(
                f"https://127.0.0.1:{self.haproxy.port}/v1/recipients", method="POST",
                headers={"authorization": tenant["auth"], "content-type": "application/json"},
                data=json.dumps({"type": "business", "name": "PT Sumber Makmur Uji",
                                 "country": "ID", "bank_account": {
                                     "account_number": "1234567890", "bank_code": "014"}}).encode(),
            )
            with urllib.request.urlopen(request, context=context, timeout=30) as r:
                tenant["recipient"] = json.loads(r.read())["id"]
        self.sink = WebhookSink(self.webhooks_path)
        for n, tenant in enumerate(tenants):
            request = urllib.request.Request(
                f"https://127.0.0.1:{self.haproxy.port}/v1/webhook-endpoints", method="POST",
                headers={"authorization": tenant["auth"], "content-type": "application/json"},
                data=json.dumps({"url": f"http://127.0.0.1:{self.sink.port}/hook/{n}",
                                 "event_types": self.args.webhook_events.split(",")}).encode(),
            )
            with urllib.request.urlopen(request, context=context, timeout=30) as r:
                r.read()
        with open(self.tenants_path, "w") as f:
            json.dump([{k: t[k] for k in ("id", "funding_minor")} for t in tenants], f)
        self.tenants = tenants

    def skew(self):
        return self.rng.randint(-MAX_SKEW_SECS, MAX_SKEW_SECS) if self.args.skew else 0

    # -- faults ---------------------------------------------------------------------------

    def kill_cycle(self):
        instance = self.rng.choice(self.instances)
        log(f"kill -9 benteng {instance.index}")
        instance.kill9()
        self.count("kill -9")
        time.sleep(self.rng.uniform(0.5, 2.0))
        instance.start(self.skew(), self.ca)
        self.count("clock skew (restart)" if instance.skew else "restart without skew")

    def store_fault(self, fault):
        log(fault)
        self.count(fault)
        match fault:
            case "postgres restart fast":
                self.postgres.restart("fast")
            case "postgres restart immediate":
                self.postgres.restart("immediate")
            case "redis restart":
                self.redis.restart(flush=False)
            case "redis flush and restart":
                self.redis.restart(flush=True)
            case "postgres latency 300 ms" | "redis latency 200 ms":
                proxy = self.proxies[fault.split()[0]]
                proxy.command(f"latency {fault.split()[2]}")
                time.sleep(4)
                proxy.command("clear")
            case "postgres connections dropped" | "redis connections dropped":
                self.proxies[fault.split()[0]].command("drop")
            case "postgres partition 2 s" | "redis partition 2 s":
                proxy = self.proxies[fault.split()[0]]
                proxy.command("refuse 2")
                proxy.command("drop")
                time.sleep(2)
            case _:
                raise ValueError(fault)

    def schedule(self):
        store = ["postgres restart fast", "postgres restart immediate", "redis restart",
                 "redis flush and restart", "postgres latency 300 ms", "redis latency 200 ms",
                 "postgres connections dropped", "redis connections dropped",
                 "postgres partition 2 s", "redis partition 2 s"]
        faults = ["kill"] * self.args.kills
        rounds = max(1, self.args.kills // 25)
        for _ in range(rounds):
            faults += store
        # The flush happens once; the other store faults once per round.
        faults = [f for f in faults if f != "redis flush and restart"] + ["redis flush and restart"]
        self.rng.shuffle(faults)
        return faults

    def run(self):
        self.set_up()
        host, port = "127.0.0.1", self.haproxy.port
        history = History(self.history_path)
        load = LoadGenerator(host, port, self.ca, self.tenants, history,
                             workers=self.args.workers, seed=self.args.seed)
        started = time.time()
        load.start()
        time.sleep(self.args.warmup)
        faults = self.schedule()
        log(f"{len(faults)} faults over about {self.args.duration} s")
        gap = self.args.duration / max(1, len(faults))
        for fault in faults:
            begun = time.time()
            if fault == "kill":
                self.kill_cycle()
            else:
                self.store_fault(fault)
            time.sleep(max(0.0, gap - (time.time() - begun)))
            log(f"  requests {load.sent}, unsettled {load.pending()}")
        for proxy in self.proxies.values():
            proxy.command("clear")
        time.sleep(self.args.warmup)
        log("faults over: settling the indeterminate requests with their keys")
        left = load.finish(resolve_within=self.args.resolve)
        history.close()
        self.run_seconds = time.time() - started
        log(f"load over after {self.run_seconds:.0f} s: {load.sent} requests, {left} unsettled")
        self.drain_webhooks()
        for instance in self.instances:
            instance.stop()
        self.haproxy.stop()
        return self.check()

    def drain_webhooks(self):
        """Lets the instances deliver what is pending (a killed worker's claims lapse first):
        while the backlog shrinks, for at most --drain seconds."""
        started = time.time()
        best, best_at = None, started
        while True:
            pending = int(Postgres.psql(
                self.postgres.url, "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'"))
            if best is None or pending < best:
                best, best_at = pending, time.time()
            if pending == 0 or time.time() - started > self.args.drain \
                    or time.time() - best_at > 60:
                break
            time.sleep(1)
        self.drain_seconds = time.time() - started
        log(f"webhook deliveries pending after {self.drain_seconds:.0f} s of draining: {pending}")

    # -- judgement ------------------------------------------------------------------------

    def checker(self, db_url, webhooks=None):
        env = dict(self.env, BENTENG_DATABASE__URL=db_url,
                   BENTENG_CACHE__URL=f"redis://127.0.0.1:{self.redis.port}")
        done = subprocess.run(
            [sys.executable, "-B", os.path.join(HERE, "check.py"), "--history", self.history_path,
             "--tenants", self.tenants_path, "--db", db_url, "--bin", self.args.bin,
             "--webhooks", webhooks or self.webhooks_path],
            env=env, capture_output=True, text=True, timeout=1200,
        )
        return done.returncode, done.stdout + done.stderr

    def check(self):
        code, output = self.checker(self.postgres.url)
        print(output, end="")
        faults = " | ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        print(f"FAULTS | total {sum(self.faults.values())} | {faults} | load and faults "
              f"{self.run_seconds:.0f} s | webhook drain {self.drain_seconds:.0f} s |")
        if code != 0:
            return code
        if self.args.negative_controls:
            return self.negative_controls()
        return 0

    def broken_copy(self, name, sql):
        admin = self.postgres.admin_url
        Postgres.psql(admin, f"CREATE DATABASE {name} TEMPLATE benteng")
        url = f"postgres://postgres@127.0.0.1:{self.postgres.port}/{name}"
        # Replica mode turns off the foreign keys and the audit triggers for this session.
        Postgres.psql(url, f"SET session_replication_role = replica; {sql}")
        return url

    def negative_controls(self):
        acked = None
        with open(self.history_path) as f:
            for line in f:
                record = json.loads(line)
                body = record.get("body")
                if record["kind"] == "attempt" and record.get("status") == 201 \
                        and isinstance(body, dict) and "id" in body and "items" not in body:
                    acked = body["id"]
                    break
        if acked is None:
            log("negative controls: no acknowledged transfer to break")
            return 1
        controls = {
            "lost": self.broken_copy(
                "broken_lost", f"DELETE FROM transfers WHERE id = '{acked}'"),
            "duplicated": self.broken_copy(
                "broken_duplicated",
                "INSERT INTO transfers (id, tenant_id, quote_id, recipient_id, batch_id, "
                "source_currency, source_amount, target_currency, target_amount, fee_amount, "
                "reference, status, risk_score, rail, created_at, updated_at, environment) "
                "SELECT gen_random_uuid()::text, tenant_id, gen_random_uuid()::text, "
                "recipient_id, batch_id, source_currency, source_amount, target_currency, "
                "target_amount, fee_amount, reference, status, risk_score, rail, created_at, "
                f"updated_at, environment FROM transfers WHERE id = '{acked}'"),
        }
        # A receiver's record missing one delivery (the first transfer event it got).
        missing_delivery = os.path.join(self.work, "webhooks-one-missing.jsonl")
        with open(self.webhooks_path) as src, open(missing_delivery, "w") as dst:
            dropped = None
            for line in src:
                if dropped is None and '"transfer.' in line:
                    dropped = json.loads(line)["event_id"]
                    continue
                if dropped is not None and dropped in line:
                    continue
                dst.write(line)
        status = 0
        runs = [(what, url, None) for what, url in controls.items()]
        runs.append(("undelivered", self.postgres.url, missing_delivery))
        for what, url, webhooks in runs:
            code, output = self.checker(url, webhooks)
            line = next((l for l in output.splitlines() if l.startswith("CHECK |")), "")
            counted = f"| {what} 1 |" in line or f" {what} 1 " in line
            verdict = "ok" if code != 0 and counted else "NOT CAUGHT"
            print(f"NEGATIVE CONTROL | {what}: one broken record | checker exit {code} | {verdict} |")
            if verdict != "ok":
                print(output)
                status = 1
        return status

    def tear_down(self, keep):
        if self.sink:
            self.sink.stop()
        for instance in self.instances:
            instance.kill9()
        if self.haproxy:
            self.haproxy.stop()
        for proxy in self.proxies.values():
            proxy.stop()
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.stop("immediate")
        if keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--duration", type=int, default=90, help="seconds of faults")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--resolve", type=float, default=120,
                        help="seconds to settle indeterminate requests after the faults")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-skew", dest="skew", action="store_false")
    parser.add_argument("--webhook-events", default="*",
                        help="event types the tenants' endpoints subscribe to (comma list)")
    parser.add_argument("--drain", type=float, default=300,
                        help="at most this many seconds for pending webhook deliveries")
    parser.add_argument("--negative-controls", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    log(f"seed {args.seed}")
    suite = Suite(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    status = 1
    try:
        status = suite.run()
    finally:
        suite.tear_down(keep=args.keep or status != 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
