//! `benteng staff …`: bootstrap and break-glass on the host. The first admin is created here;
//! everything else about people is done by people, through the operator API.

use benteng_core::people::LoginName;
use benteng_core::roles::{Roles, StaffRole};
use benteng_crypto::ExposeSecret;
use clap::Subcommand;

use crate::Services;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff member and print their one-time enrolment code. From the host, roles
    /// are given at once (admin included): this is how the first admin comes to be.
    Create {
        #[arg(long)]
        login: String,
        /// compliance_analyst, compliance_officer, security_officer, support or admin
        /// (repeatable).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// List staff and their roles.
    List,
    /// End every session of a person on every instance (break-glass containment).
    SignOut { login: String },
}

pub(super) async fn run(services: Services, command: StaffCommand) -> anyhow::Result<()> {
    let operations = services.operations();
    let context = super::cli_context();
    match command {
        StaffCommand::Create { login, roles } => {
            let login: LoginName = login.parse()?;
            let roles: Roles = roles
                .iter()
                .map(|r| r.parse::<StaffRole>())
                .collect::<Result<_, _>>()?;
            let (created, _) = operations
                .create_staff(None, &login, roles, &context)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("person:           {}", created.person);
            println!(
                "enrolment code:   {}",
                created.enrolment_code.expose_secret()
            );
            println!("expires:          {}", super::timestamp(created.expires_at));
            println!(
                "Enrol with POST /admin/v1/enrolment/start {{\"enrolment_code\", \"password\"}}, then \
                 /admin/v1/enrolment/finish {{\"enrolment_code\", \"code\"}}. The code is shown only now."
            );
        }
        StaffCommand::List => {
            println!("{:<36}  {:<10}  {:<30}  ROLES", "ID", "STATUS", "LOGIN");
            for person in services.store.staff().await? {
                println!(
                    "{:<36}  {:<10}  {:<30}  {}",
                    person.id,
                    format!("{:?}", person.status).to_lowercase(),
                    person.login,
                    person.roles
                );
            }
        }
        StaffCommand::SignOut { login } => {
            let login: LoginName = login.parse()?;
            let person = services
                .store
                .person_by_login(&login)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no such person"))?;
            let ended = operations
                .end_sessions(person.id, &context)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("ended {ended} session(s)");
        }
    }
    Ok(())
}
