//! `benteng staff …`: bootstrap and break-glass on the host. The first admin is created here;
//! everything else about people is done by people, through the operator API.

use benteng_auth::PeopleAuthenticator;
use benteng_core::people::LoginName;
use benteng_core::roles::{Permission, Permissions, Roles, StaffRole};
use benteng_core::staff_token::{TokenLifetime, TokenName};
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
    /// End every session of a person on every instance (break-glass containment); their
    /// staff tokens are revoked with them.
    SignOut { login: String },
    /// Staff API tokens for automation.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a person's automation (bootstrap from the host) and print it once.
    /// The permissions must be ones the person's roles grant.
    Issue {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        /// e.g. tenants:read (repeatable).
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
        #[arg(long)]
        expires_in_days: i64,
    },
    /// Revoke a token by its id, on every instance.
    Revoke { id: uuid::Uuid },
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
            println!("ended {ended} session(s) and revoked their staff tokens");
        }
        StaffCommand::Token(command) => token(&services, operations.people(), command).await?,
    }
    Ok(())
}

async fn token(
    services: &Services,
    people: &PeopleAuthenticator,
    command: TokenCommand,
) -> anyhow::Result<()> {
    let context = super::cli_context();
    match command {
        TokenCommand::Issue {
            login,
            name,
            permissions,
            expires_in_days,
        } => {
            let login: LoginName = login.parse()?;
            let name: TokenName = name.parse().map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let permissions: Permissions = permissions
                .iter()
                .map(|p| p.parse::<Permission>())
                .collect::<Result<_, _>>()?;
            let lifetime = TokenLifetime::days(expires_in_days)
                .map_err(|e| anyhow::anyhow!("--expires-in-days: {e}"))?;
            let person = services
                .store
                .person_by_login(&login)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no such person"))?;
            let issued = people
                .issue_token(person.id, name, permissions, lifetime, &context)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("id:           {}", issued.row.id);
            println!("permissions:  {}", issued.row.permissions);
            println!("expires:      {}", super::timestamp(issued.row.expires_at));
            println!("token:        {}", issued.token.expose_secret());
            println!("The token is shown only now; send it as Authorization: Bearer <token>.");
        }
        TokenCommand::Revoke { id } => {
            let token = services
                .store
                .staff_token(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no such token"))?;
            let revoked = people.revoke_token(token.person, id, &context).await?;
            println!(
                "{}",
                if revoked {
                    "revoked"
                } else {
                    "already revoked"
                }
            );
        }
    }
    Ok(())
}
