//! The client's IP address, from the connection only (never from forwarded headers). The one
//! way to read it: the access log, the per-IP guard and the audit trail's `actor.ip` all call
//! [`client_ip`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::Extensions;
use benteng_transport::PeerInfo;

/// The transport's `PeerInfo` when the request came through `benteng_transport::serve`, else
/// axum's `ConnectInfo` (plain `axum::serve` with connect info), else `None`.
pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<PeerInfo>()
        .map(|peer| peer.remote_addr.ip())
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
        })
}
