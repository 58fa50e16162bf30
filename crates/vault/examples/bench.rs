//! Micro-benchmarks of the hot paths. Not a test: numbers depend on the machine.
//!
//! `cargo run --release -p benteng-vault --example bench`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use benteng_vault::{
    Aad, BackupKey, BlindIndex, ExposeSecret, FileKek, KeyPurpose, Keyring, VaultError,
    decrypt_stream, encrypt_stream, normalize,
};

/// Runs `f` `iters` times per round, 7 rounds; returns the median ns per call.
fn measure(iters: u32, mut f: impl FnMut() -> Result<(), VaultError>) -> Result<f64, VaultError> {
    for _ in 0..iters / 10 + 1 {
        f()?;
    }
    let mut rounds = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        for _ in 0..iters {
            f()?;
        }
        rounds.push(start.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    rounds.sort_by(f64::total_cmp);
    Ok(rounds[rounds.len() / 2])
}

fn main() -> Result<(), VaultError> {
    let dir = std::env::temp_dir().join(format!(
        "benteng-vault-bench-{}",
        hex::encode(benteng_crypto::random_bytes::<6>()?)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| VaultError::Io {
        op: "mkdir",
        source: e,
    })?;
    let kek = Arc::new(FileKek::open_or_create(dir.join("kek.key"))?);
    let ring = Keyring::new(kek);
    let wrapped = ring.rotate(&KeyPurpose::BANK_ACCOUNT)?;
    ring.load(&wrapped)?;

    let iban = b"ID89 3704 0044 0532 0130 0000 0001";
    assert_eq!(iban.len(), 34);
    let aad = Aad::new(
        "0190f3a2-1111-7000-8000-00000000000a",
        "beneficiaries",
        "account_number",
        "0190f3a2-2222-7000-8000-00000000000b",
    );
    let stored = ring.encrypt(&KeyPurpose::BANK_ACCOUNT, iban, &aad)?;

    println!(
        "benteng-vault bench ({} bytes IBAN, stored as {} chars)",
        iban.len(),
        stored.len()
    );
    let enc = measure(200_000, || {
        black_box(ring.encrypt(&KeyPurpose::BANK_ACCOUNT, black_box(iban), &aad)?);
        Ok(())
    })?;
    println!("field encrypt (Keyring::encrypt -> String)      {enc:>9.0} ns");
    let dec = measure(200_000, || {
        black_box(ring.decrypt(black_box(&stored), &aad)?);
        Ok(())
    })?;
    println!("field decrypt (Keyring::decrypt <- &str)        {dec:>9.0} ns");
    let rt = measure(200_000, || {
        let s = ring.encrypt(&KeyPurpose::BANK_ACCOUNT, black_box(iban), &aad)?;
        let p = ring.decrypt(&s, &aad)?;
        black_box(p.expose_secret().len());
        Ok(())
    })?;
    println!("field encrypt + decrypt round trip              {rt:>9.0} ns");

    let unwrap = measure(50_000, || {
        black_box(ring.load(black_box(&wrapped))?);
        Ok(())
    })?;
    println!("DEK unwrap (Keyring::load, FileKek AES-GCM)     {unwrap:>9.0} ns");

    let index = BlindIndex::new(&benteng_crypto::random_bytes::<32>()?)?;
    let raw_iban = "ID89 3704 0044 0532 0130 0000 0001";
    let bi = measure(200_000, || {
        black_box(index.compute_with("iban", black_box(raw_iban), normalize::iban)?);
        Ok(())
    })?;
    println!("blind index (normalise + HMAC-SHA-256)          {bi:>9.0} ns");

    let backup_key = BackupKey::generate()?;
    let plain = vec![0x5au8; 64 * 1024 * 1024];
    let mut sealed = Vec::with_capacity(plain.len() + 1024 * 1024);
    let start = Instant::now();
    encrypt_stream(plain.as_slice(), &mut sealed, &backup_key)?;
    let enc_s = start.elapsed().as_secs_f64();
    let mut out = Vec::with_capacity(plain.len());
    let start = Instant::now();
    decrypt_stream(sealed.as_slice(), &mut out, &backup_key)?;
    let dec_s = start.elapsed().as_secs_f64();
    assert!(out == plain);
    println!(
        "backup stream 64 MiB in memory                  encrypt {:.0} MiB/s, decrypt {:.0} MiB/s",
        64.0 / enc_s,
        64.0 / dec_s
    );

    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
