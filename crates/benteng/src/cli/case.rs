//! `benteng case …`: the compliance inbox from the host, for automation and break-glass: the
//! same store reads the operator API's `/admin/v1/cases` makes, and its four-eyes decisions.
//! A decision names the person it is taken for (`--as LOGIN`), who must be active and hold the
//! permission the API's route requires (`reviews:decide` to propose, `reviews:approve` to
//! approve or reject); it runs through the same payments functions as the API, so the second
//! person must be someone else there too (the payments layer and the store's conditional update
//! refuse the proposer). The trail names the person, with `cli:USER@HOST` as where.

use benteng_core::cases::{CaseStatus, InboxName, ReviewDecision, SlaState};
use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::ids::{CaseId, PendingActionId, PersonId, TransferId};
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::people::LoginName;
use benteng_core::roles::Permission;
use benteng_payments::Refusal;
use benteng_payments::reviews::ReviewReason;
use benteng_store::{AssigneeFilter, InboxQuery};
use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use super::acting_as;
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
    /// Proposes releasing or blocking the case's held transfer, as the person named by --as
    /// (who needs reviews:decide); someone else approves it.
    Decide {
        case: String,
        /// release or block.
        #[arg(long)]
        decision: String,
        /// Why (10 to 2,000 characters); the approver sees it.
        #[arg(long)]
        reason: String,
        /// The held transfer, when the case holds more than one.
        #[arg(long)]
        transfer: Option<String>,
        /// The login of the person proposing.
        #[arg(long = "as")]
        person: String,
    },
    /// Approves a proposal on the case, as the person named by --as (reviews:approve, not the
    /// proposer): the transfer is released or blocked.
    Approve {
        case: String,
        proposal: String,
        /// The approver's comment (10 to 2,000 characters).
        #[arg(long)]
        reason: Option<String>,
        #[arg(long = "as")]
        person: String,
    },
    /// Rejects a proposal on the case, as the person named by --as (reviews:approve, not the
    /// proposer): the transfer stays held.
    Reject {
        case: String,
        proposal: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long = "as")]
        person: String,
    },
}

/// The decider's comment when none is given: says so, rather than inventing a reason.
const NO_COMMENT: &str = "(no comment given; decided with benteng case on the host)";

fn case_id(text: &str) -> anyhow::Result<CaseId> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("not a case id (expected a UUID)"))
}

fn reason(text: &str, flag: &str) -> anyhow::Result<ReviewReason> {
    ReviewReason::parse(text).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// A payments refusal as the CLI says it; field errors name their field.
fn refused(refusal: Refusal) -> anyhow::Error {
    match refusal {
        Refusal::Invalid(fields) => {
            let text: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            anyhow::anyhow!("refused: {}", text.join("; "))
        }
        other => anyhow::anyhow!("refused: {other}"),
    }
}

/// The transfer a proposal is about: the one named, or the case's only held transfer.
async fn held_transfer(
    services: &Services,
    case: CaseId,
    named: Option<String>,
) -> anyhow::Result<TransferId> {
    if let Some(named) = named {
        return named
            .parse()
            .map_err(|_| anyhow::anyhow!("--transfer: not a transfer id (expected a UUID)"));
    }
    let mut held = Vec::new();
    for item in services.store.case_items(case).await? {
        let Ok(id) = item.item_id.parse::<TransferId>() else {
            continue;
        };
        if item.kind == "transfer"
            && services.store.transfer_by_id(id).await?.status == TransferStatus::PendingReview
        {
            held.push(id);
        }
    }
    match held.as_slice() {
        [one] => Ok(*one),
        [] => anyhow::bail!("refused: the case holds no transfer held for review"),
        _ => anyhow::bail!(
            "the case holds {} transfers held for review; name one with --transfer",
            held.len()
        ),
    }
}

/// Approves or rejects a proposal as `person`, through the function the API's routes call.
async fn decide(
    services: &Services,
    case: &str,
    proposal: &str,
    why: Option<String>,
    person: &str,
    approve: bool,
) -> anyhow::Result<()> {
    let case = case_id(case)?;
    let proposal: PendingActionId = proposal
        .parse()
        .map_err(|_| anyhow::anyhow!("not a proposal id (expected a UUID)"))?;
    let comment = reason(why.as_deref().unwrap_or(NO_COMMENT), "--reason")?;
    let (decider, context) = acting_as(services, person, Permission::ReviewsApprove).await?;
    let payments = crate::iso20022::payments_for_moves(services)?;
    let row = payments
        .decide_case_proposal(case, proposal, decider.person, approve, &comment, &context)
        .await
        .map_err(refused)?;
    println!(
        "{} proposal {proposal} as {}; case {} is {}{}",
        if approve { "approved" } else { "rejected" },
        decider.login,
        row.id,
        row.status.as_str(),
        row.outcome
            .map_or(String::new(), |o| format!(" ({})", o.as_str())),
    );
    Ok(())
}

pub(super) async fn run(services: Services, command: CaseCommand) -> anyhow::Result<()> {
    let store = &services.store;
    let when = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    match command {
        CaseCommand::Decide {
            case,
            decision,
            reason: why,
            transfer,
            person,
        } => {
            let case = case_id(&case)?;
            let decision: ReviewDecision = decision
                .parse()
                .map_err(|e| anyhow::anyhow!("--decision {e}"))?;
            let why = reason(&why, "--reason")?;
            let (proposer, context) =
                acting_as(&services, &person, Permission::ReviewsDecide).await?;
            // An unknown case is refused before its transfer is looked for.
            match store.case(case).await {
                Err(benteng_store::StoreError::NotFound) => anyhow::bail!("no such case"),
                other => other?,
            };
            let transfer = held_transfer(&services, case, transfer).await?;
            let payments = crate::iso20022::payments_for_moves(&services)?;
            let proposal = payments
                .propose_case_decision(case, transfer, decision, &why, proposer.person, &context)
                .await
                .map_err(refused)?;
            println!("{}", proposal.pending.id);
            eprintln!(
                "proposed {} of transfer {transfer} as {}; another person with reviews:approve \
                 approves it (expires {})",
                decision.as_str(),
                proposer.login,
                when(proposal.pending.expires_at),
            );
        }
        CaseCommand::Approve {
            case,
            proposal,
            reason: why,
            person,
        } => decide(&services, &case, &proposal, why, &person, true).await?,
        CaseCommand::Reject {
            case,
            proposal,
            reason: why,
            person,
        } => decide(&services, &case, &proposal, why, &person, false).await?,
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
            let id = case_id(&case)?;
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
