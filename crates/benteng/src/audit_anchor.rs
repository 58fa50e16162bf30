//! Anchors for the audit trail, kept outside the database's write path.
//!
//! The hash chains prove that no row *inside* a chain was changed, but not where a chain ends:
//! whoever can delete rows could cut the newest ones, or cut an unexpired prefix and write a
//! checkpoint to resume from. Two signatures close that, both made with the audit anchor key
//! (ES256, its private half sealed under the KEK in `audit_anchor_keys`, so writing the table
//! does not give anyone a key):
//!
//! - An **anchor** is a compact JWS of every chain's head (position and hash), exported to a
//!   file on a schedule (`audit.anchor_dir`) or by `benteng audit anchor --out FILE`. Checked
//!   against one, every chain must still reach the anchored position with the anchored hash.
//! - A **purge checkpoint** carries `benteng audit purge`'s signature over its class, position
//!   and hash; a checkpoint without a valid one is a break.
//!
//! Verifying a signature unseals the key named by the JWS's `kid`: the public half is derived
//! from the sealed private half, never read from a column an attacker could rewrite.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_crypto::ExposeSecret;
use benteng_crypto::jose::{CompactJws, EcSigningKey, FapiAlg, PublicJwk};
use benteng_store::{AnchorKeyRow, AuditBreak, AuditReport, ChainPoint, Store, StoreError};
use benteng_vault::{Aad, KeyPurpose, Keyring};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The JWS `typ` of an anchor file and of a purge checkpoint's signature: one is never taken for
/// the other.
const ANCHOR_TYP: &str = "benteng-audit-anchor";
const CHECKPOINT_TYP: &str = "benteng-audit-checkpoint";
/// An anchor names three chain heads; anything much larger is not one.
const MAX_ANCHOR_BYTES: u64 = 64 * 1024;
/// Scheduled anchors are files named `audit-anchor-{UTC time}.jws`, so names sort by time.
const ANCHOR_PREFIX: &str = "audit-anchor-";
const ANCHOR_SUFFIX: &str = ".jws";

fn key_aad(kid: &str) -> Aad<'_> {
    Aad::new("platform", "audit_anchor_keys", "sealed_key", kid)
}

/// The audit anchor keys: the one that signs, and any named by a signature.
#[derive(Clone)]
pub struct AnchorKeys {
    store: Store,
    keyring: Arc<Keyring>,
}

/// An anchor file whose signature verified: the chain heads it vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub anchored_at: i64,
    pub heads: Vec<(Retention, ChainPoint)>,
}

impl AnchorKeys {
    pub fn new(store: Store, keyring: Arc<Keyring>) -> Self {
        Self { store, keyring }
    }

    /// The newest key and its kid; the first is made when there is none (audited as
    /// `context`'s).
    async fn signer(&self, context: &AuditContext) -> anyhow::Result<(String, EcSigningKey)> {
        if let Some(row) = self.store.audit_anchor_keys().await?.pop() {
            return Ok((row.kid.clone(), self.unseal(&row)?));
        }
        let key = EcSigningKey::generate()?;
        let kid = format!("audit-anchor-{}", uuid::Uuid::new_v4().simple());
        let sealed =
            self.keyring
                .encrypt(&KeyPurpose::PRIVATE_KEY, &key.to_pkcs8()?, &key_aad(&kid))?;
        let row = AnchorKeyRow {
            kid: kid.clone(),
            sealed_key: sealed,
        };
        self.store.insert_audit_anchor_key(&row, context).await?;
        Ok((kid, key))
    }

    fn unseal(&self, row: &AnchorKeyRow) -> anyhow::Result<EcSigningKey> {
        let der = self
            .keyring
            .decrypt(&row.sealed_key, &key_aad(&row.kid))
            .context("the audit anchor key cannot be unsealed")?;
        Ok(EcSigningKey::from_pkcs8(der.expose_secret())?)
    }

    /// Checks `token`'s signature with the key its `kid` names and that its `typ` is `typ`;
    /// answers its claims.
    async fn open(&self, token: &str, typ: &str) -> Result<Map<String, Value>, String> {
        let jws = CompactJws::parse(token).map_err(|e| format!("not a signed statement: {e}"))?;
        if jws.header_str("typ") != Some(typ) || jws.alg() != Ok(FapiAlg::Es256) {
            return Err(format!("not a {typ} signed with ES256"));
        }
        let kid = jws.header_str("kid").ok_or("no kid in its header")?;
        let rows = self
            .store
            .audit_anchor_keys()
            .await
            .map_err(|e| format!("reading the anchor keys: {e}"))?;
        let row = rows
            .iter()
            .find(|r| r.kid == kid)
            .ok_or_else(|| format!("signed by {kid}, which is not an audit anchor key here"))?;
        let key = self.unseal(row).map_err(|e| e.to_string())?;
        let public = PublicJwk::from_value(&key.public_jwk(kid))
            .map_err(|_| "the anchor key has no usable public half".to_owned())?;
        jws.verify_with(&public)
            .map_err(|_| "its signature does not verify".to_owned())?;
        Ok(jws.claims)
    }

    async fn sign(
        &self,
        typ: &str,
        claims: &Value,
        context: &AuditContext,
    ) -> anyhow::Result<String> {
        let (kid, key) = self.signer(context).await?;
        let mut header = Map::new();
        header.insert("typ".into(), typ.into());
        header.insert("kid".into(), kid.into());
        Ok(key.sign(&header, claims)?)
    }

    /// The signature a purge puts on the checkpoint it leaves.
    pub async fn checkpoint_signer(
        &self,
        context: &AuditContext,
    ) -> anyhow::Result<impl FnOnce(Retention, &ChainPoint) -> Result<String, StoreError> + use<>>
    {
        let (kid, key) = self.signer(context).await?;
        Ok(move |retention: Retention, point: &ChainPoint| {
            let mut header = Map::new();
            header.insert("typ".into(), CHECKPOINT_TYP.into());
            header.insert("kid".into(), kid.into());
            key.sign(&header, &checkpoint_claims(retention, point))
                .map_err(|e| StoreError::Corrupt(format!("signing the checkpoint: {e}")))
        })
    }

    /// Checks an anchor file's text: a JWS of ours, whose claims name chain heads.
    pub async fn read_anchor(&self, text: &str) -> anyhow::Result<Anchor> {
        let claims = self
            .open(text.trim(), ANCHOR_TYP)
            .await
            .map_err(|problem| anyhow::anyhow!("the anchor is refused: {problem}"))?;
        let anchored_at = claims
            .get("anchored_at")
            .and_then(Value::as_i64)
            .context("the anchor has no anchored_at")?;
        let chains = claims
            .get("chains")
            .and_then(Value::as_object)
            .context("the anchor names no chains")?;
        let mut heads = Vec::new();
        for (class, head) in chains {
            let retention = Retention::parse(class)
                .with_context(|| format!("the anchor names an unknown class {class:?}"))?;
            let position = head.get("position").and_then(Value::as_i64);
            let hash = head.get("hash").and_then(Value::as_str);
            let (Some(position), Some(hash)) = (position, hash) else {
                bail!("the anchor's {class} head is not a position and a hash");
            };
            heads.push((
                retention,
                ChainPoint {
                    position,
                    hash: hash.to_owned(),
                },
            ));
        }
        Ok(Anchor { anchored_at, heads })
    }
}

fn checkpoint_claims(retention: Retention, point: &ChainPoint) -> Value {
    json!({"class": retention.as_str(), "position": point.position, "hash": point.hash})
}

/// Walks every chain (see [`Store::verify_audit`]), then checks what the store cannot: each
/// purge checkpoint's signature and, given an anchor, that every anchored chain still reaches its
/// anchored head. The first problem found is the report's `first_break`.
pub async fn verify(keys: &AnchorKeys, anchor: Option<&Anchor>) -> Result<AuditReport, StoreError> {
    let mut report = keys.store.verify_audit().await?;
    if report.first_break.is_some() {
        return Ok(report);
    }
    report.first_break = match first_unsigned_checkpoint(keys, &report).await {
        Some(broken) => Some(broken),
        None => match anchor {
            Some(anchor) => short_of_anchor(&keys.store, &report, anchor).await?,
            None => None,
        },
    };
    Ok(report)
}

async fn first_unsigned_checkpoint(keys: &AnchorKeys, report: &AuditReport) -> Option<AuditBreak> {
    for chain in &report.chains {
        let Some(checkpoint) = &chain.resumed_from else {
            continue;
        };
        let problem = match &checkpoint.signature {
            None => Some("the purge checkpoint it resumes from is not signed".to_owned()),
            Some(token) => match keys.open(token, CHECKPOINT_TYP).await {
                Err(problem) => Some(format!("the purge checkpoint it resumes from: {problem}")),
                Ok(claims) => (Value::Object(claims)
                    != checkpoint_claims(chain.retention, &checkpoint.point))
                .then(|| "the purge checkpoint's signature is for another place".to_owned()),
            },
        };
        if let Some(problem) = problem {
            return Some(AuditBreak {
                retention: chain.retention,
                position: checkpoint.point.position,
                event_id: String::new(),
                problem,
            });
        }
    }
    None
}

async fn short_of_anchor(
    store: &Store,
    report: &AuditReport,
    anchor: &Anchor,
) -> Result<Option<AuditBreak>, StoreError> {
    for (retention, anchored) in &anchor.heads {
        let chain = report.chains.iter().find(|c| c.retention == *retention);
        let head = chain.and_then(|c| c.head.as_ref());
        let broken = |problem: String| AuditBreak {
            retention: *retention,
            position: anchored.position,
            event_id: String::new(),
            problem,
        };
        let Some(head) = head.filter(|h| h.position >= anchored.position) else {
            let ends = head.map_or(0, |h| h.position);
            return Ok(Some(broken(format!(
                "the chain ends at position {ends}, before the anchored head {} (rows removed \
                 from its end)",
                anchored.position
            ))));
        };
        let start = chain
            .and_then(|c| c.resumed_from.as_ref())
            .map(|c| &c.point);
        let hash_there = match start {
            // Purged past the anchored head by a signed checkpoint: nothing left to compare.
            Some(start) if start.position > anchored.position => continue,
            Some(start) if start.position == anchored.position => Some(start.hash.clone()),
            _ if head.position == anchored.position => Some(head.hash.clone()),
            _ => {
                store
                    .audit_chain_hash(*retention, anchored.position)
                    .await?
            }
        };
        if hash_there.as_deref() != Some(anchored.hash.as_str()) {
            return Ok(Some(broken(
                "the chain's hash at the anchored head differs from the anchor's (rows replaced)"
                    .to_owned(),
            )));
        }
    }
    Ok(None)
}

/// Seals, verifies (against `previous`, the last anchor, when there is one), and signs every
/// chain's head; the export is audited (`audit.anchored`). A trail that does not verify is not
/// anchored: a cut trail must not become the new reference.
pub async fn export(
    keys: &AnchorKeys,
    previous: Option<&Anchor>,
    context: &AuditContext,
) -> anyhow::Result<String> {
    keys.store.seal_audit().await?;
    let report = verify(keys, previous).await?;
    if let Some(broken) = report.first_break {
        bail!(
            "the audit trail does not verify ({} chain at position {}: {}); nothing anchored",
            broken.retention.as_str(),
            broken.position,
            broken.problem
        );
    }
    let now = OffsetDateTime::now_utc();
    let mut chains = Map::new();
    for chain in &report.chains {
        if let Some(head) = &chain.head {
            chains.insert(
                chain.retention.as_str().to_owned(),
                json!({"position": head.position, "hash": head.hash}),
            );
        }
    }
    let token = keys
        .sign(
            ANCHOR_TYP,
            &json!({"anchored_at": now.unix_timestamp(), "chains": chains}),
            context,
        )
        .await?;
    let event = AuditEvent::new(
        context,
        "audit.anchored",
        Retention::Security,
        ("audit_anchor", now.unix_timestamp().to_string()),
    )
    .change("heads", Value::Null, Value::Object(chains));
    keys.store.audit(&event).await?;
    Ok(token)
}

/// Reads an anchor file (bounded: an anchor is small) as text.
pub fn read_anchor_file(path: &Path) -> anyhow::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_ANCHOR_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_ANCHOR_BYTES {
        bail!("{} is larger than an audit anchor can be", path.display());
    }
    String::from_utf8(bytes).with_context(|| format!("{} is not text", path.display()))
}

/// Writes `token` to `path` through a temporary file beside it, so a reader never sees half.
pub fn write_anchor_file(path: &Path, token: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{token}\n"))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// The scheduled anchors in `dir`, newest first.
fn anchors_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(ANCHOR_PREFIX) && n.ends_with(ANCHOR_SUFFIX))
        })
        .collect();
    files.sort();
    files.reverse();
    files
}

/// The newest anchor in `dir` whose signature verifies (`None`: the directory holds no anchor
/// yet). One that does not verify is skipped with an error in the log, so a file planted there
/// cannot switch the check off; when anchors exist but none verifies (the key's row deleted,
/// every file replaced) that is itself an error, never a reason to check without one.
pub async fn newest_anchor(keys: &AnchorKeys, dir: &Path) -> Result<Option<Anchor>, String> {
    let files = anchors_in(dir);
    for path in &files {
        let read = match read_anchor_file(path) {
            Ok(text) => keys.read_anchor(&text).await,
            Err(error) => Err(error),
        };
        match read {
            Ok(anchor) => return Ok(Some(anchor)),
            Err(error) => {
                tracing::error!(file = %path.display(), error = format!("{error:#}"), "an audit anchor is refused");
            }
        }
    }
    if files.is_empty() {
        Ok(None)
    } else {
        Err(format!(
            "none of the {} anchors in {} verifies",
            files.len(),
            dir.display()
        ))
    }
}

/// Exports an anchor into `dir` every `interval_secs` (the first one now).
pub fn spawn_anchoring(keys: AnchorKeys, dir: PathBuf, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(interval_secs));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let format = time::macros::format_description!(
            "[year][month][day]T[hour][minute][second][subsecond digits:6]Z"
        );
        loop {
            ticker.tick().await;
            let context = AuditContext::system("audit-anchor");
            let written = async {
                let previous = newest_anchor(&keys, &dir)
                    .await
                    .map_err(anyhow::Error::msg)?;
                let token = export(&keys, previous.as_ref(), &context).await?;
                let stamp = OffsetDateTime::now_utc().format(&format)?;
                let path = dir.join(format!("{ANCHOR_PREFIX}{stamp}{ANCHOR_SUFFIX}"));
                write_anchor_file(&path, &token)?;
                anyhow::Ok(path)
            }
            .await;
            match written {
                Ok(path) => tracing::info!(file = %path.display(), "audit trail anchored"),
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "the audit trail could not be anchored"
                    );
                }
            }
        }
    });
}
