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

/// Reads a secret file, refusing one that others could read or that is not a small regular
/// file (as the KEK file is checked): a secret readable by the group or the world may already
/// be known.
fn read_private(path: &Path) -> std::io::Result<anyhow::Result<SecretString>> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() || meta.len() > 1024 {
        return Ok(Err(anyhow::anyhow!(
            "{} is not a secret file (a regular file of at most 1 KiB)",
            path.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Ok(Err(anyhow::anyhow!(
                "{} has mode {mode:04o}: a secret file must not be readable by group or others \
                 (chmod 600)",
                path.display()
            )));
        }
    }
    let text = fs::read_to_string(path)?;
    Ok(Ok(SecretString::from(text.trim().to_owned())))
}

fn read_or_create(path: &Path) -> anyhow::Result<SecretString> {
    match read_private(path) {
        Ok(secret) => return secret,
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(error).with_context(|| format!("reading {}", path.display()));
        }
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Written whole under a temporary name, then linked into place: linking fails if the file
    // exists, so instances starting together agree on the first secret linked and none reads a
    // half-written (empty) file.
    let secret = generate_secret_hex()?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(
        ".{name}.{}.new",
        generate_secret_hex()?.expose_secret()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let linked = options
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(secret.expose_secret().as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| fs::hard_link(&temporary, path));
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new server secret");
            Ok(secret)
        }
        // Another process linked its secret first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            read_private(path).with_context(|| format!("reading {}", path.display()))?
        }
        Err(error) => Err(error).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// Instances starting together on a fresh data directory agree on one complete secret.
    #[test]
    fn concurrent_first_starts_agree_on_one_secret() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("secrets").join(format!("secret-{round}"));
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
            let starts: Vec<_> = (0..8)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        read_or_create(&path).map(|s| s.expose_secret().to_owned())
                    })
                })
                .collect();
            let secrets: Vec<String> = starts
                .into_iter()
                .map(|start| start.join().unwrap().unwrap())
                .collect();
            assert_eq!(secrets[0].len(), 64, "{secrets:?}");
            assert!(secrets.iter().all(|s| *s == secrets[0]), "{secrets:?}");
        }
    }

    #[test]
    fn a_secret_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets").join("api-key-secret");
        let created = read_or_create(&path).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            read_or_create(&path).unwrap().expose_secret(),
            created.expose_secret()
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = read_or_create(&path).unwrap_err().to_string();
        assert!(error.contains("0644"), "{error}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, "x".repeat(4096)).unwrap();
        assert!(read_or_create(&path).is_err());
    }
}
