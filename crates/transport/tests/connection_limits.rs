//! Connection caps per client address and the idle timeout, against the real accept loop. The
//! attacker's connections come from 127.0.0.2 (all of 127/8 is loopback), the honest client's
//! from 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use benteng_transport::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

async fn connect_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// One HTTP/1.1 request on `stream`, keeping the connection open; the status line.
async fn get(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

/// Whether the server closes `stream` within `within` (EOF or reset), reading and dropping
/// anything it sends meanwhile.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

fn limits(per_address: usize, idle: Duration) -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 8,
        max_connections_per_address: per_address,
        // Long, so that only the caps under test close anything.
        header_read_timeout: Duration::from_secs(60),
        idle_timeout: idle,
        ..common::limits()
    }
}

/// One address opening as many connections as the listener has slots holds only its share;
/// the rest are closed at once, and a client from another address is served.
#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    common::init_tracing();
    let server = common::start(None, limits(4, Duration::from_secs(60))).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(connect_from("127.0.0.2", server.addr).await);
    }
    let mut closed = 0;
    for stream in &mut held {
        if closed_within(stream, Duration::from_millis(500)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 4, "connections past the address's cap are closed");

    let honest = tokio::time::timeout(Duration::from_secs(3), async {
        let mut stream = connect_from("127.0.0.1", server.addr).await;
        get(&mut stream).await
    })
    .await
    .expect("a client from another address is served while the first holds its share");
    assert_eq!(honest, "HTTP/1.1 200 OK");

    // The address's share comes back when its connections end.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from("127.0.0.2", server.addr).await;
    assert_eq!(get(&mut again).await, "HTTP/1.1 200 OK");
    server.stop().await;
}

/// A connection with no request in progress is closed after the idle timeout, whatever it
/// speaks: one that sends nothing, and an HTTP/2 one that only opened (the server's keep-alive
/// pings do not count). A connection whose requests keep coming stays open.
#[tokio::test]
async fn idle_connections_are_closed_and_busy_ones_are_not() {
    common::init_tracing();
    let server = common::start(None, limits(8, Duration::from_secs(1))).await;

    let mut silent = connect_from("127.0.0.1", server.addr).await;
    let mut h2 = connect_from("127.0.0.1", server.addr).await;
    // The HTTP/2 connection preface and an empty SETTINGS frame, then nothing.
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    assert!(closed_within(&mut h2, Duration::from_secs(5)).await);

    // Requests every 400 ms for 3 s, on one connection with a 1 s idle timeout.
    let mut busy = connect_from("127.0.0.1", server.addr).await;
    for _ in 0..8 {
        assert_eq!(get(&mut busy).await, "HTTP/1.1 200 OK");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    server.stop().await;
}
