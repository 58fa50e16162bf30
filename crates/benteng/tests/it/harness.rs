//! The test harness: the real application on port 0, against a fresh SQLite file or a fresh
//! PostgreSQL database plus a private Redis namespace, so every scenario runs on both backends.

use std::net::SocketAddr;
use std::path::PathBuf;
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
        let namespace = format!("bt_{}", uuid::Uuid::new_v4().simple());
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
        ]
    }

    pub async fn services(&self) -> Services {
        Services::connect(self.config()).await.expect("services")
    }
}

/// A running in-process server and what tests need to drive it.
pub struct TestApp {
    /// Kept for its lifetime: the temp dir goes when the app does.
    _env: Environment,
    pub services: Services,
    pub address: SocketAddr,
    pub client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_in(Environment::new(backend).await).await
    }

    /// The server on an environment the test prepared (e.g. with the CLI).
    pub async fn spawn_in(env: Environment) -> Self {
        let services = env.services().await;
        let server = Server::bind(&services).await.expect("bind");
        let address = server.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self {
            _env: env,
            services,
            address,
            client: client(),
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    #[allow(dead_code)]
    pub fn env(&self) -> &Environment {
        &self._env
    }

    pub async fn tenant(&self, tier: Tier) -> Tenant {
        let tenant = Tenant::new(
            "PT Contoh Ekspor".parse().expect("name"),
            tier,
            time::OffsetDateTime::now_utc(),
        );
        self.services
            .store
            .insert_tenant(&tenant)
            .await
            .expect("tenant");
        tenant
    }

    pub async fn key(&self, tenant: TenantId) -> String {
        self.services
            .api_keys
            .issue(tenant, KeyEnvironment::Live, None)
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

    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("request")
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A separate `benteng` process: the real binary, as an operator runs it.
pub struct Process {
    /// Killed when dropped.
    _child: tokio::process::Child,
    pub address: SocketAddr,
}

impl Process {
    pub async fn serve(env: &Environment) -> Self {
        let mut child = command(env)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn benteng");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if event["message"] == "listening"
                    && let Some(address) = event["address"].as_str()
                {
                    return address.parse::<SocketAddr>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("benteng reported its address");
        // Keep draining stderr so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            _child: child,
            address,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
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

/// Runs a CLI command to completion: (exit success, stdout, stderr).
pub async fn cli(env: &Environment, args: &[&str]) -> (bool, String, String) {
    let output = command(env).args(args).output().await.expect("run benteng");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[allow(dead_code)]
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
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
