#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use benteng_vault::{FileKek, Keyring};

/// A fresh private directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let suffix = hex::encode(benteng_crypto::random_bytes::<8>().unwrap());
        let path = std::env::temp_dir().join(format!("benteng-vault-{tag}-{suffix}"));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A keyring over a new file KEK in `dir`.
pub fn keyring(dir: &TempDir) -> (Keyring, Arc<FileKek>) {
    let kek = Arc::new(FileKek::open_or_create(dir.join("kek.key")).unwrap());
    (Keyring::new(kek.clone()), kek)
}

/// Deterministic pseudo-random bytes for fuzz-ish tests (xorshift; reproducible failures).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
