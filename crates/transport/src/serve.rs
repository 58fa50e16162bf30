//! The accept loop: TLS handshake with a deadline, connection cap, HTTP/1.1 + h2 (ALPN),
//! `PeerInfo` request extension, graceful shutdown.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

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
use crate::peer::{ClientCertInfo, PeerInfo, TlsInfo};
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
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let svc = service.clone();
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            let _permit = permit;
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
    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(peer.clone());
        service.clone().oneshot(req)
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
    }
}
