//! Server secrets of the embedded default: generated on first start into `{data_dir}/secrets`
//! with mode 0600, read back afterwards. A configured value always wins.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use benteng_crypto::{ExposeSecret, KeyedHasher, SecretString, generate_secret_hex};

use crate::Config;

pub(crate) fn api_key_hasher(config: &Config) -> anyhow::Result<KeyedHasher> {
    let secret = secret(
        config.auth.api_key_secret.as_ref(),
        &config.data_dir.join("secrets").join("api-key-secret"),
    )?;
    KeyedHasher::from_hex(&secret).context("auth.api_key_secret must be ≥ 32 bytes of hex")
}

/// The configured secret, or the one in `file` (created on first use).
pub(crate) fn secret(
    configured: Option<&SecretString>,
    file: &Path,
) -> anyhow::Result<SecretString> {
    match configured {
        Some(secret) => Ok(secret.clone()),
        None => read_or_create(file),
    }
}

fn read_or_create(path: &Path) -> anyhow::Result<SecretString> {
    match fs::read_to_string(path) {
        Ok(text) => return Ok(SecretString::from(text.trim().to_owned())),
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(error).with_context(|| format!("reading {}", path.display()));
        }
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret = generate_secret_hex()?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.expose_secret().as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new server secret");
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = fs::read_to_string(path)?;
            Ok(SecretString::from(text.trim().to_owned()))
        }
        Err(error) => Err(error).with_context(|| format!("creating {}", path.display())),
    }
}
