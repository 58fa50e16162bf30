//! `benteng dev-certs DIR`: the development PKI (a dev CA, a P-384 server certificate for
//! localhost/127.0.0.1/::1 and a client certificate). Never for production.

use std::path::Path;

use anyhow::Context;

pub(super) fn run(dir: &Path, force: bool) -> anyhow::Result<()> {
    let paths = benteng_transport::generate_dev_certs_with(dir, force)
        .with_context(|| format!("creating development certificates in {}", dir.display()))?;
    eprintln!("development certificates (never use them in production):");
    for (what, path) in [
        ("dev CA certificate", &paths.ca_cert),
        ("dev CA key", &paths.ca_key),
        ("server chain", &paths.server_cert),
        ("server key", &paths.server_key),
        ("client certificate", &paths.client_cert),
        ("client key", &paths.client_key),
    ] {
        println!("{:<20} {}", what, path.display());
    }
    Ok(())
}
