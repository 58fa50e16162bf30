//! KEK held in an HSM, reached through PKCS#11 (`cryptoki`, module loaded at run time).
//!
//! The AES-256 key is created non-extractable and sensitive on the token; wrapping is
//! `CKM_AES_GCM` (12-byte random IV chosen here, 128-bit tag, the keyring's AAD), which SoftHSM2
//! 2.6 and common HSMs support. The DEK bytes go in and out; the KEK never leaves the token.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::Ulong;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{KekProvider, WRAP_NONCE_LEN, WRAP_TAG_LEN, WRAP_V1, split_wrapped};
use crate::VaultError;

/// Where the HSM key is. The PIN is a secret and is redacted in `Debug`.
#[derive(Debug, Clone)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module_path: PathBuf,
    /// Label of the token (slot) holding the key.
    pub token_label: String,
    /// User PIN of the token. PKCS#11 login state is per process and token: once any session
    /// of this process is logged in, the token accepts further logins without checking the PIN.
    pub pin: SecretString,
    /// `CKA_LABEL` of the AES-256 secret key.
    pub key_label: String,
}

struct Conn {
    session: Session,
    key: ObjectHandle,
}

/// KEK provider backed by an AES-256 key inside a PKCS#11 token.
///
/// One logged-in session is kept behind a mutex (PKCS#11 sessions must not be used by two
/// threads at once); wrapping happens only when DEKs are created or loaded, so this is no
/// bottleneck. When the session is lost (token reset, HSM restart) the next call reconnects
/// once before reporting [`VaultError::KekUnavailable`].
pub struct Pkcs11Kek {
    id: String,
    config: Pkcs11Config,
    ctx: Pkcs11,
    slot: Slot,
    conn: Mutex<Option<Conn>>,
}

impl fmt::Debug for Pkcs11Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Kek")
            .field("id", &self.id)
            .field("module", &self.config.module_path)
            .field("token", &self.config.token_label)
            .field("key", &self.config.key_label)
            .finish()
    }
}

fn ck_reason(err: &CkError) -> String {
    match err {
        CkError::Pkcs11(rv, function) => format!("{function:?} returned {rv:?}"),
        CkError::LibraryLoading(e) => format!("cannot load PKCS#11 module: {e}"),
        other => format!("{other:?}"),
    }
}

/// Opens the module and initialises it; a module already initialised by this process (another
/// provider, a test) is fine.
fn open_context(config: &Pkcs11Config, kek_id: &str) -> Result<(Pkcs11, Slot), VaultError> {
    let unavailable = |reason: String| VaultError::KekUnavailable {
        kek_id: kek_id.to_owned(),
        reason,
    };
    if !config.module_path.is_file() {
        return Err(unavailable(format!(
            "PKCS#11 module {} not found",
            config.module_path.display()
        )));
    }
    let ctx = Pkcs11::new(&config.module_path).map_err(|e| unavailable(ck_reason(&e)))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(unavailable(ck_reason(&e))),
    }
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| unavailable(ck_reason(&e)))?;
    for slot in slots {
        if let Ok(info) = ctx.get_token_info(slot)
            && info.label().trim_end() == config.token_label
        {
            return Ok((ctx, slot));
        }
    }
    Err(unavailable(format!(
        "no token labelled {:?} in {}",
        config.token_label,
        config.module_path.display()
    )))
}

fn login(session: &Session, pin: &SecretString) -> Result<(), CkError> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

fn key_template(label: &str) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Label(label.as_bytes().to_vec()),
    ]
}

/// Errors after which a fresh session may succeed.
fn session_lost(err: &CkError) -> bool {
    matches!(
        err,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                | RvError::DeviceError,
            _
        )
    )
}

impl Pkcs11Kek {
    /// Loads the module, finds the token and logs in, then finds exactly one AES key with the
    /// label. Fails with [`VaultError::KekUnavailable`] (module missing, token absent, wrong PIN,
    /// no such key) so start-up stops rather than running without a KEK.
    pub fn connect(config: Pkcs11Config) -> Result<Self, VaultError> {
        let id = format!("pkcs11-{}/{}", config.token_label, config.key_label);
        let (ctx, slot) = open_context(&config, &id)?;
        let kek = Self {
            id,
            config,
            ctx,
            slot,
            conn: Mutex::new(None),
        };
        let conn = kek.open_conn()?;
        *kek.lock() = Some(conn);
        Ok(kek)
    }

    /// Generates the AES-256 KEK inside the token (sensitive, non-extractable, persistent). For
    /// set-up tools (`benteng kek init-hsm`) and tests; refuses when a key with the label exists.
    pub fn create_key(config: &Pkcs11Config) -> Result<(), VaultError> {
        let id = format!("pkcs11-{}/{}", config.token_label, config.key_label);
        let unavailable = |e: CkError| VaultError::KekUnavailable {
            kek_id: id.clone(),
            reason: ck_reason(&e),
        };
        let (ctx, slot) = open_context(config, &id)?;
        let session = ctx.open_rw_session(slot).map_err(unavailable)?;
        login(&session, &config.pin).map_err(unavailable)?;
        let existing = session
            .find_objects(&key_template(&config.key_label))
            .map_err(unavailable)?;
        if !existing.is_empty() {
            return Err(VaultError::InvalidInput {
                what: "HSM key label",
                reason: format!("a key labelled {:?} already exists", config.key_label),
            });
        }
        let mut template = key_template(&config.key_label);
        template.extend([
            Attribute::ValueLen(Ulong::new(32)),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
        ]);
        session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(unavailable)?;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Conn>> {
        // The guarded value is only a session handle; a panic elsewhere cannot leave it half
        // updated, so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unavailable(&self, e: &CkError) -> VaultError {
        VaultError::KekUnavailable {
            kek_id: self.id.clone(),
            reason: ck_reason(e),
        }
    }

    fn open_conn(&self) -> Result<Conn, VaultError> {
        let session = self
            .ctx
            .open_ro_session(self.slot)
            .map_err(|e| self.unavailable(&e))?;
        login(&session, &self.config.pin).map_err(|e| self.unavailable(&e))?;
        let keys = session
            .find_objects(&key_template(&self.config.key_label))
            .map_err(|e| self.unavailable(&e))?;
        match keys.as_slice() {
            [key] => Ok(Conn { session, key: *key }),
            [] => Err(VaultError::KekUnavailable {
                kek_id: self.id.clone(),
                reason: format!(
                    "no AES key labelled {:?} on the token",
                    self.config.key_label
                ),
            }),
            _ => Err(VaultError::KekUnavailable {
                kek_id: self.id.clone(),
                reason: format!(
                    "{} AES keys labelled {:?}; the label must be unique",
                    keys.len(),
                    self.config.key_label
                ),
            }),
        }
    }

    /// Runs `op` on the session, reconnecting once if the session was lost. The outer error
    /// means no session could be had; the inner one is the operation's own result.
    fn with_session<T>(
        &self,
        op: impl Fn(&Session, ObjectHandle) -> Result<T, CkError>,
    ) -> Result<Result<T, CkError>, VaultError> {
        let mut guard = self.lock();
        let mut retried = false;
        loop {
            let conn = match guard.take() {
                Some(conn) => conn,
                None => self.open_conn()?,
            };
            let result = op(&conn.session, conn.key);
            match result {
                Err(e) if !retried && session_lost(&e) => {
                    tracing::warn!(kek_id = %self.id, "PKCS#11 session lost; reconnecting");
                    retried = true;
                    drop(conn);
                }
                other => {
                    *guard = Some(conn);
                    return Ok(other);
                }
            }
        }
    }
}

impl KekProvider for Pkcs11Kek {
    fn id(&self) -> &str {
        &self.id
    }

    fn describe(&self) -> String {
        format!(
            "PKCS#11 module {}, token {:?}, key {:?} (CKM_AES_GCM, id {})",
            self.config.module_path.display(),
            self.config.token_label,
            self.config.key_label,
            self.id
        )
    }

    fn wrap(&self, key_material: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
        let nonce = benteng_crypto::random_bytes::<WRAP_NONCE_LEN>()?;
        let sealed = self
            .with_session(|session, key| {
                let mut iv = nonce;
                let params = GcmParams::new(&mut iv, aad, Ulong::new(128))?;
                session.encrypt(&Mechanism::AesGcm(params), key, key_material)
            })?
            .map_err(|e| self.unavailable(&e))?;
        if sealed.len() != key_material.len() + WRAP_TAG_LEN {
            return Err(VaultError::KekUnavailable {
                kek_id: self.id.clone(),
                reason: "the HSM returned an unexpected AES-GCM output length".into(),
            });
        }
        let mut out = Vec::with_capacity(1 + WRAP_NONCE_LEN + sealed.len());
        out.push(WRAP_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let (nonce, sealed) = split_wrapped(wrapped)?;
        let result = self.gcm_decrypt(nonce, sealed, aad)?;
        result.map_err(|e| match e {
            // What the standard says tokens report for a failed GCM tag check.
            CkError::Pkcs11(RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange, _) => {
                VaultError::AuthenticationFailed {
                    what: "wrapped key",
                }
            }
            // SoftHSM2 before 2.7 (Debian 12 ships 2.6.1) reports a failed tag check as
            // CKR_GENERAL_ERROR; other tokens use CKR_FUNCTION_FAILED. A round trip of a probe
            // value tells a healthy token refusing the data from a broken token.
            CkError::Pkcs11(RvError::GeneralError | RvError::FunctionFailed, _) if self.probe() => {
                VaultError::AuthenticationFailed {
                    what: "wrapped key",
                }
            }
            other => self.unavailable(&other),
        })
    }
}

impl Pkcs11Kek {
    fn gcm_decrypt(
        &self,
        nonce: [u8; WRAP_NONCE_LEN],
        sealed: &[u8],
        aad: &[u8],
    ) -> Result<Result<Zeroizing<Vec<u8>>, CkError>, VaultError> {
        self.with_session(|session, key| {
            let mut iv = nonce;
            let params = GcmParams::new(&mut iv, aad, Ulong::new(128))?;
            session
                .decrypt(&Mechanism::AesGcm(params), key, sealed)
                .map(Zeroizing::new)
        })
    }

    /// True when the token wraps and unwraps a random probe value correctly.
    fn probe(&self) -> bool {
        const AAD: &[u8] = b"benteng-vault/pkcs11-probe";
        let Ok(value) = benteng_crypto::random_bytes::<16>() else {
            return false;
        };
        let Ok(wrapped) = self.wrap(&value, AAD) else {
            return false;
        };
        let Ok((nonce, sealed)) = split_wrapped(&wrapped) else {
            return false;
        };
        matches!(self.gcm_decrypt(nonce, sealed, AAD), Ok(Ok(v)) if v.as_slice() == value)
    }
}
