//! `benteng incident …`: security incidents from the host, the same store reads the operator
//! API's `/admin/v1/incidents` makes. Acknowledging and containing go through the operator API
//! (a security officer, named in the audit trail).

use benteng_core::ids::IncidentId;
use benteng_core::incidents::IncidentState;
use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use crate::Services;

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// The newest incidents first, with their clocks.
    List,
    /// An incident and its linked detections.
    Show { incident: String },
}

pub(super) async fn run(services: Services, command: IncidentCommand) -> anyhow::Result<()> {
    let store = &services.store;
    let when = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let now = services.clock.now();
    let overdue = |state: IncidentState, due: time::OffsetDateTime, before: IncidentState| {
        if state < before && due <= now {
            " OVERDUE"
        } else {
            ""
        }
    };
    match command {
        IncidentCommand::List => {
            for incident in store.incidents(200).await? {
                println!(
                    "{}  {}  {:<12}  acknowledge by {}{}  {}",
                    incident.id,
                    incident.severity,
                    incident.state,
                    when(incident.acknowledge_by),
                    overdue(
                        incident.state,
                        incident.acknowledge_by,
                        IncidentState::Acknowledged
                    ),
                    incident.title.escape_debug(),
                );
            }
        }
        IncidentCommand::Show { incident } => {
            let id: IncidentId = incident
                .parse()
                .map_err(|_| anyhow::anyhow!("not an incident id (expected a UUID)"))?;
            let incident = match store.incident(id).await {
                Err(benteng_store::StoreError::NotFound) => anyhow::bail!("no such incident"),
                other => other?,
            };
            println!(
                "incident {}  {}  {}  {}",
                incident.id,
                incident.severity,
                incident.state,
                incident.title.escape_debug()
            );
            println!(
                "opened {}  acknowledge by {}{}  contain by {}{}",
                when(incident.opened_at),
                when(incident.acknowledge_by),
                overdue(
                    incident.state,
                    incident.acknowledge_by,
                    IncidentState::Acknowledged
                ),
                when(incident.contain_by),
                overdue(
                    incident.state,
                    incident.contain_by,
                    IncidentState::Contained
                ),
            );
            if let (Some(at), Some(by)) = (incident.acknowledged_at, &incident.acknowledged_by) {
                println!("acknowledged {} by {}", when(at), by.escape_debug());
            }
            if let Some(at) = incident.contained_at {
                println!("contained {}", when(at));
            }
            for detection in store.incident_detections(id).await? {
                println!(
                    "detection {}  {}  {} in {} s  fired {}",
                    detection.detection,
                    detection.severity,
                    detection.count,
                    detection.window_secs,
                    when(detection.fired_at)
                );
            }
        }
    }
    Ok(())
}
