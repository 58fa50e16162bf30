//! `benteng reports …`: regulatory reports from the host: the list with deadline clocks, one
//! report, its export in the FIU's format, recording the FIU's reference, recording the NCA's
//! answer to a DAML request, withdrawing, and a period's IFTI report. Each verb names the compliance officer it acts for (`--as LOGIN`),
//! who must hold `reports:file` now; drafting and the second officer's approval happen through
//! the operator API or the console (the host has no second person).

use std::io::Write as _;
use std::path::PathBuf;

use benteng_auth::StaffPrincipal;
use benteng_core::ids::ReportId;
use benteng_core::roles::Permission;
use benteng_operations::{ExportFormat, Operations, ReportStanding};
use benteng_reports::daml::DamlAnswer;
use benteng_store::ReportStatus;
use clap::Subcommand;
use time::OffsetDateTime;

use super::{cli_context, refused, timestamp};
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Reports, soonest due first, with their deadline clocks.
    List {
        #[arg(long = "as")]
        officer: String,
        /// draft, approved, submitted or withdrawn.
        #[arg(long)]
        status: Option<String>,
    },
    /// A report with its content (audited: it holds identifiers).
    Show {
        report: String,
        #[arg(long = "as")]
        officer: String,
    },
    /// Writes an approved report in its FIU's format: goaml (LTKM, an EU FIU that takes
    /// goAML), json or html (UK SAR, an EU FIU without goAML).
    Export {
        report: String,
        #[arg(long)]
        format: String,
        /// The file to write (refused if it exists).
        #[arg(long)]
        out: PathBuf,
        #[arg(long = "as")]
        officer: String,
    },
    /// Records that an approved report was filed, with the FIU's reference.
    MarkSubmitted {
        report: String,
        #[arg(long)]
        fiu_reference: String,
        #[arg(long = "as")]
        officer: String,
    },
    /// Records the NCA's answer to a submitted UK SAR's DAML request: granted, refused (the
    /// 31-day moratorium starts now) or deemed (the notice period or moratorium ended).
    Daml {
        report: String,
        /// granted, refused or deemed.
        #[arg(long)]
        answer: String,
        /// The NCA's reference, how the answer came (10 to 2000 characters).
        #[arg(long)]
        note: String,
        #[arg(long = "as")]
        officer: String,
    },
    /// Withdraws a draft or approved report.
    Withdraw {
        report: String,
        #[arg(long)]
        reason: String,
        #[arg(long = "as")]
        officer: String,
    },
    /// Writes the IFTI report (TKLOP) of the live cross-border transfers completed in
    /// [FROM, TO) (RFC 3339), streamed; nothing is left behind when it is refused.
    Ifti {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long = "as")]
        officer: String,
    },
}

/// The officer the verb acts for: their current roles, limited to filing reports.
async fn officer(services: &Services, login: &str) -> anyhow::Result<StaffPrincipal> {
    let (principal, _) = super::acting_as(services, login, Permission::ReportsFile).await?;
    Ok(principal)
}

/// A UK SAR's DAML request in one field: the answer recorded and the clock still running.
fn daml_text(row: &benteng_store::ReportRow, standing: &ReportStanding) -> String {
    if row.daml_due_at.is_none() {
        return "daml -".to_owned();
    }
    let answer = row.daml_answer.as_deref().unwrap_or("awaited");
    match standing.daml {
        Some(clock) => format!(
            "daml {answer} ({} {} until {})",
            clock.period.as_str(),
            clock.state.as_str(),
            timestamp(clock.ends_at)
        ),
        None => format!("daml {answer}"),
    }
}

fn report_id(text: &str) -> anyhow::Result<ReportId> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("not a report id (expected a UUID)"))
}

fn parse_time(flag: &str, text: &str) -> anyhow::Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|_| {
        anyhow::anyhow!("{flag}: expected an RFC 3339 time such as 2026-12-03T00:00:00+07:00")
    })
}

/// Writes through a temporary file beside `out`, renamed into place only when `write`
/// succeeded: a refused report leaves nothing behind.
fn new_file(out: &std::path::Path) -> anyhow::Result<(PathBuf, std::fs::File)> {
    if out.exists() {
        anyhow::bail!("{} exists; not overwriting", out.display());
    }
    let tmp = out.with_extension("partial");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    Ok((tmp, file))
}

pub(super) async fn run(services: Services, command: ReportsCommand) -> anyhow::Result<()> {
    let context = cli_context();
    let operations: Operations = services.operations().with_reports(
        services.config.reports.settings()?,
        services.protection.keyring.clone(),
    );
    match command {
        ReportsCommand::List {
            officer: login,
            status,
        } => {
            let actor = officer(&services, &login).await?;
            let status = status
                .map(|s| s.parse::<ReportStatus>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--status {e}"))?;
            let rows = operations
                .reports(&actor, status)
                .await
                .map_err(refused("report"))?;
            for (row, standing) in rows {
                println!(
                    "{}  {:<6}  {:<9}  v{:<3}  due {}  {:<8}  fiu {}  case {}  fiu-ref {}  \
                     daml-due {}  {}",
                    row.id,
                    row.kind,
                    row.status.as_str(),
                    row.version,
                    timestamp(row.due_at),
                    standing.clock.as_str(),
                    standing.fiu.escape_debug(),
                    row.case_id.map_or("-".to_owned(), |c| c.to_string()),
                    row.fiu_reference.as_deref().unwrap_or("-").escape_debug(),
                    row.daml_due_at.map_or("-".to_owned(), timestamp),
                    daml_text(&row, &standing),
                );
            }
        }
        ReportsCommand::Show {
            report,
            officer: login,
        } => {
            let actor = officer(&services, &login).await?;
            let detail = operations
                .report(&actor, report_id(&report)?, &context)
                .await
                .map_err(refused("report"))?;
            let row = &detail.row;
            println!(
                "report {}  {} ({})  status {}  version {}  due {}  clock {}  {}",
                row.id,
                detail.kind.as_str(),
                detail.standing.fiu.escape_debug(),
                row.status.as_str(),
                row.version,
                timestamp(row.due_at),
                detail.standing.clock.as_str(),
                daml_text(row, &detail.standing),
            );
            for missing in &detail.missing {
                println!("missing {missing}");
            }
            println!("{}", serde_json::to_string_pretty(&detail.content)?);
        }
        ReportsCommand::Export {
            report,
            format,
            out,
            officer: login,
        } => {
            let actor = officer(&services, &login).await?;
            let format: ExportFormat = format
                .parse()
                .map_err(|e| anyhow::anyhow!("--format {e}"))?;
            let exported = operations
                .export_report(&actor, report_id(&report)?, format, &context)
                .await
                .map_err(|refusal| match refusal {
                    benteng_operations::OpsRefusal::Incomplete(missing) => anyhow::anyhow!(
                        "refused, the report is incomplete:\n{}",
                        missing
                            .iter()
                            .map(|(f, p)| format!("  {f}: {p}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                    other => refused("report")(other),
                })?;
            let (tmp, mut file) = new_file(&out)?;
            file.write_all(&exported.bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &out)?;
            println!(
                "wrote {} ({} bytes, {})",
                out.display(),
                exported.bytes.len(),
                exported.content_type
            );
        }
        ReportsCommand::MarkSubmitted {
            report,
            fiu_reference,
            officer: login,
        } => {
            let actor = officer(&services, &login).await?;
            let reference = fiu_reference.trim();
            if reference.is_empty()
                || reference.chars().count() > 255
                || reference.chars().any(char::is_control)
            {
                anyhow::bail!("--fiu-reference: 1 to 255 printable characters");
            }
            let row = operations
                .mark_report_submitted(&actor, report_id(&report)?, reference, &context)
                .await
                .map_err(refused("report"))?;
            println!(
                "report {} submitted, FIU reference {}",
                row.id,
                reference.escape_debug()
            );
        }
        ReportsCommand::Daml {
            report,
            answer,
            note,
            officer: login,
        } => {
            let actor = officer(&services, &login).await?;
            let answer: DamlAnswer = answer
                .parse()
                .map_err(|e| anyhow::anyhow!("--answer {e}"))?;
            let note = note.trim();
            if note.chars().count() < 10
                || note.chars().count() > 2000
                || note.chars().any(char::is_control)
            {
                anyhow::bail!("--note: 10 to 2000 printable characters");
            }
            let (row, standing) = operations
                .record_daml_answer(&actor, report_id(&report)?, answer, note, &context)
                .await
                .map_err(refused("report"))?;
            println!("report {}  {}", row.id, daml_text(&row, &standing));
        }
        ReportsCommand::Withdraw {
            report,
            reason,
            officer: login,
        } => {
            let actor = officer(&services, &login).await?;
            let reason = reason.trim();
            if reason.chars().count() < 10 || reason.chars().count() > 2000 {
                anyhow::bail!("--reason: 10 to 2000 characters");
            }
            let row = operations
                .withdraw_report(&actor, report_id(&report)?, reason, &context)
                .await
                .map_err(refused("report"))?;
            println!("report {} withdrawn", row.id);
        }
        ReportsCommand::Ifti {
            from,
            to,
            out,
            officer: login,
        } => {
            let actor = officer(&services, &login).await?;
            let (from, to) = (parse_time("--from", &from)?, parse_time("--to", &to)?);
            if to <= from {
                anyhow::bail!("--to must be after --from");
            }
            let (tmp, file) = new_file(&out)?;
            let writer = std::io::BufWriter::new(file);
            match operations
                .write_ifti(Some(&actor), from, to, writer, &context)
                .await
            {
                Ok((writer, summary)) => {
                    let file = writer.into_inner().map_err(|e| e.into_error())?;
                    file.sync_all()?;
                    std::fs::rename(&tmp, &out)?;
                    println!(
                        "wrote {} ({} transfers, TKLOP)",
                        out.display(),
                        summary.transfers
                    );
                }
                Err(refusal) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(match refusal {
                        benteng_operations::OpsRefusal::Incomplete(missing) => anyhow::anyhow!(
                            "refused, a transfer cannot be reported:\n{}",
                            missing
                                .iter()
                                .map(|(f, p)| format!("  {f}: {p}"))
                                .collect::<Vec<_>>()
                                .join("\n")
                        ),
                        other => refused("report")(other),
                    });
                }
            }
        }
    }
    Ok(())
}
