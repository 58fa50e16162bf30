//! benteng on PostgreSQL and Redis over verified TLS (issue 21): a private PostgreSQL cluster
//! with `ssl=on` that admits only TLS connections presenting a client certificate
//! (`hostssl … clientcert=verify-ca`, no plaintext line), and a Redis with a TLS port only
//! (`--port 0`, client certificates required). Both servers' certificates come from the dev
//! PKI the benteng listener uses (`generate_dev_certs`: a dev CA, a server certificate for
//! localhost/127.0.0.1, a client certificate), so one CA is trusted everywhere. Plus the
//! start-up refusal of plaintext links off the host.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use benteng_transport::DevCertPaths;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::harness::{Backend, Environment, Process, cli_with_env, command};

/// The newest PostgreSQL's programs (`initdb`, `pg_ctl`).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/test installs it)")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let version = path.file_name()?.to_str()?.parse().ok()?;
            Some((version, path.join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version").1
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Whether this process runs as root: PostgreSQL refuses to, so its programs then run as the
/// `postgres` user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").expect("/proc/self").uid() == 0
}

/// A PostgreSQL cluster of its own under a temp dir: `ssl=on` with the dev PKI's server
/// certificate, TLS connections with a client certificate signed by the dev CA only. Stopped
/// (immediate) when dropped.
struct TlsPostgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

impl TlsPostgres {
    async fn start(root: &Path, pki: &DevCertPaths) -> Self {
        let dir = root.join("pg");
        std::fs::create_dir(&dir).expect("cluster dir");
        let mut postgres = Self {
            dir,
            port: 0,
            bin: postgres_bin(),
            as_postgres: running_as_root(),
        };
        if postgres.as_postgres {
            run(&["chown", "postgres:postgres", path(&postgres.dir)]).await;
        }
        postgres
            .run(&[
                path(&postgres.bin.join("initdb")),
                "-D",
                path(&postgres.dir),
                "-A",
                "trust",
                "-U",
                "postgres",
            ])
            .await;
        for (from, to, mode) in [
            (&pki.server_cert, "server.pem", "644"),
            (&pki.server_key, "server.key", "600"),
            (&pki.ca_cert, "ca.pem", "644"),
        ] {
            let to = postgres.dir.join(to);
            let mut install = vec!["install", "-m", mode];
            if postgres.as_postgres {
                install.extend(["-o", "postgres", "-g", "postgres"]);
            }
            install.extend([path(from), path(&to)]);
            run(&install).await;
        }
        // No plaintext line: a connection without TLS, or without a client certificate the
        // dev CA signed, finds no entry and is refused.
        std::fs::write(
            postgres.dir.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n",
        )
        .expect("pg_hba.conf");
        for _ in 0..5 {
            postgres.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c ssl=on \
                 -c ssl_cert_file=server.pem -c ssl_key_file=server.key -c ssl_ca_file=ca.pem \
                 -c fsync=off -c max_connections=100",
                postgres.port,
                postgres.dir.display()
            );
            let log = postgres.dir.join("log");
            let started = postgres
                .try_run(&[
                    path(&postgres.bin.join("pg_ctl")),
                    "-D",
                    path(&postgres.dir),
                    "-l",
                    path(&log),
                    "-o",
                    &options,
                    "-w",
                    "start",
                ])
                .await;
            if started {
                return postgres;
            }
        }
        panic!(
            "the TLS PostgreSQL did not start: {}",
            std::fs::read_to_string(postgres.dir.join("log")).unwrap_or_default()
        );
    }

    /// The URL of `database` as benteng is given it: verified TLS, the files in `database.tls`.
    fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=verify-full",
            self.port
        )
    }

    async fn try_run(&self, command: &[&str]) -> bool {
        let mut full: Vec<&str> = Vec::new();
        if self.as_postgres {
            full.extend(["runuser", "-u", "postgres", "--"]);
        }
        full.extend(command);
        status(&full).await
    }

    async fn run(&self, command: &[&str]) {
        assert!(self.try_run(command).await, "{command:?} failed");
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            std::process::Command::new(pg_ctl)
        };
        let _ = command
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A Redis with a TLS port only (`--port 0`), the dev PKI's server certificate, client
/// certificates required (Redis's default with a CA). Killed when dropped.
struct TlsRedis {
    port: u16,
    _child: tokio::process::Child,
}

impl TlsRedis {
    async fn start(root: &Path, pki: &DevCertPaths) -> Self {
        for _ in 0..10 {
            let port = free_port();
            let mut child = tokio::process::Command::new("redis-server")
                .args(["--port", "0", "--tls-port", &port.to_string()])
                .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(root)
                .arg("--tls-cert-file")
                .arg(&pki.server_cert)
                .arg("--tls-key-file")
                .arg(&pki.server_key)
                .arg("--tls-ca-cert-file")
                .arg(&pki.ca_cert)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("redis-server is installed (scripts/test installs it)");
            let pid = child.id().expect("a running child");
            for _ in 0..400 {
                if child.try_wait().expect("child status").is_some() {
                    break;
                }
                // Ours when INFO over TLS, with the dev client certificate, names our child.
                if tls_redis_process_id(port, pki).await == Some(pid) {
                    return Self {
                        port,
                        _child: child,
                    };
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        panic!("the TLS Redis never answered");
    }

    fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }
}

async fn tls_redis_process_id(port: u16, pki: &DevCertPaths) -> Option<u32> {
    let output = tokio::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--tls"])
        .arg("--cacert")
        .arg(&pki.ca_cert)
        .arg("--cert")
        .arg(&pki.client_cert)
        .arg("--key")
        .arg(&pki.client_key)
        .args(["INFO", "server"])
        .output()
        .await
        .expect("redis-cli is installed (scripts/test installs redis-tools)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.trim().strip_prefix("process_id:")?.parse().ok())
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp paths")
}

async fn status(command: &[&str]) -> bool {
    tokio::process::Command::new(command[0])
        .args(&command[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .expect("run a command")
        .success()
}

async fn run(command: &[&str]) {
    assert!(status(command).await, "{command:?} failed");
}

/// Both stores over TLS and an environment on them: a fresh database in the private cluster,
/// the dev PKI in the data dir (so benteng's own listener uses the same dev CA).
struct TlsStores {
    postgres: TlsPostgres,
    redis: TlsRedis,
    env: Environment,
    pki: DevCertPaths,
    // Last: the servers are stopped before their directory goes.
    _root: tempfile::TempDir,
}

impl TlsStores {
    async fn start() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        if running_as_root() {
            // The postgres user must reach its cluster under the temp dir.
            run(&["chmod", "755", path(root.path())]).await;
        }
        let data_dir = tempfile::tempdir().expect("data dir");
        let pki =
            benteng_transport::generate_dev_certs(&data_dir.path().join("tls")).expect("dev PKI");
        let postgres = TlsPostgres::start(root.path(), &pki).await;
        let redis = TlsRedis::start(root.path(), &pki).await;
        let namespace = format!(
            "bt_{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let admin = format!(
            "{}&sslrootcert={}&sslcert={}&sslkey={}",
            postgres.url("postgres"),
            pki.ca_cert.display(),
            pki.client_cert.display(),
            pki.client_key.display()
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("the TLS PostgreSQL over verified TLS");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {namespace}")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let env = Environment {
            data_dir,
            database_url: postgres.url(&namespace),
            cache_url: redis.url(),
            namespace,
        };
        Self {
            postgres,
            redis,
            env,
            pki,
            _root: root,
        }
    }

    /// `database.tls` and `cache.tls`: the dev CA, the dev client certificate and key.
    fn settings(&self) -> Vec<(String, String)> {
        self.settings_trusting(&self.pki.ca_cert)
    }

    fn settings_trusting(&self, ca: &Path) -> Vec<(String, String)> {
        let mut settings = Vec::new();
        for section in ["DATABASE", "CACHE"] {
            for (name, file) in [
                ("CA_FILE", ca),
                ("CERT_FILE", &self.pki.client_cert),
                ("KEY_FILE", &self.pki.client_key),
            ] {
                settings.push((
                    format!("BENTENG_{section}__TLS__{name}"),
                    file.display().to_string(),
                ));
            }
        }
        settings
    }

    async fn cli(&self, args: &[&str]) -> String {
        let settings = self.settings();
        let (ok, out, err) = cli_with_env(&self.env, &borrowed(&settings), args).await;
        assert!(ok, "benteng {args:?}: {err}");
        out.trim().to_owned()
    }

    async fn serve(&self) -> Process {
        Process::serve_with(&self.env, &borrowed(&self.settings())).await
    }

    /// The TLS state of every connection to the test database: (ssl, client DN).
    async fn connections(&self) -> Vec<(bool, Option<String>)> {
        let admin = format!(
            "{}&sslrootcert={}&sslcert={}&sslkey={}",
            self.postgres.url("postgres"),
            self.pki.ca_cert.display(),
            self.pki.client_cert.display(),
            self.pki.client_key.display()
        );
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("admin");
        sqlx::query_as(
            "SELECT s.ssl, s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a \
             ON a.pid = s.pid WHERE a.datname = $1",
        )
        .bind(&self.env.namespace)
        .fetch_all(&mut conn)
        .await
        .expect("pg_stat_ssl")
    }
}

fn borrowed(settings: &[(String, String)]) -> Vec<(&str, &str)> {
    settings
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// `benteng serve` that must not start: its standard error once it exits.
async fn refused_start(env: &Environment, settings: &[(&str, &str)]) -> String {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        command(env)
            .envs(settings.iter().copied())
            .arg("serve")
            .output(),
    )
    .await
    .expect("benteng serve exits")
    .expect("run benteng");
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "benteng started: {err}");
    err
}

async fn get(client: &reqwest::Client, url: &str, key: &str) -> reqwest::Response {
    client.get(url).bearer_auth(key).send().await.unwrap()
}

/// Polls until `key` is refused at `url`, at most a second after `since`.
async fn refused_within_a_second(client: &reqwest::Client, url: &str, key: &str, since: Instant) {
    loop {
        let status = get(client, url, key).await.status();
        if status == StatusCode::UNAUTHORIZED {
            return;
        }
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(
            since.elapsed() < Duration::from_secs(1),
            "{url} still accepts the revoked key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The done-when of issue 21's second item: two instances on PostgreSQL and Redis over
/// verified TLS, doing work that crosses both stores: a transfer made on one instance is
/// replayed by the other from its idempotency key and completed by a rail worker; a key revoked
/// from the CLI is refused by both within a second (Redis pub/sub over TLS). Every database
/// connection is TLS with the client certificate (`pg_stat_ssl`), and neither server has a
/// plaintext way in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_run_on_postgres_and_redis_over_verified_tls() {
    let stores = TlsStores::start().await;
    let un = crate::screening::un_list();
    stores
        .cli(&[
            "lists",
            "load",
            "--source",
            "un",
            "--path",
            &un,
            "--no-rescreen",
        ])
        .await;
    let tenant = stores
        .cli(&[
            "tenant",
            "create",
            "--name",
            "PT Dua Kali",
            "--tier",
            "enterprise",
        ])
        .await;
    stores.cli(&["kyc", "set-level", &tenant, "enhanced"]).await;
    stores
        .cli(&[
            "ledger",
            "fund",
            "--tenant",
            &tenant,
            "--currency",
            "USD",
            "--amount",
            "1000.00",
        ])
        .await;
    let key = stores.cli(&["apikey", "issue", "--tenant", &tenant]).await;
    let first = stores.serve().await;
    let second = stores.serve().await;
    let client = stores.env.client();

    let recipient: Value = client
        .post(first.url("/v1/recipients"))
        .bearer_auth(&key)
        .json(
            &json!({"type": "individual", "name": "Budi Santoso", "country": "DE",
            "bank_account": {"iban": "DE89370400440532013000"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let quote: Value = get(
        &client,
        &second.url("/v1/quotes?source_currency=USD&target_currency=EUR&source_amount=10.00"),
        &key,
    )
    .await
    .json()
    .await
    .unwrap();
    let idempotency_key = uuid::Uuid::new_v4().to_string();
    let body = json!({"quote_id": quote["id"], "recipient_id": recipient["id"],
        "amount": "10.00", "currency": "USD"});
    let pay = |process: &Process| {
        client
            .post(process.url("/v1/transfers"))
            .bearer_auth(&key)
            .header("x-idempotency-key", &idempotency_key)
            .json(&body)
            .send()
    };
    let made = pay(&first).await.unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let transfer: Value = made.json().await.unwrap();
    assert_eq!(transfer["status"], "APPROVED", "{transfer}");
    let replayed = pay(&second).await.unwrap();
    assert_eq!(replayed.status(), StatusCode::CREATED);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    let again: Value = replayed.json().await.unwrap();
    assert_eq!(again["id"], transfer["id"]);
    let id = transfer["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen: Value = get(&client, &first.url(&format!("/v1/transfers/{id}")), &key)
            .await
            .json()
            .await
            .unwrap();
        if seen["status"] == "COMPLETED" {
            break;
        }
        assert!(Instant::now() < deadline, "not completed: {seen}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Both instances know the key from their local caches; a revocation reaches both.
    for process in [&first, &second] {
        assert_eq!(
            get(&client, &process.url("/v1/tenant"), &key)
                .await
                .status(),
            StatusCode::OK
        );
    }
    let keys = stores.cli(&["apikey", "list", "--tenant", &tenant]).await;
    let key_id = keys
        .lines()
        .find(|line| line.contains(&key[..45]))
        .and_then(|line| line.split_whitespace().next())
        .unwrap()
        .to_owned();
    stores.cli(&["apikey", "revoke", &key_id]).await;
    let revoked = Instant::now();
    for process in [&first, &second] {
        refused_within_a_second(&client, &process.url("/v1/tenant"), &key, revoked).await;
    }

    let connections = stores.connections().await;
    assert!(connections.len() >= 2, "{connections:?}");
    for (ssl, client_dn) in &connections {
        assert!(*ssl, "a plaintext connection: {connections:?}");
        assert!(
            client_dn
                .as_deref()
                .is_some_and(|dn| dn.contains("benteng dev client")),
            "{connections:?}"
        );
    }
}

/// Negative controls on the same servers: benteng trusting another CA (a second dev PKI) fails
/// to start on either store, naming the store; plaintext to the TLS-only Redis or to the
/// hostssl-only PostgreSQL fails; PostgreSQL without the client certificate fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_or_plaintext_stops_the_start() {
    let stores = TlsStores::start().await;
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let other = benteng_transport::generate_dev_certs(elsewhere.path()).expect("another PKI");
    let right = stores.settings();
    let wrong = stores.settings_trusting(&other.ca_cert);
    let with = |section: &str, from: &[(String, String)], more: &[(&str, &str)]| {
        let mut settings: Vec<(String, String)> = right
            .iter()
            .filter(|(name, _)| !name.starts_with(&format!("BENTENG_{section}__")))
            .chain(
                from.iter()
                    .filter(|(name, _)| name.starts_with(&format!("BENTENG_{section}__"))),
            )
            .cloned()
            .collect();
        settings.extend(more.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        settings
    };

    let err = refused_start(&stores.env, &borrowed(&with("DATABASE", &wrong, &[]))).await;
    assert!(
        err.contains("connecting to the database") && err.contains("invalid peer certificate"),
        "{err}"
    );
    let err = refused_start(&stores.env, &borrowed(&with("CACHE", &wrong, &[]))).await;
    assert!(
        err.contains("connecting to the shared cache") && err.contains("invalid peer certificate"),
        "{err}"
    );

    let plaintext_redis = format!("redis://127.0.0.1:{}", stores.redis.port);
    let err = refused_start(
        &stores.env,
        &borrowed(&with(
            "CACHE",
            &[],
            &[("BENTENG_CACHE__URL", &plaintext_redis)],
        )),
    )
    .await;
    assert!(err.contains("connecting to the shared cache"), "{err}");

    let plaintext_postgres = stores
        .env
        .database_url
        .replace("sslmode=verify-full", "sslmode=disable");
    let err = refused_start(
        &stores.env,
        &borrowed(&with(
            "DATABASE",
            &[],
            &[("BENTENG_DATABASE__URL", &plaintext_postgres)],
        )),
    )
    .await;
    assert!(
        err.contains("connecting to the database") && err.contains("no encryption"),
        "{err}"
    );

    let ca_only = [(
        "BENTENG_DATABASE__TLS__CA_FILE".to_owned(),
        stores.pki.ca_cert.display().to_string(),
    )];
    let err = refused_start(&stores.env, &borrowed(&with("DATABASE", &ca_only, &[]))).await;
    assert!(err.contains("connecting to the database"), "{err}");

    // The control: with the right files the same environment starts.
    let started = Process::serve_with(&stores.env, &borrowed(&right)).await;
    drop(started);
}

/// Outside loopback a plaintext database or cache URL stops `benteng serve` before it connects,
/// naming the setting and the one that would allow it; allowing it logs a warning and goes on
/// to connect (here to a documentation address that never answers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_store_links_off_the_host_stop_the_start() {
    let env = Environment::new(Backend::Sqlite).await;
    for (settings, named) in [
        (
            vec![("BENTENG_DATABASE__URL", "postgres://app@192.0.2.10/benteng")],
            "database.url",
        ),
        (
            vec![(
                "BENTENG_DATABASE__URL",
                "postgres://app@db.example.invalid/benteng?sslmode=require",
            )],
            "database.url",
        ),
        (
            vec![("BENTENG_CACHE__URL", "redis://192.0.2.10:6379")],
            "cache.url",
        ),
    ] {
        let started = Instant::now();
        let err = refused_start(&env, &settings).await;
        let allow = named.replace(".url", ".allow_plaintext");
        assert!(
            err.contains(&format!("{named} reaches")) && err.contains(&allow),
            "{settings:?}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "refused only after trying to connect"
        );
    }
    let err = refused_start(
        &env,
        &[
            ("BENTENG_CACHE__URL", "redis://192.0.2.10:6379"),
            ("BENTENG_CACHE__ALLOW_PLAINTEXT", "true"),
        ],
    )
    .await;
    assert!(
        err.contains("WITHOUT verified TLS") && err.contains("connecting to the shared cache"),
        "{err}"
    );
}
