//! The test harness: the real application on port 0, against a fresh SQLite file or a fresh
//! PostgreSQL database plus a private Redis namespace, so every scenario runs on both backends.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use benteng::{Config, Server, Services};
use benteng_core::api_key::KeyEnvironment;
use benteng_core::ids::TenantId;
use benteng_core::tenant::{Tenant, Tier};
use benteng_crypto::ExposeSecret;
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// PostgreSQL and Redis of the test environment (`scripts/test` sets these).
pub fn postgres_admin_url() -> String {
    std::env::var("BENTENG_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("BENTENG_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A shared secret for API-key hashes, the same for every instance of one test.
const TEST_KEY_SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// A fresh, empty database (or file) and cache namespace for one test.
pub struct Environment {
    pub data_dir: tempfile::TempDir,
    pub database_url: String,
    pub cache_url: String,
    pub namespace: String,
}

impl Environment {
    pub async fn new(backend: Backend) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        // The test process's id in the name, so `scripts/test` can tell a database whose test
        // is gone from one a concurrent run is still using.
        let namespace = format!(
            "bt_{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let (database_url, cache_url) =
            match backend {
                Backend::Sqlite => (
                    format!(
                        "sqlite://{}",
                        data_dir.path().join("benteng.sqlite").display()
                    ),
                    "memory://".to_owned(),
                ),
                Backend::Postgres => {
                    let admin = postgres_admin_url();
                    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for the tests ({admin}): {e}; run scripts/test")
                });
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {namespace}")))
                        .execute(&mut conn)
                        .await
                        .expect("create test database");
                    let (base, _) = admin.rsplit_once('/').expect("database URL has a path");
                    (format!("{base}/{namespace}"), redis_url())
                }
            };
        Self {
            data_dir,
            database_url,
            cache_url,
            namespace,
        }
    }

    fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    pub fn config(&self) -> Config {
        let mut config = Config {
            data_dir: self.data_dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database.url = self.database_url.clone();
        config.database.max_connections = 8;
        config.cache.url = self.cache_url.clone();
        config.cache.namespace = self.namespace.clone();
        config.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        config.server.shutdown_grace_secs = 1;
        config.auth.api_key_secret = Some(TEST_KEY_SECRET.to_owned().into());
        config.rail.sandbox_settle_after_ms = 200;
        config.rail.poll_interval_ms = 50;
        config
    }

    /// The same settings as environment variables, for a separate `benteng` process.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "BENTENG_DATA_DIR",
                self.data_dir.path().display().to_string(),
            ),
            ("BENTENG_DATABASE__URL", self.database_url.clone()),
            ("BENTENG_CACHE__URL", self.cache_url.clone()),
            ("BENTENG_CACHE__NAMESPACE", self.namespace.clone()),
            ("BENTENG_SERVER__BIND", "127.0.0.1:0".to_owned()),
            ("BENTENG_AUTH__API_KEY_SECRET", TEST_KEY_SECRET.to_owned()),
            ("BENTENG_LOG__LEVEL", "info".to_owned()),
            ("BENTENG_RAIL__SANDBOX_SETTLE_AFTER_MS", "200".to_owned()),
            ("BENTENG_RAIL__POLL_INTERVAL_MS", "50".to_owned()),
        ]
    }

    pub async fn services_with(&self, customize: impl FnOnce(&mut Config)) -> Services {
        let mut config = self.config();
        customize(&mut config);
        Services::connect(config).await.expect("services")
    }

    /// The development certificates the server creates on first start (no `server.tls`).
    pub fn dev_certs(&self) -> benteng_transport::DevCertPaths {
        benteng_transport::DevCertPaths::in_dir(&self.data_dir.path().join("tls"))
    }

    /// A client trusting only this environment's dev CA (the server must have started once).
    pub fn client(&self) -> reqwest::Client {
        client_builder(&self.dev_certs().ca_cert)
            .build()
            .expect("client")
    }

    /// A client trusting the dev CA and presenting `identity` (PEM certificate + key).
    pub fn client_with_identity(&self, cert: &Path, key: &Path) -> reqwest::Client {
        let mut pem = std::fs::read(cert).expect("client certificate");
        pem.extend(std::fs::read(key).expect("client key"));
        client_builder(&self.dev_certs().ca_cert)
            .identity(reqwest::Identity::from_pem(&pem).expect("identity"))
            .build()
            .expect("client")
    }
}

impl Drop for Environment {
    /// The test's PostgreSQL database goes with it, whatever still holds a connection (`WITH
    /// (FORCE)`); a SQLite file goes with the temp dir. Drop runs inside the test's runtime, so
    /// the statement runs on a thread of its own. Never panics: a failure is reported and left
    /// to `scripts/test`'s sweep.
    fn drop(&mut self) {
        if !self.is_postgres() {
            return;
        }
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.namespace);
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("test database {} not dropped: {error}", self.namespace),
            Err(_) => eprintln!("test database {} not dropped: panicked", self.namespace),
        }
    }
}

/// Every in-process server screens against at least this list, as production does: with no list
/// loaded the compliance step holds every transfer for review (it cannot fail open). One
/// fictitious entry, so ordinary test names are approved.
async fn load_baseline_list(services: &Services) {
    let csv = format!(
        "{}\nT-1,Fictitious Baseline Entry,person,,1970-01-01,,,,TEST\n",
        benteng_screening::GENERIC_CSV_HEADER
    );
    let source: benteng_screening::ListSource = "generic:test-baseline".parse().expect("source");
    let list = benteng_screening::parse_list(&source, csv.as_bytes()).expect("baseline list");
    let context = benteng_core::audit::AuditContext::system("test");
    benteng_compliance::lists::store_list(&services.store, list, &context)
        .await
        .expect("store baseline list");
}

/// A running in-process server and what tests need to drive it.
pub struct TestApp {
    /// Kept for its lifetime: the temp dir goes when the app does.
    pub env: Environment,
    pub services: Services,
    pub address: SocketAddr,
    pub client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// The server on an environment the test prepared (e.g. with the CLI).
    pub async fn spawn_in(env: Environment) -> Self {
        Self::serve(env, |_| {}).await
    }

    /// The server on an environment the test prepared, with adjusted configuration.
    pub async fn spawn_in_with(env: Environment, customize: impl FnOnce(&mut Config)) -> Self {
        Self::serve(env, customize).await
    }

    /// A server with adjusted configuration.
    pub async fn spawn_with(backend: Backend, customize: impl FnOnce(&mut Config)) -> Self {
        Self::serve(Environment::new(backend).await, customize).await
    }

    /// A server whose clock the test holds (and moves).
    pub async fn spawn_with_clock(
        backend: Backend,
        customize: impl FnOnce(&mut Config),
        clock: std::sync::Arc<dyn benteng_core::clock::Clock>,
    ) -> Self {
        Self::serve_clocked(Environment::new(backend).await, customize, Some(clock)).await
    }

    async fn serve(env: Environment, customize: impl FnOnce(&mut Config)) -> Self {
        Self::serve_clocked(env, customize, None).await
    }

    async fn serve_clocked(
        env: Environment,
        customize: impl FnOnce(&mut Config),
        clock: Option<std::sync::Arc<dyn benteng_core::clock::Clock>>,
    ) -> Self {
        let mut services = env.services_with(customize).await;
        if let Some(clock) = clock {
            services.clock = clock;
        }
        load_baseline_list(&services).await;
        let server = Server::bind(&services).await.expect("bind");
        let address = server.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let client = env.client();
        Self {
            env,
            services,
            address,
            client,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.address, path)
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.env.data_dir.path()
    }

    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// A raw connection to the app's database, for tests that play the attacker.
    pub async fn raw_sql(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.env.database_url)
            .await
            .expect("raw connection")
    }

    pub async fn tenant(&self, tier: Tier) -> Tenant {
        let tenant = Tenant::new(
            "PT Contoh Ekspor".parse().expect("name"),
            tier,
            time::OffsetDateTime::now_utc(),
        );
        self.services
            .store
            .insert_tenant(&tenant, &benteng_core::audit::AuditContext::system("test"))
            .await
            .expect("tenant");
        // Verified as far as KYC goes, so its volume is bounded only by what a test sets up.
        self.set_kyc_level(tenant.id, benteng_core::kyc::KycLevel::Enhanced)
            .await;
        tenant
    }

    /// Sets a tenant's KYC level as an operator would (audited).
    pub async fn set_kyc_level(&self, tenant: TenantId, level: benteng_core::kyc::KycLevel) {
        self.services
            .operations()
            .set_kyc_level(
                tenant,
                level,
                &benteng_core::audit::AuditContext::system("test"),
            )
            .await
            .expect("KYC level");
    }

    pub async fn key(&self, tenant: TenantId) -> String {
        self.key_in(tenant, KeyEnvironment::Live).await
    }

    /// A key of the tenant's live or test environment (`sk_live_…`, `sk_test_…`).
    pub async fn key_in(&self, tenant: TenantId, environment: KeyEnvironment) -> String {
        self.issue_key(
            tenant,
            environment,
            benteng_core::scopes::Scopes::all(),
            benteng_core::network::NetworkAllowList::any(),
        )
        .await
    }

    /// A live key carrying only `scopes`.
    pub async fn key_with_scopes(
        &self,
        tenant: TenantId,
        scopes: benteng_core::scopes::Scopes,
    ) -> String {
        self.issue_key(
            tenant,
            KeyEnvironment::Live,
            scopes,
            benteng_core::network::NetworkAllowList::any(),
        )
        .await
    }

    /// A live key with every scope, usable only from `networks` (e.g. `"10.0.0.0/8"`).
    pub async fn key_with_networks(&self, tenant: TenantId, networks: &str) -> String {
        self.issue_key(
            tenant,
            KeyEnvironment::Live,
            benteng_core::scopes::Scopes::all(),
            networks.parse().expect("networks"),
        )
        .await
    }

    async fn issue_key(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        scopes: benteng_core::scopes::Scopes,
        networks: benteng_core::network::NetworkAllowList,
    ) -> String {
        self.services
            .api_keys
            .issue(
                tenant,
                environment,
                None,
                scopes,
                networks,
                &benteng_core::audit::AuditContext::system("test"),
            )
            .await
            .expect("key")
            .key
            .expose_secret()
            .to_owned()
    }

    /// A tenant with a live key.
    pub async fn tenant_with_key(&self) -> (Tenant, String) {
        let tenant = self.tenant(Tier::Growth).await;
        let key = self.key(tenant.id).await;
        (tenant, key)
    }

    pub async fn post_json(
        &self,
        path: &str,
        key: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        // Money-moving routes demand an idempotency key, as every client must send one.
        self.client
            .post(self.url(path))
            .bearer_auth(key)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("request")
    }
}

/// HTTPS only, trusting nothing but the CA in `ca` (no system or built-in roots).
pub fn client_builder(ca: &Path) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).expect("dev CA")).expect("CA");
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .https_only(true)
        .tls_certs_only([ca])
}

/// A separate `benteng` process: the real binary, as an operator runs it.
pub struct Process {
    /// Killed when dropped.
    child: tokio::process::Child,
    /// The default listener's address.
    pub address: SocketAddr,
    /// Every listener's address, in the order the server reported them (the default first).
    pub addresses: Vec<SocketAddr>,
    /// Every log line the process wrote, kept for tests that read the logs.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Process {
    pub async fn serve(env: &Environment) -> Self {
        Self::serve_with(env, &[]).await
    }

    /// Like `serve`, with extra environment variables (e.g. `BENTENG_SERVER__PLAINTEXT`).
    pub async fn serve_with(env: &Environment, extra: &[(&str, &str)]) -> Self {
        Self::serve_listeners(env, extra, 1).await
    }

    /// Like `serve_with`, for a configuration with `listeners` listeners: returns once every
    /// one of them reported its address.
    pub async fn serve_listeners(
        env: &Environment,
        extra: &[(&str, &str)],
        listeners: usize,
    ) -> Self {
        let mut serve = command(env);
        serve.envs(extra.iter().copied()).arg("serve");
        Self::start(serve, listeners).await
    }

    /// Runs `serve_command` (a `benteng serve` set up by the caller: its environment, its
    /// working directory) and returns once it reported `listeners` listening addresses.
    pub async fn start(mut serve_command: tokio::process::Command, listeners: usize) -> Self {
        let mut child = serve_command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn benteng");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = logs.clone();
        let addresses = tokio::time::timeout(Duration::from_secs(60), async {
            let mut addresses = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                seen.lock().unwrap().push(line.clone());
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if event["message"] == "listening"
                    && let Some(address) = event["address"].as_str()
                {
                    addresses.push(address.parse::<SocketAddr>().ok()?);
                    if addresses.len() == listeners {
                        return Some(addresses);
                    }
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            panic!(
                "benteng did not report {listeners} listening address(es): {:#?}",
                logs.lock().unwrap()
            )
        });
        // Keep draining stderr so the child never blocks on a full pipe.
        let seen = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                seen.lock().unwrap().push(line);
            }
        });
        Self {
            child,
            address: addresses[0],
            addresses,
            logs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.address, path)
    }

    /// `kill -9`: SIGKILL, no chance to finish anything; returns once the process is gone.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("SIGKILL benteng");
    }
}

/// `benteng` with the environment's settings, for CLI and server processes.
pub fn command(env: &Environment) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_benteng"));
    command.env_clear();
    command.env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in env.env_vars() {
        command.env(name, value);
    }
    command
}

/// Runs a CLI command with `input` on its standard input: (exit success, stdout bytes, stderr).
pub async fn cli_with_input(
    env: &Environment,
    args: &[&str],
    input: &[u8],
) -> (bool, Vec<u8>, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = command(env)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run benteng");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).await.expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().await.expect("benteng output");
    (
        output.status.success(),
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Like `cli`, with extra environment variables.
pub async fn cli_with_env(
    env: &Environment,
    extra: &[(&str, &str)],
    args: &[&str],
) -> (bool, String, String) {
    let output = command(env)
        .envs(extra.iter().copied())
        .args(args)
        .output()
        .await
        .expect("run benteng");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs a CLI command to completion: (exit success, stdout, stderr).
pub async fn cli(env: &Environment, args: &[&str]) -> (bool, String, String) {
    let output = command(env).args(args).output().await.expect("run benteng");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs an outside verifier: the Python `script` written into `dir`, given the path of each
/// input, written beside it as JSON, in order: (exit success, what it printed).
pub async fn run_python(
    dir: &Path,
    script: &str,
    inputs: &[(&str, &serde_json::Value)],
) -> (bool, String) {
    let script_path = dir.join("verify.py");
    std::fs::write(&script_path, script).expect("write the script");
    let mut command = tokio::process::Command::new("python3");
    command.arg(&script_path);
    for (name, value) in inputs {
        let path = dir.join(name);
        std::fs::write(&path, value.to_string()).expect("write an input");
        command.arg(path);
    }
    let output = command
        .output()
        .await
        .expect("python3 with jwcrypto and cryptography (scripts/test installs them)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

#[allow(dead_code)]
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file or directory of the shared test data, `shared/testdata/{relative}` beside the
/// repository (or beside a directory holding it, such as a worktree's parent): found from this
/// crate's manifest directory upwards, never from an absolute path.
pub fn shared_testdata(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/testdata").join(relative))
        .find(|candidate| candidate.exists())
        .unwrap_or_else(|| panic!("shared/testdata/{relative} beside the repository"))
}

/// Whether PostgreSQL holds a database named `name`.
async fn database_exists(name: &str) -> bool {
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .expect("PostgreSQL");
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("pg_database");
    count == 1
}

/// A test's database is named after its process and goes when its environment does, even with
/// a server still connected to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_drops_its_database() {
    let env = Environment::new(Backend::Postgres).await;
    let name = env.namespace.clone();
    assert!(
        name.starts_with(&format!("bt_{}_", std::process::id())),
        "{name}"
    );
    let services = env.services_with(|_| {}).await;
    assert!(database_exists(&name).await);
    drop(env);
    assert!(!database_exists(&name).await, "{name} is still there");
    drop(services);
}

/// A private Redis a test may stop and restart. The cache URL is TCP (`redis://`), so a port is
/// only a candidate until the server proves it owns it: ready means `INFO server` on that port
/// answers with this child's process id (a protocol answer, not a TCP accept); a first start
/// whose port was taken meanwhile tries another. Killed when dropped.
pub struct PrivateRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .expect("a free port")
                .local_addr()
                .expect("its address")
                .port();
            let mut redis = Self { port, child: None };
            if redis.launch().await {
                return redis;
            }
        }
        panic!("no private Redis could own a port");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts Redis again on its port (empty: nothing is saved).
    pub async fn restart(&mut self) {
        assert!(
            self.launch().await,
            "port {} was taken while the private Redis was stopped",
            self.port
        );
    }

    /// Kills Redis (SIGKILL) and returns once nothing answers on its port.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill the private Redis");
        }
        assert_eq!(
            redis_process_id(self.port).await,
            None,
            "Redis still answers"
        );
    }

    /// Spawns redis-server on the port; whether it came up there (it exits if it cannot bind).
    async fn launch(&mut self) -> bool {
        let mut child = tokio::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        let pid = child.id().expect("a running child");
        for _ in 0..400 {
            if child.try_wait().expect("child status").is_some() {
                return false;
            }
            if redis_process_id(self.port).await == Some(pid) {
                self.child = Some(child);
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the private Redis never answered on port {}", self.port);
    }
}

/// The process id of whichever Redis answers on `port`, if one does.
async fn redis_process_id(port: u16) -> Option<u32> {
    let output = tokio::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "INFO", "server"])
        .output()
        .await
        .expect("redis-cli is installed (scripts/test installs redis-tools)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.trim().strip_prefix("process_id:")?.parse().ok())
}

/// Runs the scenario `$body` (an async fn taking `Backend`) once per backend.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::harness::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(crate::harness::Backend::Postgres).await;
                }
            }
        )+
    };
}
pub(crate) use on_both_backends;
