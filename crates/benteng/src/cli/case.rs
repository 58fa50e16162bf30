//! `benteng case …`: the compliance inbox from the host, for automation and break-glass: the
//! same store reads the operator API's `/admin/v1/cases` makes. Decisions are taken by people
//! through the operator API or the console (four eyes); the host has no second person.

use benteng_core::cases::{CaseStatus, InboxSort};
use benteng_core::ids::CaseId;
use benteng_store::InboxQuery;
use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use crate::Services;

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// The inbox: cases not closed (or with --status), soonest SLA first (or --sort score).
    List {
        /// open, investigating, waiting or closed.
        #[arg(long)]
        status: Option<String>,
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
        CaseCommand::List { status, sort } => {
            let status = status
                .map(|s| s.parse::<CaseStatus>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--status {e}"))?;
            let sort: InboxSort = sort.parse().map_err(|e| anyhow::anyhow!("--sort {e}"))?;
            let cases = store
                .cases(InboxQuery {
                    status,
                    sort,
                    limit: 200,
                })
                .await?;
            let now = services.clock.now();
            for case in cases {
                let overdue = if case.status != CaseStatus::Closed && case.sla_due_at <= now {
                    " OVERDUE"
                } else {
                    ""
                };
                println!(
                    "{}  {:<10} {:<13} score {:>3}  due {}{overdue}  {} {}",
                    case.id,
                    case.subject.as_str(),
                    case.status.as_str(),
                    case.priority,
                    when(case.sla_due_at),
                    case.party_kind,
                    case.party_id,
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
