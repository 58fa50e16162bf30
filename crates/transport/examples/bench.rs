//! Throughput benchmark (not a test): TLS 1.3 full vs resumed handshakes with the P-384 dev
//! certificate, and keep-alive GET requests/s over TLS vs plain HTTP, all on loopback in one run.
//!
//! `cargo run --release -p benteng-transport --example bench [-- <seconds per phase> <concurrency>]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use benteng_transport::{ConnectionLimits, PolicyMode, TlsHandle, TlsSettings};
use http::{Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use rustls::client::Resumption;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

async fn hello(_req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("ok".to_owned()))
}

async fn run_phase<F, Fut>(name: &str, secs: u64, conc: usize, f: F) -> f64
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = u64> + Send,
{
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let f = f.clone();
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                count.fetch_add(f().await, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rate = count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("{name:<48} {rate:>10.0} /s");
    rate
}

async fn one_get_close<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    assert!(buf.starts_with(b"HTTP/1.1 200"));
}

async fn keepalive_gets<S>(io: S, secs: u64) -> u64
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .unwrap();
    tokio::spawn(conn);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut n = 0;
    while Instant::now() < deadline {
        let req = Request::get("/")
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())
            .unwrap();
        if send.ready().await.is_err() {
            break;
        }
        let resp = send.send_request(req).await.unwrap();
        let _ = resp.into_body().collect().await.unwrap();
        n += 1;
    }
    n
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let conc: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);

    let tmp = tempfile::tempdir().unwrap();
    let dev = benteng_transport::generate_dev_certs(tmp.path()).unwrap();
    let handle = TlsHandle::load(TlsSettings::simple(
        &dev.server_cert,
        &dev.server_key,
        PolicyMode::Production,
    ))
    .await
    .unwrap();
    let limits = ConnectionLimits {
        max_connections: 4096,
        max_connections_per_address: 4096,
        ..ConnectionLimits::default()
    };
    let tls_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls_addr: SocketAddr = tls_l.local_addr().unwrap();
    let plain_addr: SocketAddr = plain_l.local_addr().unwrap();
    tokio::spawn(benteng_transport::serve(
        tls_l,
        Some(handle),
        tower::service_fn(hello),
        limits,
        std::future::pending::<()>(),
    ));
    tokio::spawn(benteng_transport::serve(
        plain_l,
        None,
        tower::service_fn(hello),
        limits,
        std::future::pending::<()>(),
    ));

    let mut roots = rustls::RootCertStore::empty();
    for c in benteng_transport::tls::load_certs(&dev.ca_cert).unwrap() {
        roots.add(c).unwrap();
    }
    let base = || {
        rustls::ClientConfig::builder_with_provider(Arc::new(benteng_transport::crypto_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth()
    };
    let mut full_cfg = base();
    full_cfg.resumption = Resumption::disabled();
    let full = tokio_rustls::TlsConnector::from(Arc::new(full_cfg));
    let resumed = tokio_rustls::TlsConnector::from(Arc::new(base()));
    let name = ServerName::try_from("localhost").unwrap();

    println!(
        "benteng-transport bench: {secs}s per phase, concurrency {conc}, TLS 1.3, ECDSA P-384 server cert, X25519MLKEM768 key exchange"
    );

    {
        let (c, n) = (full.clone(), name.clone());
        run_phase(
            "TLS1.3 full handshakes (handshake only)",
            secs,
            conc,
            move || {
                let (c, n) = (c.clone(), n.clone());
                async move {
                    let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
                    let s = c.connect(n, tcp).await.unwrap();
                    assert_eq!(
                        s.get_ref().1.handshake_kind(),
                        Some(rustls::HandshakeKind::Full)
                    );
                    1
                }
            },
        )
        .await;
    }
    {
        let (c, n) = (full.clone(), name.clone());
        run_phase(
            "TLS1.3 full handshake + 1 GET, conn/s",
            secs,
            conc,
            move || {
                let (c, n) = (c.clone(), n.clone());
                async move {
                    let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
                    one_get_close(c.connect(n, tcp).await.unwrap()).await;
                    1
                }
            },
        )
        .await;
    }
    {
        // Warm up the ticket cache.
        let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
        one_get_close(resumed.connect(name.clone(), tcp).await.unwrap()).await;
        let resumed_count = Arc::new(AtomicU64::new(0));
        let total = Arc::new(AtomicU64::new(0));
        let (c, n, rc, tc) = (
            resumed.clone(),
            name.clone(),
            resumed_count.clone(),
            total.clone(),
        );
        run_phase(
            "TLS1.3 resumed handshake + 1 GET, conn/s",
            secs,
            conc,
            move || {
                let (c, n, rc, tc) = (c.clone(), n.clone(), rc.clone(), tc.clone());
                async move {
                    let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
                    let s = c.connect(n, tcp).await.unwrap();
                    if s.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                        rc.fetch_add(1, Ordering::Relaxed);
                    }
                    tc.fetch_add(1, Ordering::Relaxed);
                    // Reading lets the client pick up the new session ticket for the next connection.
                    one_get_close(s).await;
                    1
                }
            },
        )
        .await;
        println!(
            "  (resumed: {} of {} handshakes)",
            resumed_count.load(Ordering::Relaxed),
            total.load(Ordering::Relaxed)
        );
    }
    {
        let c = tokio::net::TcpStream::connect(plain_addr);
        drop(c);
        run_phase(
            "plain HTTP new connection + 1 GET, conn/s",
            secs,
            conc,
            move || async move {
                let tcp = tokio::net::TcpStream::connect(plain_addr).await.unwrap();
                one_get_close(tcp).await;
                1
            },
        )
        .await;
    }
    // Keep-alive GET throughput: `conc` connections, sequential requests on each.
    let rps_tls = {
        let (c, n) = (full.clone(), name.clone());
        let counts = futures::future::join_all((0..conc).map(|_| {
            let (c, n) = (c.clone(), n.clone());
            async move {
                let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
                tcp.set_nodelay(true).unwrap();
                keepalive_gets(c.connect(n, tcp).await.unwrap(), secs).await
            }
        }))
        .await;
        counts.iter().sum::<u64>() as f64 / secs as f64
    };
    println!(
        "{:<48} {:>10.0} /s",
        "keep-alive GET over TLS 1.3 (HTTP/1.1)", rps_tls
    );
    let rps_plain = {
        let counts = futures::future::join_all((0..conc).map(|_| async move {
            let tcp = tokio::net::TcpStream::connect(plain_addr).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            keepalive_gets(tcp, secs).await
        }))
        .await;
        counts.iter().sum::<u64>() as f64 / secs as f64
    };
    println!(
        "{:<48} {:>10.0} /s",
        "keep-alive GET over plain HTTP (HTTP/1.1)", rps_plain
    );
    println!("TLS/plain keep-alive ratio: {:.2}", rps_tls / rps_plain);
}
