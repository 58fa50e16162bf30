//! Audit events in the spec's shape. Every financial operation and security event produces one,
//! written in the same database transaction as the change it records.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::ids::TenantId;

/// How long an event is kept (the spec's retention table). Each class is its own hash chain,
/// so purging one class's expired prefix leaves the others intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Retention {
    /// Security and financial events (PCI-DSS, AML): 7 years.
    Security,
    /// Access records: 2 years.
    Access,
    /// Application events: 90 days.
    App,
}

impl Retention {
    pub const ALL: [Retention; 3] = [Retention::Security, Retention::Access, Retention::App];

    pub fn as_str(&self) -> &'static str {
        match self {
            Retention::Security => "security",
            Retention::Access => "access",
            Retention::App => "app",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn keep_for(&self) -> time::Duration {
        match self {
            Retention::Security => time::Duration::days(7 * 365 + 2),
            Retention::Access => time::Duration::days(2 * 365 + 1),
            Retention::App => time::Duration::days(90),
        }
    }
}

/// Who caused a change and through which request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditContext {
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub ip: Option<String>,
    /// `api`, `cli`, `rail:sandbox`, `system`, `staff:LOGIN`…
    pub actor: String,
    /// For a person's action: the session it came through (its id, never its token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// For a person's action: the roles they held, names separated by spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<String>,
}

impl AuditContext {
    pub fn system(actor: &str) -> Self {
        Self {
            actor: actor.to_owned(),
            ..Self::default()
        }
    }

    pub fn for_tenant(&self, tenant: TenantId) -> Self {
        Self {
            tenant_id: Some(tenant),
            ..self.clone()
        }
    }

    /// The same actor, filed under no tenant: for compliance's events, which stay outside the
    /// tenant's trail (no tip-off).
    pub fn staff_only(&self) -> Self {
        Self {
            tenant_id: None,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub event_type: String,
    pub retention: Retention,
    pub context: AuditContext,
    pub resource_type: String,
    pub resource_id: String,
    /// `{field: {from, to}}`.
    pub changes: Value,
    /// Compliance facts (screening score, verdict, explanation), when relevant.
    pub compliance: Option<Value>,
}

impl AuditEvent {
    pub fn new(
        context: &AuditContext,
        event_type: &str,
        retention: Retention,
        resource: (&str, String),
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7(),
            timestamp: crate::now(),
            event_type: event_type.to_owned(),
            retention,
            context: context.clone(),
            resource_type: resource.0.to_owned(),
            resource_id: resource.1,
            changes: Value::Object(Map::new()),
            compliance: None,
        }
    }

    /// Records `field` going `from` → `to`.
    /// The event's time, from the clock of the change it records.
    pub fn at(mut self, timestamp: time::OffsetDateTime) -> Self {
        self.timestamp = timestamp;
        self
    }

    pub fn change(mut self, field: &str, from: Value, to: Value) -> Self {
        if let Value::Object(changes) = &mut self.changes {
            changes.insert(
                field.to_owned(),
                serde_json::json!({"from": from, "to": to}),
            );
        }
        self
    }

    pub fn with_compliance(mut self, compliance: Value) -> Self {
        self.compliance = Some(compliance);
        self
    }

    /// The spec's document: `timestamp, event_type, trace, actor, resource, changes, compliance`.
    pub fn document(&self) -> Value {
        let timestamp = self
            .timestamp
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        serde_json::json!({
            "id": self.id.to_string(),
            "timestamp": timestamp,
            "event_type": self.event_type,
            "retention": self.retention.as_str(),
            "trace": {"request_id": self.context.request_id, "trace_id": self.context.trace_id},
            "actor": self.actor_document(),
            "resource": {"type": self.resource_type, "id": self.resource_id},
            "changes": self.changes,
            "compliance": self.compliance,
        })
    }

    /// Who acted. A person's session and roles appear only when present, so events recorded
    /// before people existed keep their documents (and hashes) unchanged.
    fn actor_document(&self) -> Value {
        let mut actor = serde_json::json!({
            "tenant_id": self.context.tenant_id.map(|t| t.to_string()),
            "ip": self.context.ip,
            "by": self.context.actor,
        });
        if let Value::Object(fields) = &mut actor {
            if let Some(session) = &self.context.session {
                fields.insert("session".to_owned(), session.as_str().into());
            }
            if let Some(roles) = &self.context.roles {
                fields.insert("roles".to_owned(), roles.as_str().into());
            }
        }
        actor
    }

    /// The canonical bytes the hash chain covers: the document with keys sorted at every level,
    /// no insignificant whitespace. serde_json's map is a `BTreeMap` (its `preserve_order`
    /// feature is off; a test fails if a dependency turns it on), so serialising sorts the keys.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(&self.document()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canonical_form_is_stable_and_covers_every_field() {
        let event = AuditEvent::new(
            &AuditContext::system("cli"),
            "tenant.created",
            Retention::Security,
            ("tenant", "t1".to_owned()),
        )
        .change("status", Value::Null, Value::from("active"));
        let a = event.canonical();
        assert_eq!(a, event.clone().canonical());
        let mut other = event.clone();
        other.resource_id = "t2".to_owned();
        assert_ne!(a, other.canonical());
        let text = String::from_utf8(a).unwrap();
        assert!(
            text.contains(r#""changes":{"status":{"from":null,"to":"active"}}"#),
            "{text}"
        );
    }

    #[test]
    fn canonical_keys_are_sorted_at_every_level() {
        let event = AuditEvent::new(
            &AuditContext::system("cli"),
            "tenant.created",
            Retention::Security,
            ("tenant", "t1".to_owned()),
        )
        .change("zeta", Value::Null, serde_json::json!({"z": 1, "a": 2}))
        .change("alpha", Value::Null, Value::Null);
        let text = String::from_utf8(event.canonical()).unwrap();
        let at = |needle: &str| text.find(needle).unwrap();
        assert!(at(r#""actor""#) < at(r#""changes""#), "{text}");
        assert!(at(r#""changes""#) < at(r#""event_type""#), "{text}");
        assert!(at(r#""alpha""#) < at(r#""zeta""#), "{text}");
        assert!(text.contains(r#"{"a":2,"z":1}"#), "{text}");
    }
}
