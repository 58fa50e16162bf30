//! The structured export. The NCA's SAR Portal takes no file upload, so the export is what an
//! officer types in, arranged in the portal's sections (reporter, main subject, associated
//! subjects, transactions, reason for suspicion with glossary codes), as JSON and as a
//! printable HTML page (every value escaped, no script, no outside resource). An EU FIU that
//! takes no goAML gets the same sections with its own reason codes and no DAML
//! ([`StructuredProfile`]).

use serde::Serialize;

use crate::content::{Missing, ReportContent, ReportingEntity};
use crate::fiu::StructuredProfile;
use crate::xml::escape;

/// The SAR in the portal's sections.
#[derive(Debug, Clone, Serialize)]
pub struct SarExport {
    pub format: &'static str,
    pub title: String,
    pub reference: String,
    pub reporter: Reporter,
    pub main_subject: SarSubject,
    pub associated_subjects: Vec<SarSubject>,
    pub transactions: Vec<SarTransaction>,
    pub reason_for_suspicion: Reason,
    /// UK only: whether a defence is requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daml: Option<Daml>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reporter {
    pub name: String,
    pub branch: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarSubject {
    /// `legal_entity` or `person`.
    pub subject_type: &'static str,
    pub name: String,
    pub identifiers: Vec<String>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub accounts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarTransaction {
    pub reference: String,
    pub date: String,
    pub amount: String,
    pub currency: String,
    pub credited_amount: String,
    pub credited_currency: String,
    pub beneficiary: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Glossary {
    pub code: String,
    pub meaning: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    pub glossary_codes: Vec<Glossary>,
    pub text: String,
    pub action_taken: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Daml {
    /// A defence (consent) is requested: the NCA has 7 working days to answer.
    pub requested: bool,
}

fn address_line(a: &crate::content::Address) -> String {
    let mut parts = vec![a.line.clone(), a.city.clone()];
    if let Some(p) = &a.postal_code {
        parts.push(p.clone());
    }
    parts.push(a.country.clone());
    parts.join(", ")
}

/// Builds the export of a complete report for `profile`'s FIU; refused with every missing
/// field otherwise.
pub fn export(
    entity: &ReportingEntity,
    content: &ReportContent,
    reference: &str,
    profile: &StructuredProfile,
) -> Result<SarExport, Vec<Missing>> {
    let missing = content.missing_for_structured(entity, profile);
    if !missing.is_empty() {
        return Err(missing);
    }
    let glossary = &profile.codes;
    let s = &content.subject;
    let main_subject = SarSubject {
        subject_type: "legal_entity",
        name: s.name.clone(),
        identifiers: s
            .incorporation_number
            .iter()
            .map(|n| format!("registration number {n}"))
            .collect(),
        address: s.address.as_ref().map(address_line),
        country: s.incorporation_country.clone(),
        accounts: Vec::new(),
    };
    let mut associated_subjects: Vec<SarSubject> = Vec::new();
    for t in &content.transactions {
        let r = &t.recipient;
        if associated_subjects.iter().any(|a| a.name == r.name) {
            continue;
        }
        associated_subjects.push(SarSubject {
            subject_type: if r.kind == "business" {
                "legal_entity"
            } else {
                "person"
            },
            name: r.name.clone(),
            identifiers: r
                .national_id
                .iter()
                .map(|n| format!("national id {n}"))
                .collect(),
            address: r.address.as_ref().map(address_line),
            country: Some(r.country.clone()),
            accounts: r.account.iter().cloned().collect(),
        });
    }
    Ok(SarExport {
        format: profile.format,
        title: profile.title.clone(),
        reference: reference.to_owned(),
        reporter: Reporter {
            name: entity.name.clone(),
            branch: entity.branch.clone(),
        },
        main_subject,
        associated_subjects,
        transactions: content
            .transactions
            .iter()
            .map(|t| SarTransaction {
                reference: t.number.clone(),
                date: t.date.clone(),
                amount: t.source_amount.normalize().to_string(),
                currency: t.source_currency.clone(),
                credited_amount: t.target_amount.normalize().to_string(),
                credited_currency: t.target_currency.clone(),
                beneficiary: t.recipient.name.clone(),
                status: t.status.clone(),
            })
            .collect(),
        reason_for_suspicion: Reason {
            glossary_codes: content
                .glossary_codes()
                .into_iter()
                .map(|code| Glossary {
                    meaning: glossary.get(&code).cloned().unwrap_or_default(),
                    code,
                })
                .collect(),
            text: content.reason.clone().unwrap_or_default(),
            action_taken: content.action.clone(),
        },
        daml: profile.daml.then_some(Daml {
            requested: content.daml_requested,
        }),
    })
}

fn row(out: &mut String, label: &str, value: &str) {
    out.push_str("<tr><th>");
    out.push_str(&escape(label));
    out.push_str("</th><td>");
    out.push_str(&escape(value));
    out.push_str("</td></tr>\n");
}

fn subject(out: &mut String, title: &str, s: &SarSubject) {
    out.push_str("<h3>");
    out.push_str(&escape(title));
    out.push_str("</h3>\n<table>\n");
    row(out, "Type", s.subject_type);
    row(out, "Name", &s.name);
    for id in &s.identifiers {
        row(out, "Identifier", id);
    }
    if let Some(a) = &s.address {
        row(out, "Address", a);
    }
    if let Some(c) = &s.country {
        row(out, "Country", c);
    }
    for a in &s.accounts {
        row(out, "Account", a);
    }
    out.push_str("</table>\n");
}

/// The printable page: the same sections, every value escaped.
pub fn to_html(sar: &SarExport) -> String {
    let title = escape(&sar.title);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}\
         th{{text-align:left;padding-right:1em;vertical-align:top}}\
         .codes li{{font-family:monospace}}@media print{{h2{{page-break-after:avoid}}}}</style>\
         </head><body>\n<h1>{title}</h1>\n<p>Reference ",
    );
    out.push_str(&escape(&sar.reference));
    out.push_str(" · confidential: do not disclose to the subject (tipping off)</p>\n");
    out.push_str("<h2>1. Reporter</h2>\n<table>\n");
    row(&mut out, "Reporting entity", &sar.reporter.name);
    if let Some(b) = &sar.reporter.branch {
        row(&mut out, "Branch", b);
    }
    out.push_str("</table>\n<h2>2. Main subject</h2>\n");
    subject(&mut out, "Main subject", &sar.main_subject);
    out.push_str("<h2>3. Associated subjects</h2>\n");
    for (i, s) in sar.associated_subjects.iter().enumerate() {
        subject(&mut out, &format!("Associated subject {}", i + 1), s);
    }
    out.push_str(
        "<h2>4. Transactions</h2>\n<table>\n<tr><th>Reference</th><th>Date</th>\
                  <th>Amount</th><th>Credited</th><th>Beneficiary</th><th>Status</th></tr>\n",
    );
    for t in &sar.transactions {
        out.push_str("<tr>");
        for cell in [
            t.reference.clone(),
            t.date.clone(),
            format!("{} {}", t.amount, t.currency),
            format!("{} {}", t.credited_amount, t.credited_currency),
            t.beneficiary.clone(),
            t.status.clone(),
        ] {
            out.push_str("<td>");
            out.push_str(&escape(&cell));
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n<h2>5. Reason for suspicion</h2>\n<ul class=\"codes\">\n");
    for g in &sar.reason_for_suspicion.glossary_codes {
        out.push_str("<li>");
        out.push_str(&escape(&g.code));
        out.push_str(" — ");
        out.push_str(&escape(&g.meaning));
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n<p class=\"reason\">");
    out.push_str(&escape(&sar.reason_for_suspicion.text).replace('\n', "<br>"));
    out.push_str("</p>\n");
    if let Some(a) = &sar.reason_for_suspicion.action_taken {
        out.push_str("<h3>Action taken</h3>\n<p>");
        out.push_str(&escape(a));
        out.push_str("</p>\n");
    }
    if let Some(daml) = &sar.daml {
        out.push_str("<h2>6. Defence (DAML)</h2>\n<p>");
        out.push_str(if daml.requested {
            "A defence against money laundering is requested (XXS99XX): the NCA has 7 working \
             days."
        } else {
            "No defence is requested."
        });
        out.push_str("</p>\n");
    }
    out.push_str("</body></html>\n");
    out
}
