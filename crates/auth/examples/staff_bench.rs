//! Cost of operator-API authentication on a local cache hit: a staff session, a staff API token
//! and, for comparison, an API key, each through its real authenticator.
//! `cargo run --release -p benteng-auth --example staff_bench`.
//!
//! A temporary SQLite store, the in-process shared state, a file KEK. One person is enrolled and
//! signed in for real (Argon2id at OWASP's minimum, TOTP), then issues a token. Each path is
//! warmed (its cache filled), then timed in batches with `Instant` around the whole batch, in
//! rounds that alternate the order of the three paths, so drift (frequency, the other core's
//! load) falls on all of them alike. Not a timed test: numbers go to BENCHMARKS.md.

use std::error::Error;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use benteng_auth::{
    ApiKeyAuthenticator, Audience, PeopleAuthenticator, RequestFacts, SessionPolicy,
};
use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::AuditContext;
use benteng_core::clock::SystemClock;
use benteng_core::network::NetworkAllowList;
use benteng_core::roles::{Permission, Permissions, Roles, StaffRole};
use benteng_core::scopes::{Scope, Scopes};
use benteng_core::staff_token::TokenLifetime;
use benteng_core::tenant::{Tenant, Tier};
use benteng_crypto::password::{Argon2Settings, PasswordHasher};
use benteng_crypto::totp::{Totp, TotpSecret};
use benteng_crypto::{ExposeSecret, KeyedHasher, SecretString};
use benteng_shared_state::{MemoryState, SharedStateHandle};
use benteng_store::{Store, StoreOptions};
use benteng_vault::{FileKek, KeyPurpose, Keyring};
use time::OffsetDateTime;

type BenchResult<T> = Result<T, Box<dyn Error>>;

const SECRET: [u8; 32] = [7u8; 32];
const ROUNDS: usize = 6;
const BATCHES: usize = 200;
const BATCH: usize = 1000;

/// `full`, or a thousandth of it (at least 1) when `BENCH_SMOKE` is set: the CI smoke run
/// (`scripts/ci/bench-smoke`) checks that the bench still runs, not what it measures.
fn sized(full: usize) -> usize {
    if std::env::var_os("BENCH_SMOKE").is_some() {
        (full / 1000).max(1)
    } else {
        full
    }
}

fn unix_now() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// Per-call nanoseconds of each batch, and each round's mean.
#[derive(Default)]
struct Samples {
    per_call_ns: Vec<f64>,
    rounds: Vec<f64>,
}

impl Samples {
    fn report(&self, name: &str) {
        let mut sorted = self.per_call_ns.clone();
        sorted.sort_by(f64::total_cmp);
        let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        let rounds: Vec<String> = self.rounds.iter().map(|ns| format!("{ns:.0}")).collect();
        println!(
            "{name:<36} mean {mean:>5.0} ns  p50 {:>5.0} ns  p99 {:>5.0} ns  min {:>5.0} ns  \
             ({} batches × {BATCH}; round means: {})",
            at(0.5),
            at(0.99),
            sorted[0],
            sorted.len(),
            rounds.join(" ")
        );
    }
}

/// One round of `BATCHES` batches of `call`.
async fn round<F, Fut>(samples: &mut Samples, mut call: F) -> BenchResult<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = BenchResult<()>>,
{
    let started = Instant::now();
    for _ in 0..sized(BATCHES) {
        let start = Instant::now();
        for _ in 0..sized(BATCH) {
            call().await?;
        }
        samples
            .per_call_ns
            .push(start.elapsed().as_nanos() as f64 / sized(BATCH) as f64);
    }
    samples
        .rounds
        .push(started.elapsed().as_nanos() as f64 / (sized(BATCHES) * sized(BATCH)) as f64);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
    let store = Store::connect(&url, &StoreOptions::default()).await?;
    store.migrate().await?;
    let shared: SharedStateHandle = Arc::new(MemoryState::new());
    let keyring = Arc::new(Keyring::new(Arc::new(FileKek::open_or_create(
        dir.path().join("kek.key"),
    )?)));
    keyring.load(&keyring.rotate(&KeyPurpose::API_SECRET)?)?;
    let people = PeopleAuthenticator::new(
        store.clone(),
        shared.clone(),
        KeyedHasher::new(&SECRET)?,
        PasswordHasher::new(Argon2Settings::OWASP_MINIMUM)?,
        keyring,
        SessionPolicy::default(),
        Arc::new(SystemClock),
    );
    let context = AuditContext::system("bench");

    // A person enrolled and signed in as the operator API does it.
    let created = people
        .create(
            &"bench@benteng.example".parse()?,
            None,
            Roles::empty().with(StaffRole::Admin),
            &context,
        )
        .await?;
    let password = SecretString::from("correct horse battery staple 42".to_owned());
    let started = people
        .start_enrolment(
            Audience::Staff,
            &created.enrolment_code,
            password.clone(),
            &context,
        )
        .await
        .map_err(|e| format!("{e}"))?;
    let secret = TotpSecret::from_base32(&started.totp_secret)?;
    people
        .finish_enrolment(
            Audience::Staff,
            &created.enrolment_code,
            &Totp::STANDARD.code_at(&secret, unix_now()),
            &context,
        )
        .await
        .map_err(|e| format!("{e}"))?;
    let next = SecretString::from(Totp::STANDARD.code_at(&secret, unix_now() + 30));
    let signed_in = people
        .sign_in(
            Audience::Staff,
            "bench@benteng.example",
            &password,
            &next,
            &context,
        )
        .await
        .map_err(|e| format!("{e}"))?;
    let session = signed_in.token.expose_secret().to_owned();
    let issued = people
        .issue_token(
            created.person,
            "bench".parse()?,
            Permissions::empty().with(Permission::TenantsRead),
            TokenLifetime::days(1)?,
            &context,
        )
        .await?;
    let token = issued.token.expose_secret().to_owned();

    // An API key, for comparison: the path the issue names as the model.
    let tenant = Tenant::new(
        "PT Bench Jaya".parse()?,
        Tier::Growth,
        OffsetDateTime::now_utc(),
    );
    store.insert_tenant(&tenant, &context).await?;
    let keys = ApiKeyAuthenticator::new(
        store.clone(),
        shared,
        KeyedHasher::new(&SECRET)?,
        Duration::from_secs(300),
    );
    let key = keys
        .issue(
            tenant.id,
            KeyEnvironment::Live,
            Some(time::Duration::days(90)),
            Scopes::all(),
            NetworkAllowList::any(),
            &context,
        )
        .await?;
    let key = key.key.expose_secret().to_owned();
    let facts = RequestFacts {
        needs: Scope::TransfersWrite,
        client_cert_fingerprint: None,
        client_ip: Some("203.0.113.9".parse()?),
    };

    let session_call = || async {
        let principal = people.authenticate(black_box(&session)).await?;
        black_box(principal.roles.permits(Permission::TenantsRead));
        Ok(())
    };
    let token_call = || async {
        let principal = people.authenticate_token(black_box(&token)).await?;
        black_box(principal.permits(Permission::TenantsRead));
        Ok(())
    };
    let key_call = || async {
        black_box(keys.authenticate(black_box(&key), &facts).await?);
        Ok(())
    };
    // Warm-up: fills each cache (and records the session's and token's use, so the timed
    // calls write nothing for the next minute).
    for _ in 0..sized(20_000) {
        session_call()
            .await
            .map_err(|e: benteng_auth::AuthError| e.to_string())?;
        token_call()
            .await
            .map_err(|e: benteng_auth::AuthError| e.to_string())?;
        key_call()
            .await
            .map_err(|e: benteng_auth::AuthError| e.to_string())?;
    }
    let wrap = |r: Result<(), benteng_auth::AuthError>| {
        r.map_err(|e| -> Box<dyn Error> { e.to_string().into() })
    };
    let (mut sessions, mut tokens, mut api_keys) =
        (Samples::default(), Samples::default(), Samples::default());
    for i in 0..sized(ROUNDS) {
        let order: [usize; 3] = if i % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] };
        for which in order {
            match which {
                0 => round(&mut sessions, || async { wrap(session_call().await) }).await?,
                1 => round(&mut tokens, || async { wrap(token_call().await) }).await?,
                _ => round(&mut api_keys, || async { wrap(key_call().await) }).await?,
            }
        }
    }
    println!(
        "staff_bench: SQLite at {}, in-process shared state; {ROUNDS} rounds alternating order",
        dir.path().display()
    );
    sessions.report("session, local cache hit");
    tokens.report("staff token, local cache hit");
    api_keys.report("API key, local cache hit (comparison)");
    Ok(())
}
