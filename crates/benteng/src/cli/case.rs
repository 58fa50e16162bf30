//! `benteng case …`: the compliance inbox from the host, for automation and break-glass: the
//! same store reads the operator API's `/admin/v1/cases` makes. Decisions are taken by people
//! through the operator API or the console (four eyes); the host has no second person.

use benteng_core::cases::{CaseStatus, InboxName, SlaState};
use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::ids::{CaseId, PersonId};
use benteng_core::people::LoginName;
use benteng_store::{AssigneeFilter, InboxQuery};
use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use crate::Services;

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// The inbox: cases not closed (or with --status) passing every filter given, soonest SLA
    /// first (or --sort score); at most 200.
    List {
        /// open, investigating, waiting or closed.
        #[arg(long)]
        status: Option<String>,
        /// overdue, due_soon (due within 4 hours) or on_time: cases not closed.
        #[arg(long)]
        sla: Option<String>,
        /// The lowest priority (risk score), 0 to 100.
        #[arg(long)]
        min_score: Option<String>,
        /// Cases holding a transfer to a recipient in this country (ISO 3166-1 alpha-2).
        #[arg(long)]
        country: Option<String>,
        /// Cases holding a transfer paid out in this currency (ISO 4217).
        #[arg(long)]
        currency: Option<String>,
        /// The inbox, e.g. payments or monitoring.
        #[arg(long)]
        inbox: Option<String>,
        /// unassigned, a person's login, or a person's id.
        #[arg(long)]
        assignee: Option<String>,
        /// sla or score.
        #[arg(long, default_value = "sla")]
        sort: String,
    },
    /// A case: its items and its event log.
    Show { case: String },
}

pub(super) async fn run(services: Services, command: CaseCommand) -> anyhow::Result<()> {
    let store = &services.store;
    let when = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    match command {
        CaseCommand::List {
            status,
            sla,
            min_score,
            country,
            currency,
            inbox,
            assignee,
            sort,
        } => {
            let mut query = InboxQuery::new(services.clock.now(), 200);
            query.status = flag("--status", status.as_deref(), str::parse::<CaseStatus>)?;
            query.sla = flag("--sla", sla.as_deref(), str::parse::<SlaState>)?;
            query.min_score = flag("--min-score", min_score.as_deref(), |text| {
                text.parse::<u8>()
                    .ok()
                    .filter(|score| *score <= 100)
                    .ok_or("must be a whole number from 0 to 100")
            })?;
            query.country = flag("--country", country.as_deref(), str::parse::<CountryCode>)?;
            query.currency = flag("--currency", currency.as_deref(), str::parse::<Currency>)?;
            query.inbox = flag("--inbox", inbox.as_deref(), InboxName::parse)?;
            query.assignee = match assignee.as_deref() {
                None => None,
                Some("unassigned") => Some(AssigneeFilter::Unassigned),
                Some("me") => anyhow::bail!(
                    "--assignee me: the host is nobody; name the person by login or id"
                ),
                Some(text) => Some(AssigneeFilter::Person(person(store, text).await?)),
            };
            query.sort = sort.parse().map_err(|e| anyhow::anyhow!("--sort {e}"))?;
            if query.status == Some(CaseStatus::Closed) && query.sla.is_some() {
                anyhow::bail!("--sla: a closed case has no SLA: not with --status closed");
            }
            let cases = store.cases(&query).await?;
            for case in cases {
                let sla = match case.status {
                    CaseStatus::Closed => "",
                    _ => match SlaState::at(case.sla_due_at, query.now) {
                        SlaState::Overdue => " OVERDUE",
                        SlaState::DueSoon => " due soon",
                        SlaState::OnTime => "",
                    },
                };
                println!(
                    "{}  {:<10} {:<13} score {:>3}  due {}{sla}  {} {}  inbox {}  assignee {}",
                    case.id,
                    case.subject.as_str(),
                    case.status.as_str(),
                    case.priority,
                    when(case.sla_due_at),
                    case.party_kind,
                    case.party_id,
                    case.inbox,
                    case.assignee.map_or("-".to_owned(), |a| a.to_string()),
                );
            }
        }
        CaseCommand::Show { case } => {
            let id: CaseId = case
                .parse()
                .map_err(|_| anyhow::anyhow!("not a case id (expected a UUID)"))?;
            let case = match store.case(id).await {
                Err(benteng_store::StoreError::NotFound) => anyhow::bail!("no such case"),
                other => other?,
            };
            println!(
                "case {}  {}  status {}  outcome {}  score {}  due {}  assignee {}",
                case.id,
                case.subject.as_str(),
                case.status.as_str(),
                case.outcome.map_or("-", |o| o.as_str()),
                case.priority,
                when(case.sla_due_at),
                case.assignee.map_or("-".to_owned(), |a| a.to_string()),
            );
            println!(
                "party {} {}  tenant {}  inbox {}{}",
                case.party_kind,
                case.party_id,
                case.tenant_id,
                case.inbox,
                case.sla_missed_at
                    .map_or(String::new(), |at| format!("  SLA missed {}", when(at))),
            );
            for item in store.case_items(id).await? {
                println!(
                    "item  {} {}  added {}",
                    item.kind,
                    item.item_id,
                    when(item.added_at)
                );
            }
            for event in store.case_events(id).await? {
                // Operator text is printed as data, one line each (control characters escaped).
                println!(
                    "event {}  {}  {}  {}  {}",
                    when(event.at),
                    event.actor.escape_debug(),
                    event.kind,
                    event.comment.unwrap_or_default().escape_debug(),
                    event.data.unwrap_or_default().escape_debug(),
                );
            }
        }
    }
    Ok(())
}

/// A flag's value read by `parse`, the flag named in its refusal.
fn flag<T, E: std::fmt::Display>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> anyhow::Result<Option<T>> {
    value
        .map(|text| parse(text).map_err(|e| anyhow::anyhow!("{name} {e}")))
        .transpose()
}

/// A person named by id or login.
async fn person(store: &benteng_store::Store, text: &str) -> anyhow::Result<PersonId> {
    if let Ok(id) = text.parse::<PersonId>() {
        return Ok(id);
    }
    let login = LoginName::parse(text)
        .map_err(|_| anyhow::anyhow!("--assignee must be unassigned, a login or a person's id"))?;
    match store.person_by_login(&login).await? {
        Some(person) => Ok(person.id),
        None => anyhow::bail!("--assignee: no person has that login"),
    }
}
