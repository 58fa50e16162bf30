//! goAML XML: the suspicious transaction report of a case for any FIU that takes goAML (PPATK's
//! LTKM, an EU FIU's STR: one writer, the FIU's [`GoamlProfile`] naming its entity id, report
//! code, code lists and time zone), and PPATK's IFTI of a period's cross-border transfers,
//! streamed: the header goes out first, then each transfer as it is read, so a month of
//! transfers never sits in memory. Nothing is written for an incomplete report:
//! [`write_suspicion_report`] checks everything first, [`IftiWriter::transaction`] checks each
//! transfer before writing it (the caller writes to a temporary file and discards it on error).

use std::io::Write;

use rust_decimal::Decimal;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::content::{
    Address, Checker, Counterparty, Missing, ReportContent, Subject, Transaction, check_entity,
    check_transaction,
};
use crate::deadlines::offset_at;
use crate::fiu::GoamlProfile;
use crate::xml::XmlWriter;

/// Why a goAML file was not produced.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The report lacks what the format needs: every field listed.
    #[error("the report is incomplete: {}", list(.0))]
    Incomplete(Vec<Missing>),
    /// An IFTI period without a cross-border transfer (a goAML report needs one).
    #[error("no transfers to report")]
    Empty,
    #[error("writing the report failed: {0}")]
    Io(#[from] std::io::Error),
}

fn list(missing: &[Missing]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// goAML's `sql_date`: the FIU's local date and time, without an offset.
fn sql_date(at: OffsetDateTime, zone: &str) -> String {
    let local = at.to_offset(offset_at(zone, at));
    let p = PrimitiveDateTime::new(local.date(), local.time());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        p.year(),
        u8::from(p.month()),
        p.day(),
        p.hour(),
        p.minute(),
        p.second()
    )
}

fn parse_date(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn header<W: Write>(
    w: &mut XmlWriter<W>,
    fiu: &GoamlProfile,
    report_code: &str,
    reference: &str,
    submitted: OffsetDateTime,
    reason: Option<&str>,
    action: Option<&str>,
) -> std::io::Result<()> {
    let entity = &fiu.entity;
    w.open("report")?;
    w.leaf("rentity_id", &entity.rentity_id.to_string())?;
    w.leaf_opt("rentity_branch", entity.branch.as_deref())?;
    w.leaf("submission_code", "E")?;
    w.leaf("report_code", report_code)?;
    w.leaf("entity_reference", reference)?;
    w.leaf("submission_date", &sql_date(submitted, &fiu.zone))?;
    w.leaf("currency_code_local", &entity.local_currency)?;
    w.leaf_opt("reason", reason)?;
    w.leaf_opt("action", action)
}

fn address<W: Write>(w: &mut XmlWriter<W>, a: &Address, kind: &str) -> std::io::Result<()> {
    w.open("address")?;
    w.leaf("address_type", kind)?;
    w.leaf("address", &a.line)?;
    w.leaf("city", &a.city)?;
    w.leaf_opt("zip", a.postal_code.as_deref())?;
    w.leaf("country_code", &a.country)?;
    w.close()
}

/// The rate from `amount` to the local amount, six places.
fn rate(local: Decimal, amount: Decimal) -> Decimal {
    if amount.is_zero() {
        Decimal::ZERO
    } else {
        (local / amount).round_dp(6)
    }
}

fn foreign<W: Write>(
    w: &mut XmlWriter<W>,
    name: &'static str,
    currency: &str,
    amount: Decimal,
    local: Decimal,
) -> std::io::Result<()> {
    w.open(name)?;
    w.leaf("foreign_currency_code", currency)?;
    w.leaf("foreign_amount", &amount.normalize().to_string())?;
    w.leaf(
        "foreign_exchange_rate",
        &rate(local, amount).normalize().to_string(),
    )?;
    w.close()
}

/// The sender: our client, in full (LTKM), or by name only (IFTI: benteng holds no business
/// profile of a tenant, so the automatic report names it as a non-client entity).
enum From<'a> {
    Client(&'a Subject),
    Named(&'a str, &'a str),
}

fn from_side<W: Write>(
    w: &mut XmlWriter<W>,
    from: &From<'_>,
    t: &Transaction,
    fiu: &GoamlProfile,
    local: Decimal,
) -> std::io::Result<()> {
    let (entity, codes) = (&fiu.entity, &fiu.codes);
    let foreign_source = t.source_currency != entity.local_currency;
    match from {
        From::Client(s) => {
            w.open("t_from_my_client")?;
            w.leaf("from_funds_code", &codes.funds_code)?;
            if foreign_source {
                foreign(
                    w,
                    "from_foreign_currency",
                    &t.source_currency,
                    t.source_amount,
                    local,
                )?;
            }
            w.open("from_entity")?;
            w.leaf("name", &s.name)?;
            w.leaf_opt("incorporation_legal_form", s.legal_form.as_deref())?;
            w.leaf_opt("incorporation_number", s.incorporation_number.as_deref())?;
            w.leaf("business", s.business.as_deref().unwrap_or_default())?;
            w.open("addresses")?;
            if let Some(a) = &s.address {
                address(w, a, &codes.business_address_type)?;
            }
            w.close()?;
            w.leaf(
                "incorporation_country_code",
                s.incorporation_country.as_deref().unwrap_or_default(),
            )?;
            w.close()?;
            // Our client's country (PPATK's own, for an Indonesian tenant; abroad for an EU
            // FIU).
            w.leaf(
                "from_country",
                s.incorporation_country
                    .as_deref()
                    .unwrap_or(&entity.country),
            )?;
            w.close()
        }
        From::Named(name, country) => {
            w.open("t_from")?;
            w.leaf("from_funds_code", &codes.funds_code)?;
            if foreign_source {
                foreign(
                    w,
                    "from_foreign_currency",
                    &t.source_currency,
                    t.source_amount,
                    local,
                )?;
            }
            w.open("from_entity")?;
            w.leaf("name", name)?;
            w.close()?;
            w.leaf("from_country", country)?;
            w.close()
        }
    }
}

/// Where a counterparty without a reportable account keeps its IBAN: the comments.
fn iban_comment(r: &Counterparty, with_account: bool) -> Option<String> {
    if with_account {
        return None;
    }
    r.iban.as_ref().map(|iban| format!("IBAN {iban}"))
}

fn person<W: Write>(
    w: &mut XmlWriter<W>,
    r: &Counterparty,
    with_account: bool,
    fiu: &GoamlProfile,
) -> std::io::Result<()> {
    w.leaf("last_name", &r.name)?;
    w.leaf_opt("id_number", r.national_id.as_deref())?;
    if let Some(a) = &r.address {
        w.open("addresses")?;
        address(w, a, &fiu.codes.private_address_type)?;
        w.close()?;
    }
    w.leaf_opt("comments", iban_comment(r, with_account).as_deref())
}

fn entity_body<W: Write>(
    w: &mut XmlWriter<W>,
    r: &Counterparty,
    with_account: bool,
    fiu: &GoamlProfile,
) -> std::io::Result<()> {
    w.leaf("name", &r.name)?;
    w.leaf_opt("incorporation_number", r.national_id.as_deref())?;
    if let Some(a) = &r.address {
        w.open("addresses")?;
        address(w, a, &fiu.codes.business_address_type)?;
        w.close()?;
    }
    w.leaf_opt("comments", iban_comment(r, with_account).as_deref())
}

fn to_side<W: Write>(
    w: &mut XmlWriter<W>,
    t: &Transaction,
    fiu: &GoamlProfile,
    local: Decimal,
) -> std::io::Result<()> {
    let r = &t.recipient;
    let business = r.kind == "business";
    w.open("t_to")?;
    w.leaf("to_funds_code", &fiu.codes.funds_code)?;
    if t.target_currency != fiu.entity.local_currency {
        foreign(
            w,
            "to_foreign_currency",
            &t.target_currency,
            t.target_amount,
            local,
        )?;
    }
    match (&r.account, &r.institution_code) {
        (Some(account), Some(institution)) => {
            w.open("to_account")?;
            w.leaf("institution_code", institution)?;
            w.leaf("account", account)?;
            w.leaf("currency_code", &t.target_currency)?;
            w.leaf("account_name", &r.name)?;
            w.leaf_opt("iban", r.iban.as_deref())?;
            if business {
                w.open("t_entity")?;
                entity_body(w, r, true, fiu)?;
                w.close()?;
            } else {
                w.open("signatory")?;
                w.open("t_person")?;
                person(w, r, true, fiu)?;
                w.close()?;
                w.close()?;
            }
            w.close()?;
        }
        _ if business => {
            w.open("to_entity")?;
            entity_body(w, r, false, fiu)?;
            w.close()?;
        }
        _ => {
            w.open("to_person")?;
            person(w, r, false, fiu)?;
            w.close()?;
        }
    }
    w.leaf("to_country", &r.country)?;
    w.close()
}

fn transaction<W: Write>(
    w: &mut XmlWriter<W>,
    t: &Transaction,
    from: &From<'_>,
    fiu: &GoamlProfile,
) -> std::io::Result<()> {
    let local = t.local_amount.unwrap_or_default();
    w.open("transaction")?;
    w.leaf("transactionnumber", &t.number)?;
    w.leaf_opt("transaction_description", t.description.as_deref())?;
    w.leaf(
        "date_transaction",
        &sql_date(parse_date(&t.date), &fiu.zone),
    )?;
    w.leaf("transmode_code", &t.transmode)?;
    w.leaf("amount_local", &local.normalize().to_string())?;
    from_side(w, from, t, fiu, local)?;
    to_side(w, t, fiu, local)?;
    w.close()
}

/// Writes the suspicious transaction report of a complete report to `out` for `fiu` (its
/// report code: PPATK's LTKM, an EU FIU's STR); refuses an incomplete one with every missing
/// field before writing anything.
pub fn write_suspicion_report<W: Write>(
    out: W,
    fiu: &GoamlProfile,
    content: &ReportContent,
    reference: &str,
    submitted: OffsetDateTime,
) -> Result<W, ExportError> {
    let mut missing = content.missing_for_goaml(fiu);
    let mut c = Checker::default();
    c.required("reference", Some(reference), 255);
    missing.extend(c.missing);
    if !missing.is_empty() {
        return Err(ExportError::Incomplete(missing));
    }
    let mut w = XmlWriter::new(out)?;
    header(
        &mut w,
        fiu,
        &fiu.codes.report_code,
        reference,
        submitted,
        content.reason.as_deref(),
        content.action.as_deref(),
    )?;
    let from = From::Client(&content.subject);
    for t in &content.transactions {
        transaction(&mut w, t, &from, fiu)?;
    }
    if !content.indicators.is_empty() {
        w.open("report_indicators")?;
        for code in &content.indicators {
            w.leaf("indicator", code)?;
        }
        w.close()?;
    }
    Ok(w.finish()?)
}

/// Which way an IFTI transfer crossed the border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IftiDirection {
    /// TKLIP: incoming, reported by a non-bank funds-transfer operator.
    Incoming,
    /// TKLOP: outgoing, reported by a non-bank funds-transfer operator.
    Outgoing,
}

impl IftiDirection {
    pub fn report_code(self) -> &'static str {
        match self {
            IftiDirection::Incoming => "TKLIP",
            IftiDirection::Outgoing => "TKLOP",
        }
    }
}

/// An IFTI report being written: the header first, then each transfer as it is read.
pub struct IftiWriter<W: Write> {
    w: Option<XmlWriter<W>>,
    out: Option<W>,
    fiu: GoamlProfile,
    direction: IftiDirection,
    reference: String,
    submitted: OffsetDateTime,
    count: u64,
}

impl<W: Write> IftiWriter<W> {
    /// Checks the reporting entity; writes nothing until the first transfer. `fiu` is
    /// PPATK's profile (IFTI is PPATK's report).
    pub fn new(
        out: W,
        fiu: &GoamlProfile,
        direction: IftiDirection,
        reference: &str,
        submitted: OffsetDateTime,
    ) -> Result<Self, ExportError> {
        let mut c = Checker::default();
        check_entity(&mut c, &fiu.entity);
        c.required("reference", Some(reference), 255);
        if !c.missing.is_empty() {
            return Err(ExportError::Incomplete(c.missing));
        }
        Ok(Self {
            w: None,
            out: Some(out),
            fiu: fiu.clone(),
            direction,
            reference: reference.to_owned(),
            submitted,
            count: 0,
        })
    }

    /// Checks and writes one transfer sent by `sender` (its name); refused with every
    /// missing field of this transfer, named by its number.
    pub fn transaction(&mut self, sender: &str, t: &Transaction) -> Result<(), ExportError> {
        let mut c = Checker::default();
        let field = format!("transfer {}", t.number);
        c.required(&format!("{field}.sender"), Some(sender), 255);
        check_transaction(&mut c, &field, t, &self.fiu.codes);
        if !c.missing.is_empty() {
            return Err(ExportError::Incomplete(c.missing));
        }
        if self.w.is_none()
            && let Some(out) = self.out.take()
        {
            let mut w = XmlWriter::new(out)?;
            header(
                &mut w,
                &self.fiu,
                self.direction.report_code(),
                &self.reference,
                self.submitted,
                None,
                None,
            )?;
            self.w = Some(w);
        }
        if let Some(w) = self.w.as_mut() {
            let from = From::Named(sender, &self.fiu.entity.country);
            transaction(w, t, &from, &self.fiu)?;
            self.count += 1;
        }
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Ends the report; `Empty` when no transfer was written.
    pub fn finish(self) -> Result<(W, u64), ExportError> {
        match self.w {
            Some(w) => Ok((w.finish()?, self.count)),
            None => Err(ExportError::Empty),
        }
    }
}
