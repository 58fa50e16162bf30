//! Development PKI: a dev CA, a P-384 server certificate for localhost/127.0.0.1/::1 and a P-384
//! client certificate, all signed by the dev CA. Never for production.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P384_SHA384, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::error::TransportError;

/// Paths of the generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevCertPaths {
    /// Dev CA certificate (PEM). Use as `tls.client_ca` and as the client's trust root.
    pub ca_cert: PathBuf,
    /// Dev CA private key (PEM, 0600).
    pub ca_key: PathBuf,
    /// Server chain (PEM): leaf followed by the dev CA.
    pub server_cert: PathBuf,
    /// Server private key (PEM, 0600).
    pub server_key: PathBuf,
    /// Client certificate (PEM).
    pub client_cert: PathBuf,
    /// Client private key (PEM, 0600).
    pub client_key: PathBuf,
}

impl DevCertPaths {
    /// File names inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca_cert: dir.join("dev-ca.pem"),
            ca_key: dir.join("dev-ca.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        }
    }

    fn all(&self) -> [&PathBuf; 6] {
        [
            &self.ca_cert,
            &self.ca_key,
            &self.server_cert,
            &self.server_key,
            &self.client_cert,
            &self.client_key,
        ]
    }
}

/// Creates the dev PKI in `dir` unless all files already exist (idempotent, never overwrites).
pub fn generate_dev_certs(dir: &Path) -> Result<DevCertPaths, TransportError> {
    generate_dev_certs_with(dir, false)
}

/// Like [`generate_dev_certs`]; with `overwrite = true` always regenerates.
pub fn generate_dev_certs_with(
    dir: &Path,
    overwrite: bool,
) -> Result<DevCertPaths, TransportError> {
    let paths = DevCertPaths::in_dir(dir);
    if !overwrite && paths.all().iter().all(|p| p.exists()) {
        return Ok(paths);
    }
    create_dir(dir)?;
    let g = |e: rcgen::Error| TransportError::Generate(e.to_string());

    let now = OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(g)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = dn("benteng dev CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = now - Duration::hours(1);
    ca.not_after = now + Duration::days(365);
    ca.serial_number = Some(random_serial()?);
    let ca_cert = ca.self_signed(&ca_key).map_err(g)?;
    let issuer = Issuer::new(ca, &ca_key);

    let server_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(g)?;
    let mut sp = CertificateParams::new(vec!["localhost".to_owned()]).map_err(g)?;
    sp.subject_alt_names
        .push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
    sp.subject_alt_names.push(SanType::IpAddress(IpAddr::from([
        0u16, 0, 0, 0, 0, 0, 0, 1,
    ])));
    sp.distinguished_name = dn("localhost");
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    sp.not_before = now - Duration::hours(1);
    sp.not_after = now + Duration::days(364);
    sp.serial_number = Some(random_serial()?);
    sp.use_authority_key_identifier_extension = true;
    let server_cert = sp.signed_by(&server_key, &issuer).map_err(g)?;

    let client_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(g)?;
    let mut cp = CertificateParams::default();
    cp.distinguished_name = dn("benteng dev client");
    cp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    cp.not_before = now - Duration::hours(1);
    cp.not_after = now + Duration::days(364);
    cp.serial_number = Some(random_serial()?);
    cp.use_authority_key_identifier_extension = true;
    let client_cert = cp.signed_by(&client_key, &issuer).map_err(g)?;

    write_file(&paths.ca_key, ca_key.serialize_pem().as_bytes(), true)?;
    write_file(&paths.ca_cert, ca_cert.pem().as_bytes(), false)?;
    write_file(
        &paths.server_key,
        server_key.serialize_pem().as_bytes(),
        true,
    )?;
    let chain = format!("{}{}", server_cert.pem(), ca_cert.pem());
    write_file(&paths.server_cert, chain.as_bytes(), false)?;
    write_file(
        &paths.client_key,
        client_key.serialize_pem().as_bytes(),
        true,
    )?;
    write_file(&paths.client_cert, client_cert.pem().as_bytes(), false)?;
    tracing::warn!(dir = %dir.display(), "generated DEVELOPMENT certificates (dev CA); never use them in production");
    Ok(paths)
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::OrganizationName, "benteng dev");
    d.push(DnType::CommonName, cn);
    d
}

fn random_serial() -> Result<SerialNumber, TransportError> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| TransportError::Generate("rng failure".into()))?;
    b[0] &= 0x7f;
    b[0] |= 0x01;
    Ok(SerialNumber::from_slice(&b))
}

fn create_dir(dir: &Path) -> Result<(), TransportError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| TransportError::io(dir, e))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(|e| TransportError::io(dir, e))
    }
}

/// Writes atomically (temp file + rename); `secret` files get mode 0600.
fn write_file(path: &Path, data: &[u8], secret: bool) -> Result<(), TransportError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(&tmp).map_err(|e| TransportError::io(&tmp, e))?;
    #[cfg(unix)]
    {
        // The mode above only applies on creation; enforce it for a pre-existing temp file too.
        use std::os::unix::fs::PermissionsExt;
        let mode = if secret { 0o600 } else { 0o644 };
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| TransportError::io(&tmp, e))?;
    }
    f.write_all(data).map_err(|e| TransportError::io(&tmp, e))?;
    f.sync_all().map_err(|e| TransportError::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| TransportError::io(path, e))
}
