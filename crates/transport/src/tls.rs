//! TLS policy (protocols, suites, groups), PEM loading, client-certificate verification and the
//! reloadable [`TlsHandle`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::{self as provider, cipher_suite, kx_group};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use time::OffsetDateTime;

use crate::config::{ClientAuthMode, ListenerConfig, OcspConfig, PolicyMode, TlsConfig};
use crate::error::TransportError;
use crate::ocsp::{self, OcspError, Staple};
use crate::peer::ClientCertInfo;
use crate::policy;

/// The crypto provider with the project's TLS policy: aws-lc-rs; TLS 1.3 suites
/// AES-256-GCM, CHACHA20-POLY1305, AES-128-GCM; TLS 1.2 ECDHE + AEAD suites only;
/// key exchange X25519MLKEM768, X25519, P-384, P-256.
pub fn crypto_provider() -> CryptoProvider {
    let mut p = provider::default_provider();
    p.cipher_suites = vec![
        cipher_suite::TLS13_AES_256_GCM_SHA384,
        cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ];
    p.kx_groups = vec![
        kx_group::X25519MLKEM768,
        kx_group::X25519,
        kx_group::SECP384R1,
        kx_group::SECP256R1,
    ];
    p
}

/// Protocol versions: TLS 1.3 and TLS 1.2 only.
pub static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

// ---------------------------------------------------------------------------------------------
// PEM loading

fn read(path: &Path) -> Result<Vec<u8>, TransportError> {
    std::fs::read(path).map_err(|e| TransportError::io(path, e))
}

/// Reads all certificates from a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let bytes = read(path)?;
    certs_from_pem(&bytes).map_err(|message| TransportError::pem(path, message))
}

/// Every certificate of a PEM text, at least one. Files and the operator API's request
/// bodies are read by this one function, so both accept exactly the same input.
pub fn certs_from_pem(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE block found".to_owned());
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, SEC1 or PKCS#1) from a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TransportError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| TransportError::pem(path, format!("no usable private key: {e}")))
}

/// Reads CRLs from a PEM file (`X509 CRL` blocks) or, if it has none, a single DER CRL.
pub fn load_crls(
    path: &Path,
) -> Result<Vec<CertificateRevocationListDer<'static>>, TransportError> {
    let bytes = read(path)?;
    let crls = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::pem(path, format!("bad PEM: {e}")))?;
    if !crls.is_empty() {
        return Ok(crls);
    }
    if bytes.first() == Some(&0x30) {
        return Ok(vec![CertificateRevocationListDer::from(bytes)]);
    }
    Err(TransportError::pem(path, "no X509 CRL found"))
}

// ---------------------------------------------------------------------------------------------
// Client-certificate verification with security-event logging

struct LoggingClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
}

impl fmt::Debug for LoggingClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggingClientVerifier")
            .finish_non_exhaustive()
    }
}

impl ClientCertVerifier for LoggingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }
    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let r = self
            .inner
            .verify_client_cert(end_entity, intermediates, now);
        if let Err(e) = &r {
            let info = ClientCertInfo::from_der(end_entity);
            tracing::warn!(
                target: "security",
                event = "client_cert_rejected",
                fingerprint = %info.sha256_fingerprint,
                subject = %info.subject,
                issuer = %info.issuer,
                error = %e,
                "client certificate refused at TLS handshake"
            );
        }
        r
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn build_client_verifier(
    s: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TransportError> {
    if s.client_auth == ClientAuthMode::None {
        return Ok(None);
    }
    if s.client_ca.is_empty() {
        return Err(TransportError::Config(
            "tls.client_auth is set but tls.client_ca is empty".into(),
        ));
    }
    let mut roots = RootCertStore::empty();
    for p in &s.client_ca {
        for c in load_certs(p)? {
            roots
                .add(c)
                .map_err(|e| TransportError::pem(p, format!("unusable CA certificate: {e}")))?;
        }
    }
    let mut crls = Vec::new();
    for p in &s.crl {
        crls.extend(load_crls(p)?);
    }
    let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls);
    if s.client_auth == ClientAuthMode::Optional {
        b = b.allow_unauthenticated();
    }
    let inner = b
        .build()
        .map_err(|e| TransportError::Config(format!("client verifier: {e}")))?;
    Ok(Some(Arc::new(LoggingClientVerifier { inner })))
}

// ---------------------------------------------------------------------------------------------
// Certificate resolver whose key (and OCSP staple) can be swapped at runtime

struct SwapResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for SwapResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwapResolver").finish_non_exhaustive()
    }
}

impl SwapResolver {
    fn get(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
    fn set(&self, k: Arc<CertifiedKey>) {
        match self.current.write() {
            Ok(mut g) => *g = k,
            Err(p) => *p.into_inner() = k,
        }
    }
}

impl ResolvesServerCert for SwapResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

// ---------------------------------------------------------------------------------------------
// Settings and handle

/// Everything needed to (re)build the TLS server configuration from files.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Certificate chain PEM (leaf first).
    pub cert: PathBuf,
    /// Private key PEM.
    pub key: PathBuf,
    /// Client authentication mode.
    pub client_auth: ClientAuthMode,
    /// Client CA bundles.
    pub client_ca: Vec<PathBuf>,
    /// CRL files.
    pub crl: Vec<PathBuf>,
    /// OCSP settings.
    pub ocsp: OcspConfig,
    /// Policy mode.
    pub policy: PolicyMode,
}

impl TlsSettings {
    /// From the config sections.
    pub fn new(tls: &TlsConfig, ocsp: &OcspConfig, policy: PolicyMode) -> Self {
        Self {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            client_auth: tls.client_auth,
            client_ca: tls.client_ca.clone(),
            crl: tls.crl.clone(),
            ocsp: ocsp.clone(),
            policy,
        }
    }

    /// From a listener config; `None` if the listener has no `tls` section.
    pub fn from_listener(l: &ListenerConfig) -> Option<Self> {
        l.tls.as_ref().map(|t| Self::new(t, &l.ocsp, l.policy))
    }

    /// Minimal settings: cert + key, no client auth, no OCSP.
    pub fn simple(cert: impl Into<PathBuf>, key: impl Into<PathBuf>, policy: PolicyMode) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
            client_auth: ClientAuthMode::None,
            client_ca: Vec::new(),
            crl: Vec::new(),
            ocsp: OcspConfig::default(),
            policy,
        }
    }

    fn watched_files(&self) -> Vec<PathBuf> {
        let mut v = vec![self.cert.clone(), self.key.clone()];
        v.extend(self.client_ca.iter().cloned());
        v.extend(self.crl.iter().cloned());
        if let Some(f) = &self.ocsp.file {
            v.push(f.clone());
        }
        v
    }
}

type Stamp = Vec<Option<(SystemTime, u64)>>;

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| m.modified().ok().map(|t| (t, m.len())))
        })
        .collect()
}

struct State {
    stamp: Stamp,
    chain: Vec<CertificateDer<'static>>,
    staple: Option<Staple>,
    last_ocsp_attempt: Option<std::time::Instant>,
}

struct Inner {
    settings: TlsSettings,
    provider: Arc<CryptoProvider>,
    config: RwLock<Arc<ServerConfig>>,
    resolver: Arc<SwapResolver>,
    state: tokio::sync::Mutex<State>,
}

/// A reloadable TLS server configuration. Cheap to clone; all clones share the same state.
#[derive(Clone)]
pub struct TlsHandle {
    inner: Arc<Inner>,
}

impl fmt::Debug for TlsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsHandle")
            .field("cert", &self.inner.settings.cert)
            .finish_non_exhaustive()
    }
}

/// Material loaded and validated from files, ready to be swapped in.
struct Loaded {
    stamp: Stamp,
    chain: Vec<CertificateDer<'static>>,
    key: Arc<dyn rustls::sign::SigningKey>,
    verifier: Option<Arc<dyn ClientCertVerifier>>,
    staple: Option<Staple>,
}

/// The interval at which OCSP fetches are retried after a failure.
const OCSP_RETRY: Duration = Duration::from_secs(60);

async fn load_material(
    s: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> Result<Loaded, TransportError> {
    let files = s.watched_files();
    let stamp_before = stamp(&files);
    let chain = load_certs(&s.cert)?;
    let key_der = load_key(&s.key)?;
    let violations = policy::check_server_certificate(&chain, &key_der, OffsetDateTime::now_utc());
    policy::enforce(s.policy, &s.cert.display().to_string(), violations)?;
    let key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| TransportError::pem(&s.key, format!("unusable private key: {e}")))?;
    let ck = CertifiedKey::new(chain.clone(), key.clone());
    if let Err(e) = ck.keys_match() {
        // Even in dev mode a mismatched key cannot work.
        return Err(TransportError::Policy(vec![format!(
            "private key does not match the certificate: {e}"
        )]));
    }
    let verifier = build_client_verifier(s, provider)?;
    let staple = match obtain_staple(s, &chain).await {
        Ok(st) => st,
        Err(e) => {
            if s.ocsp.required {
                return Err(TransportError::Ocsp(e));
            }
            tracing::warn!(target: "security", error = %e, cert = %s.cert.display(), "no valid OCSP response; serving without a staple");
            None
        }
    };
    if s.ocsp.required && staple.is_none() {
        return Err(TransportError::Ocsp(OcspError::NotConfigured));
    }
    Ok(Loaded {
        stamp: stamp_before,
        chain,
        key,
        verifier,
        staple,
    })
}

/// Obtain a validated staple from the configured file and/or the AIA responder.
async fn obtain_staple(
    s: &TlsSettings,
    chain: &[CertificateDer<'static>],
) -> Result<Option<Staple>, OcspError> {
    if s.ocsp.file.is_none() && !s.ocsp.fetch {
        return Ok(None);
    }
    let (leaf, issuer) = match chain {
        [leaf, issuer, ..] => (leaf, issuer),
        _ => return Err(OcspError::NoIssuer),
    };
    let mut last_err = OcspError::NotConfigured;
    if let Some(f) = &s.ocsp.file {
        match std::fs::read(f) {
            Ok(der) => {
                match ocsp::validate_ocsp_response(&der, leaf, issuer, OffsetDateTime::now_utc()) {
                    Ok(st) => return Ok(Some(st)),
                    Err(e) => last_err = e,
                }
            }
            Err(e) => last_err = OcspError::Io(format!("{}: {e}", f.display())),
        }
        if s.ocsp.fetch {
            tracing::warn!(error = %last_err, "OCSP file unusable; trying the responder");
        }
    }
    if s.ocsp.fetch {
        let url = ocsp::responder_url(leaf).ok_or(OcspError::NoResponderUrl)?;
        let req = ocsp::build_ocsp_request(leaf, issuer)?;
        let der = ocsp::fetch_ocsp_response(&url, req).await?;
        let st = ocsp::validate_ocsp_response(&der, leaf, issuer, OffsetDateTime::now_utc())?;
        return Ok(Some(st));
    }
    Err(last_err)
}

impl TlsHandle {
    /// Loads and validates everything (certificate policy, key match, client CAs, CRLs, OCSP).
    /// Fails on any error in production mode; in dev mode policy violations only warn.
    pub async fn load(settings: TlsSettings) -> Result<Self, TransportError> {
        let provider = Arc::new(crypto_provider());
        let loaded = load_material(&settings, &provider).await?;
        let ck = Arc::new(certified_key(&loaded));
        let resolver = Arc::new(SwapResolver {
            current: RwLock::new(ck),
        });
        let config = build_server_config(&provider, loaded.verifier.clone(), resolver.clone())?;
        log_loaded(&settings, &loaded);
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                provider,
                config: RwLock::new(Arc::new(config)),
                resolver,
                state: tokio::sync::Mutex::new(State {
                    stamp: loaded.stamp,
                    chain: loaded.chain,
                    staple: loaded.staple,
                    last_ocsp_attempt: Some(std::time::Instant::now()),
                }),
            }),
        })
    }

    /// The settings this handle was loaded from.
    pub fn settings(&self) -> &TlsSettings {
        &self.inner.settings
    }

    /// The current rustls server configuration.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        match self.inner.config.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// A tokio-rustls acceptor for the current configuration.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server_config())
    }

    /// SHA-256 fingerprint (hex) of the leaf certificate currently served.
    pub fn current_leaf_fingerprint(&self) -> Option<String> {
        self.inner
            .resolver
            .get()
            .cert
            .first()
            .map(|c| crate::peer::sha256_fingerprint(c))
    }

    /// The OCSP response currently stapled, if any.
    pub fn current_staple(&self) -> Option<Vec<u8>> {
        self.inner.resolver.get().ocsp.clone()
    }

    /// Re-reads all files and swaps the configuration in. On any error the old configuration
    /// keeps serving, the error is logged and returned.
    pub async fn reload(&self) -> Result<(), TransportError> {
        let mut st = self.inner.state.lock().await;
        self.reload_locked(&mut st).await
    }

    async fn reload_locked(&self, st: &mut State) -> Result<(), TransportError> {
        let s = &self.inner.settings;
        let loaded = match load_material(s, &self.inner.provider).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(target: "security", cert = %s.cert.display(), error = %e, "TLS reload failed; keeping the previous configuration");
                // Remember the stamp so a broken file is not retried every tick; a later change retries.
                st.stamp = stamp(&s.watched_files());
                return Err(e);
            }
        };
        let config = match build_server_config(
            &self.inner.provider,
            loaded.verifier.clone(),
            self.inner.resolver.clone(),
        ) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "TLS reload failed; keeping the previous configuration");
                return Err(e);
            }
        };
        self.inner.resolver.set(Arc::new(certified_key(&loaded)));
        match self.inner.config.write() {
            Ok(mut g) => *g = Arc::new(config),
            Err(p) => *p.into_inner() = Arc::new(config),
        }
        log_loaded(s, &loaded);
        st.stamp = loaded.stamp;
        st.chain = loaded.chain;
        st.staple = loaded.staple;
        st.last_ocsp_attempt = Some(std::time::Instant::now());
        Ok(())
    }

    /// One maintenance step: reload if any watched file changed; refresh the OCSP staple when it
    /// is past half its validity; drop a staple that has gone stale.
    pub async fn tick(&self) {
        let mut st = self.inner.state.lock().await;
        let files = self.inner.settings.watched_files();
        if stamp(&files) != st.stamp {
            tracing::info!(cert = %self.inner.settings.cert.display(), "TLS files changed; reloading");
            let _ = self.reload_locked(&mut st).await;
            return;
        }
        self.ocsp_maintenance(&mut st).await;
    }

    async fn ocsp_maintenance(&self, st: &mut State) {
        let s = &self.inner.settings;
        if s.ocsp.file.is_none() && !s.ocsp.fetch {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let due = st.staple.as_ref().is_none_or(|x| x.refresh_due(now));
        let may_try = st.last_ocsp_attempt.is_none_or(|t| {
            t.elapsed() >= OCSP_RETRY || st.staple.as_ref().is_some_and(|x| !x.is_fresh(now))
        });
        if due && may_try {
            st.last_ocsp_attempt = Some(std::time::Instant::now());
            match obtain_staple(s, &st.chain).await {
                Ok(Some(new)) => {
                    tracing::info!(next_update = %new.next_update, "OCSP staple refreshed");
                    self.set_staple(st, Some(new));
                    return;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(target: "security", error = %e, "OCSP refresh failed");
                }
            }
        }
        if st.staple.as_ref().is_some_and(|x| !x.is_fresh(now)) {
            tracing::error!(target: "security", "OCSP staple expired and no fresh response; no longer stapling");
            self.set_staple(st, None);
        }
    }

    fn set_staple(&self, st: &mut State, staple: Option<Staple>) {
        let old = self.inner.resolver.get();
        let mut ck = CertifiedKey::new(old.cert.clone(), old.key.clone());
        ck.ocsp = staple.as_ref().map(|x| x.der.clone());
        self.inner.resolver.set(Arc::new(ck));
        st.staple = staple;
    }

    /// Spawns a task that calls [`TlsHandle::tick`] every `interval` (file polling + OCSP refresh).
    pub fn spawn_watcher(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let h = self.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(interval);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            iv.tick().await;
            loop {
                iv.tick().await;
                h.tick().await;
            }
        })
    }

    /// Spawns a task that reloads on SIGHUP (Unix).
    #[cfg(unix)]
    pub fn spawn_sighup_reloader(&self) -> Result<tokio::task::JoinHandle<()>, TransportError> {
        let mut sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| TransportError::Config(format!("SIGHUP handler: {e}")))?;
        let h = self.clone();
        Ok(tokio::spawn(async move {
            while sig.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading TLS configuration");
                let _ = h.reload().await;
            }
        }))
    }
}

fn certified_key(l: &Loaded) -> CertifiedKey {
    let mut ck = CertifiedKey::new(l.chain.clone(), l.key.clone());
    ck.ocsp = l.staple.as_ref().map(|s| s.der.clone());
    ck
}

fn log_loaded(s: &TlsSettings, l: &Loaded) {
    let fp = l
        .chain
        .first()
        .map(|c| crate::peer::sha256_fingerprint(c))
        .unwrap_or_default();
    tracing::info!(
        cert = %s.cert.display(),
        leaf_sha256 = %fp,
        client_auth = ?s.client_auth,
        ocsp_stapled = l.staple.is_some(),
        "TLS configuration loaded"
    );
}

/// A server configuration with a session cache and ticket key of its own: every (re)load starts
/// them afresh, because a resumed session skips client-certificate verification, so a session
/// from before a CRL or CA change must not outlive it. Clients do one full handshake after a
/// reload.
fn build_server_config(
    provider: &Arc<CryptoProvider>,
    verifier: Option<Arc<dyn ClientCertVerifier>>,
    resolver: Arc<SwapResolver>,
) -> Result<ServerConfig, TransportError> {
    let b = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(PROTOCOL_VERSIONS)?;
    let b = match verifier {
        Some(v) => b.with_client_cert_verifier(v),
        None => b.with_no_client_auth(),
    };
    let mut cfg = b.with_cert_resolver(resolver);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    cfg.ignore_client_order = true;
    cfg.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
    cfg.ticketer = provider::Ticketer::new()?;
    Ok(cfg)
}
