#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use benteng_vault::{DOCUMENT_CHUNK_BYTES, DocumentPlace, KeyPurpose, Keyring};
use common::{TempDir, keyring};

fn ready(dir: &TempDir) -> Keyring {
    let (ring, _) = keyring(dir);
    let wrapped = ring.rotate(&KeyPurpose::NATIONAL_ID).unwrap();
    ring.load(&wrapped).unwrap();
    ring
}

fn place(row_id: &str) -> DocumentPlace<'_> {
    DocumentPlace {
        tenant_id: "tenant_a",
        table: "case_attachments",
        column: "document",
        row_id,
    }
}

/// A document of several chunks opens to its bytes at its own place only, and a chunk moved,
/// dropped or taken from another document does not open.
#[test]
fn documents_open_only_whole_and_in_place() {
    let dir = TempDir::new("document");
    let ring = ready(&dir);
    let bytes: Vec<u8> = (0..DOCUMENT_CHUNK_BYTES * 2 + 17)
        .map(|i| (i % 251) as u8)
        .collect();
    let sealed = ring
        .seal_document(&KeyPurpose::NATIONAL_ID, &bytes, &place("row-1"))
        .unwrap();
    assert_eq!(sealed.split('\n').count(), 3);
    assert!(!sealed.as_bytes().windows(64).any(|w| bytes.starts_with(w)));
    assert_eq!(ring.open_document(&sealed, &place("row-1")).unwrap(), bytes);

    assert!(ring.open_document(&sealed, &place("row-2")).is_err());
    let chunks: Vec<&str> = sealed.split('\n').collect();
    let swapped = [chunks[1], chunks[0], chunks[2]].join("\n");
    assert!(ring.open_document(&swapped, &place("row-1")).is_err());
    // Dropping the last chunk opens, shorter: why callers check the stored SHA-256.
    let shorter = ring
        .open_document(&chunks[..2].join("\n"), &place("row-1"))
        .unwrap();
    assert_ne!(shorter, bytes);
}
