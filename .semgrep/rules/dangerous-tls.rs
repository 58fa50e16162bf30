// Fixture for benteng-dangerous-tls (`semgrep --test .semgrep/rules`).

fn bad_clients() {
    // ruleid: benteng-dangerous-tls
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build();
    // ruleid: benteng-dangerous-tls
    let client = reqwest::Client::builder().danger_accept_invalid_hostnames(true).build();
    // ruleid: benteng-dangerous-tls
    let mut config = rustls::ClientConfig::builder().dangerous().with_root_certificates(roots);
    // ruleid: benteng-dangerous-tls
    config.dangerous().set_certificate_verifier(Arc::new(AcceptAnything));
}

// ruleid: benteng-dangerous-tls
impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // ruleid: benteng-dangerous-tls
        Ok(ServerCertVerified::assertion())
    }
}

// ruleid: benteng-dangerous-tls
impl rustls::server::danger::ClientCertVerifier for AnyClient {
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // ruleid: benteng-dangerous-tls
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }
}

fn good_client(provider: Arc<CryptoProvider>, verifier: Arc<PinningVerifier>) {
    // ok: benteng-dangerous-tls
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
}

// ok: benteng-dangerous-tls
impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if self.pinned(end_entity) {
            return Ok(ok);
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
    }
}

// ok: benteng-dangerous-tls
impl ClientCertVerifier for LoggingClientVerifier {
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let r = self.inner.verify_client_cert(end_entity, intermediates, now);
        if let Err(e) = &r {
            tracing::warn!(error = %e, "client certificate refused");
        }
        r
    }
}

#[cfg(test)]
mod tests {
    fn a_client_for_a_self_signed_test_server() {
        // ok: benteng-dangerous-tls
        let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build();
    }
}
