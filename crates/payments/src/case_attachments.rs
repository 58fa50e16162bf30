//! Files staff attach to a case (a bank statement, a screenshot, a note from a call): checked
//! by the one document check (`core::documents`: declared type among the case allow-list,
//! against the bytes; the size cap), sealed like KYC documents (`Keyring::seal_document`,
//! Tier 1 keys) and added to an open case with its log entry and audit event in one
//! transaction. A closed case is never edited, so it takes no attachment (409 `case-closed`).
//! Reading one back is a read of personal data, audited for staff only (no tip-off).

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::documents::{DocumentType, FileName};
use benteng_core::ids::CaseId;
use benteng_store::{CaseAttachmentRow, CaseEvent, NewCaseAttachment, StoreError};
use benteng_vault::{DocumentPlace, KeyPurpose};

use crate::{Payments, Refusal};

/// The default cap on one attachment (`cases.attachment_max_bytes`).
pub const DEFAULT_ATTACHMENT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// A file to attach, as the handler read it.
#[derive(Debug)]
pub struct NewAttachment<'a> {
    pub filename: FileName,
    /// The declared type, among [`DocumentType::CASE_ATTACHMENT`].
    pub declared: DocumentType,
    pub bytes: &'a [u8],
}

/// Attachments may hold anything about a party, identity papers included: sealed under the
/// Tier 1 national-id keys, as KYC identity documents are.
const PURPOSE: KeyPurpose = KeyPurpose::NATIONAL_ID;

fn place<'a>(tenant: &'a str, row: &'a str) -> DocumentPlace<'a> {
    DocumentPlace {
        tenant_id: tenant,
        table: "case_attachments",
        column: "document",
        row_id: row,
    }
}

impl Payments {
    /// The most bytes one attachment may have.
    pub fn attachment_max_bytes(&self) -> usize {
        self.cases.attachment_max_bytes
    }

    /// Adds a file to an open case. Refused, with nothing written: a type outside the
    /// allow-list, content that is not of the declared type, an empty or oversized file
    /// ([`Refusal::Document`]), no such case, a closed case ([`Refusal::CaseClosed`]).
    pub async fn attach_to_case(
        &self,
        case: CaseId,
        file: NewAttachment<'_>,
        audit: &AuditContext,
    ) -> Result<CaseAttachmentRow, Refusal> {
        if !DocumentType::CASE_ATTACHMENT.contains(&file.declared) {
            return Err(Refusal::Document(
                benteng_core::documents::DocumentRefusal::UnsupportedType {
                    allowed: DocumentType::CASE_ATTACHMENT,
                },
            ));
        }
        file.declared
            .check(file.bytes, self.cases.attachment_max_bytes)
            .map_err(Refusal::Document)?;
        let row = match self.store.case(case).await {
            Err(StoreError::NotFound) => return Err(Refusal::CaseNotFound),
            other => other?,
        };
        if row.status == benteng_core::cases::CaseStatus::Closed {
            return Err(Refusal::CaseClosed);
        }
        let id = uuid::Uuid::now_v7();
        let now = self.clock.now();
        let tenant = row.tenant_id.to_string();
        let row_id = id.to_string();
        let document = self
            .keyring
            .seal_document(&PURPOSE, file.bytes, &place(&tenant, &row_id))
            .map_err(|e| Refusal::unavailable("sealing a case attachment failed", e))?;
        let size_bytes = i64::try_from(file.bytes.len()).unwrap_or(i64::MAX);
        let attachment = NewCaseAttachment {
            id,
            case,
            filename: file.filename.as_str().to_owned(),
            content_type: file.declared.mime(),
            size_bytes,
            sha256: hex::encode(benteng_crypto::sha256(file.bytes)),
            document,
            uploaded_by: audit.actor.clone(),
            at: now,
        };
        let data = serde_json::json!({
            "attachment": row_id,
            "filename": file.filename.as_str(),
            "content_type": file.declared.mime(),
            "size_bytes": size_bytes,
        });
        let event = CaseEvent {
            at: now,
            actor: audit.actor.clone(),
            kind: "attachment_added".to_owned(),
            comment: None,
            data: Some(data.to_string()),
        };
        // Staff-only (no tip-off); the name stays in the case's log, the trail names the file
        // by id, type and size.
        let audit_event = AuditEvent::new(
            &audit.staff_only(),
            "case.attachment_added",
            Retention::Security,
            ("case", case.to_string()),
        )
        .at(now)
        .change("attachment", serde_json::Value::Null, row_id.clone().into())
        .change(
            "content_type",
            serde_json::Value::Null,
            file.declared.mime().into(),
        )
        .change("size_bytes", serde_json::Value::Null, size_bytes.into());
        match self
            .store
            .add_case_attachment(&attachment, &event, &audit_event)
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(Refusal::CaseNotFound),
            // Closed between the read above and the write.
            Err(StoreError::Conflict) => return Err(Refusal::CaseClosed),
            Err(other) => return Err(other.into()),
        }
        Ok(CaseAttachmentRow {
            id: row_id,
            case,
            filename: attachment.filename,
            content_type: attachment.content_type.to_owned(),
            size_bytes,
            sha256: attachment.sha256,
            uploaded_by: attachment.uploaded_by,
            created_at: now,
        })
    }

    /// One attachment of `case` in the clear, checked against its stored SHA-256; the read is
    /// audited (`personal_data.read`, staff-only). `CaseNotFound` unless it is that case's.
    pub async fn case_attachment(
        &self,
        case: CaseId,
        id: uuid::Uuid,
        audit: &AuditContext,
    ) -> Result<(CaseAttachmentRow, DocumentType, Vec<u8>), Refusal> {
        let tenant = match self.store.case(case).await {
            Err(StoreError::NotFound) => return Err(Refusal::CaseNotFound),
            other => other?.tenant_id.to_string(),
        };
        let (row, sealed) = match self.store.case_attachment_document(case, id).await {
            Err(StoreError::NotFound) => return Err(Refusal::CaseNotFound),
            other => other?,
        };
        let kind = DocumentType::from_mime(&row.content_type)
            .ok_or_else(|| Refusal::unavailable("a case attachment", "unknown content type"))?;
        let clear = self
            .keyring
            .open_document(&sealed, &place(&tenant, &row.id))
            .map_err(|e| Refusal::unavailable("a case attachment could not be opened", e))?;
        if hex::encode(benteng_crypto::sha256(&clear)) != row.sha256 {
            return Err(Refusal::unavailable(
                "a case attachment",
                "its content does not match its digest",
            ));
        }
        let event = AuditEvent::new(
            &audit.staff_only(),
            "personal_data.read",
            Retention::Security,
            ("case_attachment", row.id.clone()),
        )
        .at(self.clock.now())
        .change("case", serde_json::Value::Null, case.to_string().into())
        .change("tier", serde_json::Value::Null, 1.into());
        self.store.record_audit(&event).await?;
        Ok((row, kind, clear))
    }
}
