//! The accept loop: TLS handshake with a deadline, connection caps (in all and per client
//! address), idle timeout, HTTP/1.1 + h2 (ALPN), `PeerInfo` request extension, graceful shutdown.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::{Service, ServiceExt};

use crate::config::ConnectionLimits;
use crate::error::TransportError;
use crate::peer::{AddressBlock, ClientCertInfo, PeerInfo, TlsInfo};
use crate::tls::TlsHandle;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Serves `service` on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight connections finish for at most `limits.shutdown_grace` and aborts the rest.
///
/// With `tls = None` the listener must be bound to a loopback address (checked here too, see
/// [`crate::check_plaintext_allowed`] for the configuration rule) and a warning is logged.
pub async fn serve<S, B, F>(
    listener: TcpListener,
    tls: Option<TlsHandle>,
    service: S,
    limits: ConnectionLimits,
    shutdown: F,
) -> Result<(), TransportError>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    let local = listener.local_addr().map_err(TransportError::Serve)?;
    if tls.is_none() {
        if !local.ip().is_loopback() {
            return Err(TransportError::Config(format!(
                "refusing to serve plain HTTP on non-loopback address {local}"
            )));
        }
        tracing::warn!(target: "security", %local, "serving PLAIN HTTP (no TLS) on loopback");
    }
    tracing::info!(%local, tls = tls.is_some(), max_connections = limits.max_connections, "listening");

    let sem = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = Arc::new(PerAddress::new(limits.max_connections_per_address));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            p = sem.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (tcp, remote) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = per_address.take(remote.ip()) else {
            tracing::info!(target: "security", event = "connection_cap", %remote, cap = limits.max_connections_per_address, "connection refused: too many open from this address");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let svc = service.clone();
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let _slot = slot;
            handle_connection(tcp, remote, tls, svc, limits, stop).await;
        });
    }

    drop(listener);
    let _ = stop_tx.send(true);
    let open = tasks.len();
    tracing::info!(%local, open_connections = open, "shutting down: draining connections");
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(%local, remaining = tasks.len(), "shutdown grace period over; aborting connections");
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

/// Open connections per client address block, so that one address cannot hold every slot of
/// the listener.
struct PerAddress {
    cap: usize,
    open: Mutex<HashMap<AddressBlock, usize>>,
}

/// One open connection's place in [`PerAddress`], given back when the connection ends.
struct AddressSlot {
    table: Arc<PerAddress>,
    block: AddressBlock,
}

impl PerAddress {
    fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let block = AddressBlock::from(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(block).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            table: self.clone(),
            block,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self
            .table
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.block) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.block);
            }
        }
    }
}

/// Requests in progress on one connection, and since when it has had none.
struct Activity {
    started: Instant,
    in_progress: AtomicUsize,
    idle_since_ms: AtomicU64,
}

/// One request in progress; its end restarts the idle clock.
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            in_progress: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        })
    }

    fn busy(self: &Arc<Self>) -> Busy {
        self.in_progress.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Completes once the connection has had no request in progress for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        loop {
            let wait_ms = if self.in_progress.load(Ordering::SeqCst) > 0 {
                timeout_ms
            } else {
                let idle_ms = self
                    .elapsed_ms()
                    .saturating_sub(self.idle_since_ms.load(Ordering::SeqCst));
                if idle_ms >= timeout_ms {
                    return;
                }
                timeout_ms - idle_ms
            };
            tokio::time::sleep(Duration::from_millis(wait_ms.max(10))).await;
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0
            .idle_since_ms
            .store(self.0.elapsed_ms(), Ordering::SeqCst);
        self.0.in_progress.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

async fn handle_connection<S, B>(
    tcp: TcpStream,
    remote: SocketAddr,
    tls: Option<TlsHandle>,
    service: S,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    match tls {
        None => {
            let peer = PeerInfo {
                remote_addr: remote,
                tls: None,
            };
            serve_http(TokioIo::new(tcp), peer, service, limits, stop).await;
        }
        Some(h) => {
            let acceptor = h.acceptor();
            let hs = tokio::select! {
                r = tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)) => r,
                () = stopped(stop.clone()) => return,
            };
            let stream = match hs {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    log_handshake_error(remote, &e);
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            let (_, conn) = stream.get_ref();
            let info = TlsInfo {
                protocol: conn
                    .protocol_version()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default(),
                cipher_suite: conn
                    .negotiated_cipher_suite()
                    .map(|c| format!("{:?}", c.suite()))
                    .unwrap_or_default(),
                alpn: conn
                    .alpn_protocol()
                    .map(|a| String::from_utf8_lossy(a).into_owned()),
                sni: conn.server_name().map(str::to_owned),
                client_cert: conn
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| ClientCertInfo::from_der(c)),
            };
            if let Some(c) = &info.client_cert {
                tracing::debug!(%remote, fingerprint = %c.sha256_fingerprint, subject = %c.subject, "client certificate accepted");
            }
            let peer = PeerInfo {
                remote_addr: remote,
                tls: Some(info),
            };
            serve_http(TokioIo::new(stream), peer, service, limits, stop).await;
        }
    }
}

fn log_handshake_error(remote: SocketAddr, e: &std::io::Error) {
    let tls_err = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match tls_err {
        Some(
            err @ (rustls::Error::NoCertificatesPresented
            | rustls::Error::InvalidCertificate(_)
            | rustls::Error::InvalidCertRevocationList(_)),
        ) => {
            tracing::warn!(target: "security", event = "tls_client_auth_failed", %remote, error = %err, "TLS handshake refused: client certificate");
        }
        Some(err @ rustls::Error::PeerIncompatible(_)) => {
            tracing::info!(target: "security", event = "tls_incompatible_peer", %remote, error = %err, "TLS handshake refused: peer incompatible with policy");
        }
        _ => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
    }
}

async fn serve_http<I, S, B>(
    io: I,
    peer: PeerInfo,
    service: S,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let remote = peer.remote_addr;
    let activity = Activity::new();
    let requests = activity.clone();
    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(peer.clone());
        let busy = requests.busy();
        let response = service.clone().oneshot(req);
        async move {
            let response = response.await;
            drop(busy);
            response
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(std::time::Duration::from_secs(30)));
    let conn = builder.serve_connection_with_upgrades(io, svc);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%remote, error = %e, "connection ended with error");
            }
        }
        () = stopped(stop) => {
            conn.as_mut().graceful_shutdown();
            if let Err(e) = conn.await {
                tracing::debug!(%remote, error = %e, "connection ended with error during shutdown");
            }
        }
        () = activity.idle_for(limits.idle_timeout) => {
            tracing::debug!(%remote, "closing an idle connection");
            conn.as_mut().graceful_shutdown();
            // A peer that never reads cannot hold the connection past the grace period.
            let _ = tokio::time::timeout(limits.shutdown_grace, conn).await;
        }
    }
}
