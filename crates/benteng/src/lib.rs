//! The benteng server's wiring: configuration in, a running application out. `main.rs` adds the
//! command line; integration tests build the same `App` in-process.

pub mod audit_anchor;
pub mod cli;
pub mod config;
pub mod data_protection;
pub mod iso20022;
pub mod listeners;
pub mod monitoring;
pub mod rates;
mod reload;
pub mod screening;
mod secrets;
mod store_links;
pub mod telemetry;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use benteng_api::{AppState, HttpLimits};
use benteng_auth::{ApiKeyAuthenticator, Authenticator, PeopleAuthenticator, SnapAuthenticator};
use benteng_core::clock::{Clock, SystemClock};
use benteng_payments::{Payments, PaymentsConfig};
use benteng_rails::{RailWorker, SandboxRail};
use benteng_shared_state::SharedStateHandle;
use benteng_store::{Store, StoreOptions};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub use config::Config;

/// The long-lived parts every command needs.
pub struct Services {
    pub config: Config,
    pub store: Store,
    pub shared: SharedStateHandle,
    pub api_keys: Arc<ApiKeyAuthenticator>,
    /// SNAP partners' tokens: verification and revocation (its caches are invalidated like the
    /// API keys').
    pub snap: Arc<SnapAuthenticator>,
    /// Staff: enrolment, sign-in and sessions (invalidated like the API keys' caches).
    pub people: Arc<PeopleAuthenticator>,
    /// The FAPI 2.0 authorization server (clients, PAR, consent, tokens, DPoP).
    pub fapi: Arc<benteng_auth::FapiServer>,
    pub protection: data_protection::DataProtection,
    /// The one clock the payment flow decides with (a test may hand in its own).
    pub clock: Arc<dyn Clock>,
}

impl Services {
    /// Connects to the database (applying migrations) and the shared state, as a server: an
    /// unreachable shared state fails the start.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        Self::open(config, true).await
    }

    /// The same for a command: an unreachable shared state is tolerated (with a warning), so
    /// revoking a key or ending a person's sessions works during a cache outage.
    pub async fn connect_for_command(config: Config) -> anyhow::Result<Self> {
        Self::open(config, false).await
    }

    async fn open(config: Config, for_server: bool) -> anyhow::Result<Self> {
        store_links::check(&config)?;
        let url = config.database_url();
        if url.starts_with("sqlite:") {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
        }
        let store = Store::connect(
            &url,
            &StoreOptions {
                max_connections: config.database.max_connections,
                tls: config.database.tls.clone(),
                ..StoreOptions::default()
            },
        )
        .await
        .context("connecting to the database")?;
        if config.database.migrate {
            store.migrate().await.context("applying migrations")?;
        } else {
            store
                .check_schema()
                .await
                .context("checking the database schema (database.migrate = false)")?;
        }
        let shared = match benteng_shared_state::open(
            &config.cache.url,
            &config.cache.namespace,
            &config.cache.tls,
        )
        .await
        {
            Ok(shared) => shared,
            // A command (not a server) still runs: containment must work during a cache outage.
            // It writes the store, which every server falls back to, and publishes best-effort.
            // A cache it cannot be configured for is no outage: that stops it like a server.
            Err(error @ benteng_shared_state::StateError::Unavailable(_)) if !for_server => {
                tracing::warn!(%error, "shared cache unreachable; continuing without it (changes reach servers through the database)");
                eprintln!(
                    "warning: shared cache unreachable ({error}); servers pick changes up from the database"
                );
                Arc::new(benteng_shared_state::Unreachable::new(error.to_string()))
                    as SharedStateHandle
            }
            Err(error) => return Err(error).context("connecting to the shared cache"),
        };
        let hasher = secrets::api_key_hasher(&config)?;
        let people_hasher = secrets::api_key_hasher(&config)?;
        let cache_ttl = Duration::from_secs(config.auth.api_key_cache_ttl_secs);
        let api_keys = Arc::new(ApiKeyAuthenticator::new(
            store.clone(),
            shared.clone(),
            hasher,
            cache_ttl,
        ));
        let protection = data_protection::open(&config, &store)
            .await
            .context("opening the data-protection keys")?;
        let snap = Arc::new(SnapAuthenticator::new(
            store.clone(),
            shared.clone(),
            secrets::api_key_hasher(&config)?,
            protection.keyring.clone(),
            cache_ttl,
        ));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let people = Arc::new(PeopleAuthenticator::new(
            store.clone(),
            shared.clone(),
            people_hasher,
            config.people.password_hasher()?,
            protection.keyring.clone(),
            config.people.session_policy(),
            clock.clone(),
        ));
        if let Some(issuer) = &config.fapi.issuer {
            anyhow::ensure!(
                issuer.starts_with("https://") && !issuer.ends_with('/'),
                "fapi.issuer must be an https:// origin without a trailing slash"
            );
        }
        let fapi = Arc::new(benteng_auth::FapiServer::new(
            store.clone(),
            shared.clone(),
            protection.keyring.clone(),
            people.clone(),
            clock.clone(),
            config.fapi.issuer.clone(),
        ));
        Ok(Self {
            config,
            store,
            shared,
            api_keys,
            snap,
            people,
            fapi,
            protection,
            clock,
        })
    }
}

impl Services {
    /// The audit anchor key: signs anchors and purge checkpoints, checks both.
    pub fn anchor_keys(&self) -> audit_anchor::AnchorKeys {
        audit_anchor::AnchorKeys::new(self.store.clone(), self.protection.keyring.clone())
    }

    /// Webhook endpoints and signing keys (the server's delivery worker and the CLI).
    pub fn webhooks(&self) -> anyhow::Result<benteng_webhooks::Webhooks> {
        let keys = Arc::new(benteng_webhooks::SigningKeys::new(
            self.store.clone(),
            self.protection.keyring.clone(),
            self.clock.clone(),
        ));
        Ok(benteng_webhooks::Webhooks::new(
            self.store.clone(),
            keys,
            self.clock.clone(),
            self.config.webhooks.settings()?,
        ))
    }

    /// The operators' commands (the operator API and the CLI share them).
    pub fn operations(&self) -> benteng_operations::Operations {
        benteng_operations::Operations::new(
            self.store.clone(),
            self.people.clone(),
            self.api_keys.clone(),
            self.clock.clone(),
            Duration::from_secs(self.config.people.approval_ttl_secs),
        )
    }
}

/// A process-wide Prometheus recorder: the `metrics` macros write to one global.
fn metrics_handle() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    telemetry::describe_metrics();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// How often the credential watermark is polled: fast where pub/sub cannot reach the CLI.
fn watermark_poll(shared: &SharedStateHandle) -> Duration {
    if shared.backend() == "memory" {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(30)
    }
}

/// A server bound to its listeners (see `listeners.rs`), ready to run.
pub struct Server {
    listeners: Vec<(listeners::BoundListener, axum::Router)>,
}

impl Server {
    /// Binds every configured listener: TLS material is loaded and checked against the
    /// certificate policy here, so a bad certificate fails the start, not the first handshake.
    pub async fn bind(services: &Services) -> anyhow::Result<Self> {
        let config = &services.config;
        services
            .api_keys
            .spawn_invalidation(watermark_poll(&services.shared));
        services
            .snap
            .spawn_invalidation(watermark_poll(&services.shared));
        services
            .people
            .spawn_invalidation(watermark_poll(&services.shared));
        let rate_table = match &config.payments.rates_file {
            Some(path) => rates::read_file(path)?,
            None => rates::table(&config.payments.per_usd).context("payments.per_usd")?,
        };
        anyhow::ensure!(
            (1..=config::MAX_KYC_DOCUMENT_BYTES).contains(&config.kyc.max_document_bytes),
            "kyc.max_document_bytes must be between 1 and {}",
            config::MAX_KYC_DOCUMENT_BYTES
        );
        let rules = monitoring::initial(config.monitoring.rules_file.as_deref())?;
        let screening = screening::start(services).await?;
        let protection = Arc::new(
            config
                .protection
                // A lock outlives the longest request, so it is never released by expiry
                // while its holder still runs.
                .to_protection(
                    Duration::from_secs(config.http.request_timeout_secs + 30),
                    secrets::api_key_hasher(config)?,
                )
                .context("protection")?,
        );
        let iso20022_rail = iso20022::rail_configured(config);
        let payments = Payments::new(
            services.store.clone(),
            PaymentsConfig {
                rates: rate_table,
                rules,
                quote_ttl: Duration::from_secs(config.payments.quote_ttl_secs),
                fee_bps: config.payments.fee_bps,
                compliance: screening.clone(),
                keyring: services.protection.keyring.clone(),
                blind_index: services.protection.blind_index.clone(),
                rail: "sandbox".to_owned(),
                caps: protection.clone(),
                clock: services.clock.clone(),
            },
        );
        let payments = payments.with_case_policy(config.cases.policy()?);
        let payments = Arc::new(if iso20022_rail {
            payments.with_iban_rail("iso20022")
        } else {
            payments
        });
        if let Some(path) = &config.payments.rates_file {
            rates::watch(
                path.clone(),
                Arc::downgrade(&payments),
                Duration::from_secs(5),
            );
        }
        if let Some(path) = &config.monitoring.rules_file {
            monitoring::watch(
                path.clone(),
                Arc::downgrade(&payments),
                Duration::from_secs(5),
            );
        }
        RailWorker {
            payments: payments.clone(),
            rail: Arc::new(SandboxRail {
                settle_after: Duration::from_millis(config.rail.sandbox_settle_after_ms),
                clock: services.clock.clone(),
            }),
            poll_interval: Duration::from_millis(config.rail.poll_interval_ms.max(10)),
            batch: 100,
        }
        .spawn();
        // The shared ISO 20022 context: the rail's, and the mTLS status-report route's.
        let iso20022 = match &config.iso20022 {
            Some(_) => {
                let (iso, simulated) = iso20022::server_context(services)?;
                if iso20022_rail {
                    iso20022::spawn_rail(services, iso.clone(), simulated, payments.clone())?;
                }
                Some(iso)
            }
            None => None,
        };
        // The recorder first: the delivery worker publishes the queue's state from its first pass.
        let metrics = metrics_handle()?;
        let webhooks = Arc::new(services.webhooks()?);
        if let Err(error) = webhooks.keys.ensure().await {
            tracing::warn!(%error, "webhook signing key schedule");
        }
        benteng_webhooks::DeliveryWorker::new(webhooks.clone())
            .context("webhook delivery client")?
            .spawn();
        if let Some(url) = &config.incidents.notify_url {
            let url = webhooks
                .parse_url(url)
                .map_err(|e| anyhow::anyhow!("incidents.notify_url: {e}"))?;
            benteng_webhooks::alerts::IncidentAlerts::new(webhooks.clone(), url)
                .context("incident alert client")?
                .spawn();
        }
        spawn_audit_sealer(services.store.clone());
        let anchor_keys = services.anchor_keys();
        if let Some(dir) = &config.audit.anchor_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("audit.anchor_dir {}", dir.display()))?;
            audit_anchor::spawn_anchoring(
                anchor_keys.clone(),
                dir.clone(),
                config.audit.anchor_interval_secs,
            );
        }
        spawn_audit_verifier(
            services.store.clone(),
            anchor_keys,
            config.audit.anchor_dir.clone(),
            services.clock.clone(),
            config.incidents.audit_verify_interval_secs,
        );
        monitoring::spawn_post_event_scan(
            services.store.clone(),
            services.clock.clone(),
            config.cases.policy()?.alerts,
            Duration::from_secs(config.monitoring.post_event_interval_secs),
        );
        spawn_data_key_refresh(services.store.clone(), services.protection.keyring.clone());
        let state = AppState {
            store: services.store.clone(),
            shared: services.shared.clone(),
            auth: Authenticator::new(services.api_keys.clone())
                .with_snap(services.snap.clone())
                .with_people(services.people.clone())
                .with_fapi(services.fapi.clone()),
            metrics,
            limits: Arc::new(HttpLimits {
                body_limit_bytes: config.http.body_limit_bytes,
                request_timeout: Duration::from_secs(config.http.request_timeout_secs),
                kyc_document_bytes: config.kyc.max_document_bytes,
                case_attachment_bytes: config.cases.attachment_max_bytes,
            }),
            payments,
            protection,
            // Analysts search and clear against the lists this server screens with.
            operations: Arc::new(
                services
                    .operations()
                    .with_screening(screening)
                    .with_kyc_cases(config.cases.policy()?.kyc)
                    .with_kyc_evidence(
                        services.protection.keyring.clone(),
                        config.kyc.max_document_bytes,
                    )
                    .with_reports(
                        config.reports.settings()?,
                        services.protection.keyring.clone(),
                    ),
            ),
            webhooks,
            iso20022,
            incidents: Arc::new(benteng_api::incidents::Incidents::new(
                config.incidents.detections()?,
            )),
        };
        // Blocks in force before the first request, then kept current.
        state
            .incidents
            .reload_blocks(&state.store, state.payments.now())
            .await;
        state.incidents.spawn_block_sync(&state);
        spawn_compliance_clocks(
            state.payments.clone(),
            services.store.clone(),
            services.clock.clone(),
            Duration::from_secs(config.reports.check_interval_secs.max(1)),
            time::Duration::hours(i64::from(config.reports.daml.warn_hours)),
        );
        spawn_store_gauges(
            services.store.clone(),
            services.clock.clone(),
            Duration::from_secs(config.metrics.store_gauges_interval_secs.max(1)),
        );
        spawn_ledger_check(
            services.store.clone(),
            config.metrics.ledger_check_interval_secs,
        );
        protection_sweep(
            services.store.clone(),
            Duration::from_secs(config.protection.sweep_interval_secs.max(1)),
        );
        if let Err(error) = services.fapi.ensure_signing_key().await {
            tracing::warn!(%error, "FAPI signing key");
        }
        let bound = listeners::bind_all(config).await?;
        // Without a configured issuer (development), the first listener serving the API names
        // it by its bound address.
        if let Some(api) = bound
            .iter()
            .find(|l| l.groups.contains(&benteng_api::RouteGroup::Api))
        {
            let address = api.local_addr()?;
            services.fapi.default_issuer(format!("https://{address}"));
        }
        let listeners = bound
            .into_iter()
            .map(|bound| {
                let router = benteng_api::router_for(state.clone(), &bound.groups);
                (bound, router)
            })
            .collect();
        Ok(Self { listeners })
    }

    /// The address of the default listener.
    pub fn local_addr(&self) -> anyhow::Result<std::net::SocketAddr> {
        self.listeners
            .first()
            .context("no listener")?
            .0
            .local_addr()
    }

    /// The addresses of every listener, the default first.
    pub fn local_addrs(&self) -> anyhow::Result<Vec<std::net::SocketAddr>> {
        self.listeners.iter().map(|(l, _)| l.local_addr()).collect()
    }

    /// Serves every listener until `shutdown` completes, then lets in-flight requests finish
    /// within the grace period. Certificates, keys, CAs, CRLs and OCSP files are re-read when
    /// they change and on SIGHUP; a bad new file is refused and the old one keeps serving.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut background = Vec::new();
        let mut serving = tokio::task::JoinSet::new();
        for (bound, router) in self.listeners {
            let address = bound.local_addr()?;
            if let Some(tls) = &bound.tls {
                background.push(tls.spawn_watcher(bound.reload_interval));
                #[cfg(unix)]
                background.push(tls.spawn_sighup_reloader()?);
            }
            tracing::info!(%address, tls = bound.tls.is_some(), routes = ?bound.groups, "listening");
            let mut stop = stop_rx.clone();
            serving.spawn(benteng_transport::serve(
                bound.listener,
                bound.tls,
                router,
                bound.limits,
                async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                },
            ));
        }
        tokio::select! {
            () = shutdown => {},
            // A listener that stops on its own (it cannot, short of a bug) stops the server.
            Some(result) = serving.join_next() => {
                tracing::error!(?result, "a listener stopped unexpectedly");
            }
        }
        let _ = stop_tx.send(true);
        let mut outcome = Ok(());
        while let Some(result) = serving.join_next().await {
            match result {
                Ok(Ok(())) => {}
                Ok(Err(error)) => outcome = Err(anyhow::Error::new(error).context("serving")),
                Err(error) => outcome = Err(anyhow::Error::new(error).context("listener task")),
            }
        }
        for task in background {
            task.abort();
        }
        tracing::info!("stopped");
        outcome
    }
}

/// Seals new audit events into their hash chains every second (one instance at a time): a quick
/// pass over recent events, and a full pass at start and every five minutes for any event a
/// long transaction committed late.
fn spawn_audit_sealer(store: Store) {
    const FULL_PASS_EVERY: u32 = 300;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        let mut pass: u32 = 0;
        loop {
            ticker.tick().await;
            pass = pass.wrapping_add(1) % FULL_PASS_EVERY;
            let sealed = if pass == 1 {
                store.seal_audit().await
            } else {
                store.seal_recent_audit().await
            };
            match sealed {
                Ok(count) => metrics::counter!("audit_events_sealed_total").increment(count as u64),
                Err(error) => {
                    metrics::counter!("audit_seal_errors_total").increment(1);
                    tracing::warn!(%error, "audit sealing failed");
                }
            }
        }
    });
}

/// Verifies the audit chains every `interval_secs` (0: never); a break opens or joins the P1
/// incident of a broken trail, and is logged at error every time it is seen.
/// Verifies the audit chains every `interval_secs` (checkpoint signatures included, and against
/// the newest anchor in `anchor_dir` when one is configured); a break opens the P1 incident.
fn spawn_audit_verifier(
    store: Store,
    keys: audit_anchor::AnchorKeys,
    anchor_dir: Option<std::path::PathBuf>,
    clock: Arc<dyn benteng_core::clock::Clock>,
    interval_secs: u64,
) {
    if interval_secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(interval_secs));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let anchor = match &anchor_dir {
                Some(dir) => audit_anchor::newest_anchor(&keys, dir).await,
                None => Ok(None),
            };
            let broken = match anchor {
                // Anchors that no longer verify are a finding, not a reason to check less.
                Err(problem) => benteng_store::AuditBreak {
                    retention: benteng_core::audit::Retention::Security,
                    position: 0,
                    event_id: String::new(),
                    problem,
                },
                Ok(anchor) => match audit_anchor::verify(&keys, anchor.as_ref()).await {
                    Ok(report) => match report.first_break {
                        Some(broken) => broken,
                        None => continue,
                    },
                    Err(error) => {
                        tracing::warn!(%error, "audit verification could not run");
                        continue;
                    }
                },
            };
            tracing::error!(
                class = broken.retention.as_str(),
                position = broken.position,
                event = %broken.event_id,
                problem = %broken.problem,
                "the audit trail does not verify"
            );
            let context = benteng_core::audit::AuditContext::system("audit-verifier");
            if let Err(error) = store
                .report_audit_break(&broken, clock.now(), &context)
                .await
            {
                tracing::error!(%error, "could not open the audit-trail incident");
            }
        }
    });
}

/// Picks up data keys rotated by another process (the CLI, another instance) every 10 s, so new
/// values are written under the newest key everywhere.
fn spawn_data_key_refresh(store: Store, keyring: Arc<benteng_vault::Keyring>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(10));
        loop {
            ticker.tick().await;
            if let Err(error) = data_protection::load_keys(&store, &keyring).await {
                tracing::warn!(error = %format!("{error:#}"), "refreshing data keys failed");
            }
        }
    });
}

/// Checks compliance's clocks every `interval`: the regulatory reports' deadlines and the
/// cases' SLAs. Counts go to `/metrics` (reports per kind: open, inside the warning window, past
/// the deadline; cases per inbox: open, past their SLA), and the log warns for each report
/// inside its warning window and errs for anything past due, so an alert fires before a breach
/// (and when an SLA is missed). The cases' SLA clock also writes: each case's first miss of
/// its due time and its escalations are recorded once (`Payments::run_sla_clock`: conditional
/// updates, so any number of instances may run it), before the gauges are read.
fn spawn_compliance_clocks(
    payments: Arc<Payments>,
    store: Store,
    clock: Arc<dyn Clock>,
    interval: Duration,
    daml_warn: time::Duration,
) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        // Inboxes seen before: one whose cases all closed reads 0, not its last count.
        let mut inboxes = std::collections::BTreeSet::new();
        loop {
            ticks.tick().await;
            sla_clock(&payments).await;
            let now = clock.now();
            case_clocks(&store, now, &mut inboxes).await;
            daml_clocks(&store, now, daml_warn).await;
            let counts = match store.report_clocks(now).await {
                Ok(counts) => counts,
                Err(error) => {
                    tracing::warn!(%error, "checking the reports' deadlines failed");
                    continue;
                }
            };
            for kind in benteng_reports::ReportKind::ALL {
                let (open, soon, overdue) = counts
                    .iter()
                    .find(|(k, ..)| k == kind.as_str())
                    .map_or((0, 0, 0), |(_, o, s, d)| (*o, *s, *d));
                let label = [("kind", kind.as_str())];
                metrics::gauge!("regulatory_reports_open", &label).set(open as f64);
                metrics::gauge!("regulatory_reports_due_soon", &label).set(soon as f64);
                metrics::gauge!("regulatory_reports_overdue", &label).set(overdue as f64);
                if overdue > 0 {
                    tracing::error!(
                        kind = kind.as_str(),
                        overdue,
                        "regulatory reports are past their deadline"
                    );
                } else if soon > 0 {
                    tracing::warn!(
                        kind = kind.as_str(),
                        due_soon = soon,
                        "regulatory reports are due soon"
                    );
                }
            }
        }
    });
}

/// One pass of the UK SARs' DAML clocks (see [`spawn_compliance_clocks`]): the gauges by
/// period, a warning for each period ending soon, and for each ended without a recorded
/// answer (the held transfer stays held until an officer records the deemed consent).
async fn daml_clocks(store: &Store, now: time::OffsetDateTime, warn: time::Duration) {
    use benteng_reports::daml::{DamlAnswer, DamlPeriod, DamlRecord, DamlState};
    let requests = match store.open_daml_requests().await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(%error, "checking the DAML clocks failed");
            return;
        }
    };
    let mut counts = std::collections::BTreeMap::<(&str, &str), u64>::new();
    for row in &requests {
        let Some(due_at) = row.daml_due_at else {
            continue;
        };
        let answer = row
            .daml_answer
            .as_deref()
            .and_then(|a| a.parse::<DamlAnswer>().ok());
        let record = DamlRecord {
            due_at,
            answer,
            moratorium_ends_at: row.daml_moratorium_ends_at,
        };
        let Some(clock) = record.clock(now, warn) else {
            continue;
        };
        let ends_at = clock.ends_at.to_string();
        let (period, state) = (clock.period.as_str(), clock.state);
        match state {
            DamlState::Running => {}
            DamlState::EndingSoon => tracing::warn!(
                report = %row.id, period, %ends_at,
                "a DAML period ends soon: the NCA's answer (or its silence) will decide the held transfer"
            ),
            DamlState::Ended => tracing::warn!(
                report = %row.id, period, %ends_at,
                "a DAML period ended with no answer recorded: consent is deemed; record it \
                 (benteng reports daml --answer deemed) before deciding the held transfer"
            ),
        }
        // `running` counts every period not yet ended, those ending soon included.
        let bucket = match state {
            DamlState::Running | DamlState::EndingSoon => "running",
            DamlState::Ended => "ended",
        };
        *counts.entry((period, bucket)).or_default() += 1;
        if state == DamlState::EndingSoon {
            *counts.entry((period, "ending_soon")).or_default() += 1;
        }
    }
    for period in [DamlPeriod::Notice, DamlPeriod::Moratorium] {
        let label = [("period", period.as_str())];
        let count =
            |state: &str| counts.get(&(period.as_str(), state)).copied().unwrap_or(0) as f64;
        metrics::gauge!("regulatory_daml_clocks_running", &label).set(count("running"));
        metrics::gauge!("regulatory_daml_clocks_ending_soon", &label).set(count("ending_soon"));
        metrics::gauge!("regulatory_daml_clocks_ended", &label).set(count("ended"));
    }
}

/// One pass of the cases' SLA clock's writes (see [`spawn_compliance_clocks`]): each miss and
/// escalation this instance recorded goes to the log (the case's log and the audit trail have
/// them already; the counters were made where they were written).
async fn sla_clock(payments: &Payments) {
    let context = benteng_core::audit::AuditContext::system("system:case-clock");
    match payments.run_sla_clock(&context).await {
        Ok(pass) => {
            for (case, inbox) in &pass.missed {
                tracing::error!(%case, inbox = %inbox, "a case missed its SLA");
            }
            for (case, from, to) in &pass.escalated {
                tracing::warn!(%case, from = %from, to = %to, "a case was escalated");
            }
        }
        Err(error) => tracing::warn!(%error, "the cases' SLA clock could not run"),
    }
}

/// One pass of the cases' SLA clocks (see [`spawn_compliance_clocks`]).
async fn case_clocks(
    store: &Store,
    now: time::OffsetDateTime,
    inboxes: &mut std::collections::BTreeSet<String>,
) {
    let counts = match store.case_clocks(now).await {
        Ok(counts) => counts,
        Err(error) => {
            tracing::warn!(%error, "checking the cases' SLAs failed");
            return;
        }
    };
    inboxes.extend(counts.iter().map(|(inbox, ..)| inbox.clone()));
    for inbox in inboxes.iter() {
        let (open, overdue) = counts
            .iter()
            .find(|(i, ..)| i == inbox)
            .map_or((0, 0), |(_, o, d)| (*o, *d));
        let label = [("inbox", inbox.clone())];
        metrics::gauge!("cases_open", &label).set(open as f64);
        metrics::gauge!("cases_overdue", &label).set(overdue as f64);
        if overdue > 0 {
            tracing::error!(inbox = %inbox, overdue, "cases are past their SLA");
        }
    }
}

/// Reads the database's gauges every `interval`: the transfers in each unfinished status and
/// how long the oldest has waited there (PENDING_REVIEW: the holds), and the audit sealer's
/// backlog. Counted from the store, not from this process's memory, so every instance reports
/// the platform's numbers (dashboards take `max`, not `sum`, across instances); read on a timer,
/// so a scrape never queries the database.
fn spawn_store_gauges(store: Store, clock: Arc<dyn Clock>, interval: Duration) {
    let seconds_since = |now: time::OffsetDateTime, at: Option<time::OffsetDateTime>| {
        at.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0))
    };
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = clock.now();
            match store.transfers_in_flight().await {
                Ok(statuses) => {
                    for in_flight in statuses {
                        let label = [("status", in_flight.status.as_str())];
                        metrics::gauge!("transfers_in_flight", &label).set(in_flight.count as f64);
                        metrics::gauge!("transfers_oldest_in_flight_seconds", &label)
                            .set(seconds_since(now, in_flight.oldest));
                    }
                }
                Err(error) => tracing::warn!(%error, "counting the transfers in flight failed"),
            }
            match store.audit_seal_backlog().await {
                Ok(backlog) => {
                    metrics::gauge!("audit_unsealed_events").set(backlog.unsealed as f64);
                    metrics::gauge!("audit_oldest_unsealed_seconds")
                        .set(seconds_since(now, backlog.oldest));
                }
                Err(error) => tracing::warn!(%error, "reading the audit sealer's backlog failed"),
            }
        }
    });
}

/// Checks the ledger's invariants every `interval_secs` (0: never), as `benteng ledger check`
/// does: the count of violations goes to `/metrics` (alert on anything above 0) and each one to
/// the log at error, with the time of the last check that ran, so a check that stopped running
/// is seen too.
fn spawn_ledger_check(store: Store, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(interval_secs));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.ledger_check().await {
                Ok(violations) => {
                    metrics::gauge!("ledger_check_violations").set(violations.len() as f64);
                    metrics::gauge!("ledger_check_last_run_timestamp_seconds")
                        .set(benteng_core::now().unix_timestamp() as f64);
                    for violation in &violations {
                        tracing::error!(rule = violation.rule, row = %violation.row, "the ledger breaks an invariant");
                    }
                }
                Err(error) => {
                    metrics::counter!("ledger_check_errors_total").increment(1);
                    tracing::warn!(%error, "the ledger check could not run");
                }
            }
        }
    });
}

/// Deletes expired idempotency records (and old volume counters) every `interval`.
fn protection_sweep(store: Store, interval: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            match store.sweep_protection(benteng_core::now()).await {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "expired idempotency records deleted"),
                Err(error) => tracing::warn!(%error, "idempotency sweep failed"),
            }
        }
    });
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
