//! `rapport`: the one binary. `serve` (the default) runs the server; `migrate` applies database
//! migrations; `admin` runs the platform from the command line; `seed` creates sample data.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rapport_app::config::{Config, LogFormat};
use rapport_app::organizations::NewOrganizationInput;
use rapport_app::worker::WorkerOptions;
use rapport_app::{App, MigrateOnStart, RequestMeta};
use rapport_domain::Role;

/// A request allocates and frees many small values (rows, documents, page text) on whichever
/// thread runs it; in a profile the system allocator spent about a quarter of a busy page's time
/// on that (merging freed chunks), and this one took that page from 199 to 474 requests/s.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rapport",
    version,
    about = "Rapport: a multi-tenant CRM in one binary."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and web app (the default).
    Serve {
        /// Apply pending migrations first (always done on SQLite).
        #[arg(long)]
        migrate: bool,
        /// Do not run background work (outbox dispatch, jobs) in this process; run `rapport
        /// worker` beside it instead.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run only the background work: dispatch outbox events and run jobs (no HTTP).
    Worker {
        /// Serve only these job queues (repeatable; default: all of them).
        #[arg(long = "queue", value_name = "NAME")]
        queues: Vec<String>,
        /// Jobs run at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administer the platform.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Create sample data: a demo organization, or organizations of realistic size.
    #[command(group = clap::ArgGroup::new("what").required(true).args(["demo", "scale"]))]
    Seed {
        /// A demo organization with a few thousand believable records, and people to sign in as.
        #[arg(long)]
        demo: bool,
        /// This many organizations of a mid-sized sales team each (for benchmarks).
        #[arg(long, value_name = "N")]
        scale: Option<usize>,
        /// With --scale: contacts per organization (default 5000).
        #[arg(long, value_name = "N", requires = "scale")]
        contacts: Option<usize>,
        /// With --scale: records of a custom object (berths, twenty fields) per organization.
        #[arg(long, value_name = "N", requires = "scale")]
        records: Option<usize>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an organization owned by an existing user.
    CreateOrganization {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        #[arg(long)]
        slug: Option<String>,
        #[arg(long)]
        currency: Option<String>,
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// Create a user. The password is read from RAPPORT_NEW_PASSWORD, or asked on the terminal.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the user an instance administrator.
        #[arg(long)]
        instance_admin: bool,
    },
    /// Add an existing user to an organization (by slug or id) with a role.
    AddMember {
        #[arg(long)]
        organization: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Set a user's password (read from RAPPORT_NEW_PASSWORD, or asked); ends all their sign-ins.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// Turn off a user's two-factor authentication (lost device and recovery codes); ends all
    /// their sign-ins.
    ResetTwoFactor {
        #[arg(long)]
        email: String,
    },
    /// Grant or revoke the instance administrator flag.
    SetInstanceAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        value: bool,
    },
    /// List every organization.
    ListOrganizations,
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("RAPPORT_NEW_PASSWORD") {
        return Ok(p);
    }
    eprint!("New password (at least 12 characters): ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn describe(error: rapport_app::AppError) -> anyhow::Error {
    match error {
        rapport_app::AppError::Validation(errors) => anyhow::anyhow!("invalid input: {errors}"),
        rapport_app::AppError::NotFound => anyhow::anyhow!("not found"),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve {
        migrate: false,
        no_worker: false,
    }) {
        Command::Serve { migrate, no_worker } => {
            let bind = config.bind;
            let base_url = config.base_url.clone();
            let migrate = if migrate {
                MigrateOnStart::Always
            } else {
                MigrateOnStart::Default
            };
            let app = App::start(config, migrate).await?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .map_err(|e| anyhow::anyhow!("could not listen on {bind} (RAPPORT_BIND): {e}"))?;
            let local = listener.local_addr()?;
            tracing::info!(
                address = %local,
                database = app.db.backend().as_str(),
                email = if app.mailer.uses_outbox() { "development outbox" } else { "smtp" },
                "Rapport is listening"
            );
            println!(
                "Rapport is running at {base_url} (listening on {local}). Press Ctrl-C to stop."
            );
            let options = rapport_server::ServeOptions {
                worker: (!no_worker).then(WorkerOptions::default),
            };
            rapport_server::serve_with(
                app.clone(),
                listener,
                options,
                rapport_server::shutdown_signal(),
            )
            .await?;
            app.db.close().await;
            Ok(())
        }
        Command::Worker {
            queues,
            concurrency,
        } => {
            let app = App::start(config, MigrateOnStart::Default).await?;
            let mut options = WorkerOptions {
                concurrency: usize::from(concurrency),
                ..WorkerOptions::default()
            };
            if !queues.is_empty() {
                if let Some(unknown) = queues
                    .iter()
                    .find(|q| !rapport_app::jobs::QUEUES.contains(&q.as_str()))
                {
                    anyhow::bail!(
                        "unknown queue {unknown:?}; the queues are: {}",
                        rapport_app::jobs::QUEUES.join(", ")
                    );
                }
                options.queues = queues;
            }
            tracing::info!(
                queues = %options.queues.join(","),
                concurrency = options.concurrency,
                database = app.db.backend().as_str(),
                live = app.live.transport(),
                "Rapport worker started"
            );
            println!("Rapport worker is running. Press Ctrl-C to stop.");
            let worker = app.start_worker(options);
            rapport_server::shutdown_signal().await;
            worker.stop().await;
            app.db.close().await;
            Ok(())
        }
        Command::Migrate => {
            let app = App::start(config, MigrateOnStart::Always).await?;
            println!("Database is up to date ({}).", app.db.backend().as_str());
            Ok(())
        }
        Command::Admin { command } => {
            let app = App::start(config, MigrateOnStart::Default).await?;
            admin(&app, command).await
        }
        Command::Seed {
            demo,
            scale,
            contacts,
            records,
        } => {
            let base_url = config.base_url.as_str().trim_end_matches('/').to_owned();
            // Sample data is written in a few long transactions: no time limit for them.
            let mut config = config;
            config.db_statement_timeout = std::time::Duration::ZERO;
            let app = App::start(config, MigrateOnStart::Default).await?;
            // The people's password: RAPPORT_NEW_PASSWORD, else a fresh one shown once.
            let password = std::env::var("RAPPORT_NEW_PASSWORD")
                .unwrap_or_else(|_| rapport_app::crypto::random_token()[..20].to_owned());
            let started = std::time::Instant::now();
            let seeded = if demo {
                vec![app.seed_demo(&password).await.map_err(describe)?]
            } else {
                let mut size = rapport_app::seed::Size::SCALE;
                if let Some(n) = contacts {
                    size.contacts = n;
                }
                if let Some(n) = records {
                    size.berths = n;
                }
                app.seed_scale(scale.unwrap_or(1), size, &password)
                    .await
                    .map_err(describe)?
            };
            for s in &seeded {
                println!(
                    "Created {} ({} records) at {base_url}/o/{}/",
                    s.organization, s.records, s.slug
                );
                for (email, role) in &s.people {
                    println!("  {:<8} {email}", role.as_str());
                }
            }
            println!(
                "Sign in at {base_url}/login with one of these emails and the password {password}"
            );
            println!("({:.1} s)", started.elapsed().as_secs_f64());
            app.db.close().await;
            Ok(())
        }
    }
}

async fn admin(app: &App, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateOrganization {
            name,
            owner_email,
            slug,
            currency,
            time_zone,
        } => {
            let org = app
                .create_organization_for(
                    NewOrganizationInput {
                        name,
                        slug,
                        currency,
                        time_zone,
                    },
                    &owner_email,
                    None,
                    &RequestMeta::default(),
                )
                .await
                .map_err(describe)?;
            println!(
                "Created organization {} ({}), id {}, owned by {owner_email}.",
                org.name, org.slug, org.id
            );
        }
        AdminCommand::CreateUser {
            email,
            name,
            instance_admin,
        } => {
            let password = read_password()?;
            let user = app
                .cli_create_user(&email, &name, &password, instance_admin)
                .await
                .map_err(describe)?;
            println!(
                "Created user {} ({}){}.",
                user.email,
                user.id,
                if instance_admin {
                    ", instance administrator"
                } else {
                    ""
                }
            );
        }
        AdminCommand::AddMember {
            organization,
            email,
            role,
        } => {
            let role: Role = role.parse().map_err(|e| anyhow::anyhow!("--role {e}"))?;
            app.cli_add_member(&organization, &email, role)
                .await
                .map_err(describe)?;
            println!("Added {email} to {organization} as {role}.");
        }
        AdminCommand::ResetPassword { email } => {
            let password = read_password()?;
            app.cli_reset_password(&email, &password)
                .await
                .map_err(describe)?;
            println!("Password of {email} changed; their sign-ins were ended.");
        }
        AdminCommand::ResetTwoFactor { email } => {
            app.cli_reset_two_factor(&email).await.map_err(describe)?;
            println!("Two-factor authentication of {email} is off; their sign-ins were ended.");
        }
        AdminCommand::SetInstanceAdmin { email, value } => {
            app.cli_set_instance_admin(&email, value)
                .await
                .map_err(describe)?;
            println!(
                "{email} is {}an instance administrator.",
                if value { "" } else { "no longer " }
            );
        }
        AdminCommand::ListOrganizations => {
            let orgs = app.cli_list_organizations().await.map_err(describe)?;
            if orgs.is_empty() {
                println!(
                    "No organizations yet. Create one with: rapport admin create-organization --name NAME --owner-email EMAIL"
                );
            }
            for org in orgs {
                let state = if org.deleted_at.is_some() {
                    "deleted"
                } else {
                    org.status.as_str()
                };
                println!("{}  {:<24} {:<10} {}", org.id, org.slug, state, org.name);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rapport: {error}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    tracing::debug!(?config, "configuration");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("rapport: could not start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rapport: {error}");
            ExitCode::FAILURE
        }
    }
}
