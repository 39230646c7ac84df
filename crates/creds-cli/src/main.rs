//! `creds`: read secrets by reference or logical name, run programs with secrets in their
//! environment, export, check and write them.
//!
//! See `creds --help` and the project's README. Exit status (spec §3): 0 success; 2 bad usage,
//! configuration or reference; 3 not found; 4 access denied or rejected credentials; 5 backend
//! unavailable or timed out; 1 anything else. `creds run` exits with the child's status.

mod context;
mod progress;
mod redact;
/// The check of the `redact` fuzz target, run by `redact`'s tests on the committed fuzz inputs.
#[cfg(test)]
#[path = "../../../fuzz/oracles/redact.rs"]
mod redact_oracle;
mod run;
mod verbs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use creds::Error;

/// Read secrets from any store by reference or logical name, and run programs with them.
///
/// A reference is SCHEME://LOCATOR[?OPTIONS][#SELECTOR], for example env://API_KEY,
/// dotenv://API_KEY?path=config/.env, file:///run/secrets/db, keyring://my_app/api_key,
/// aws-sm://app/db#password, aws-ssm:///app/prod/key, vault://secret/app#password. A bare NAME is
/// a logical name, declared in creds.toml or resolved through the profile's chain.
#[derive(Debug, Parser)]
#[command(name = "creds", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 success; 2 bad usage, configuration or reference; \
3 not found; 4 access denied or rejected credentials; 5 backend unavailable or timed out; \
1 anything else. `creds run` exits with the program's own status."
)]
struct Cli {
    /// The configuration file (else $CREDS_CONFIG, else ./creds.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The profile (else $CREDS_PROFILE, else the file's default-profile).
    #[arg(long, global = true, value_name = "PROFILE")]
    profile: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Output formats of `export`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// NAME="value" lines.
    Dotenv,
    /// One JSON object.
    Json,
    /// export NAME='value' lines for eval in a POSIX shell.
    Shell,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum CheckFormat {
    /// An aligned table.
    Table,
    /// A JSON array.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print one secret's value to stdout, followed by a newline.
    Get {
        /// Do not print the trailing newline.
        #[arg(short = 'n')]
        no_newline: bool,
        /// A reference (env://API_KEY) or a logical name (api_key).
        reference: String,
    },
    /// Run a program with secrets in its environment and exit with its status.
    ///
    /// The declared secrets of creds.toml (and the profile's imports) are set, then the --env-file
    /// and --env bindings. Values reach the program only through its environment, never its
    /// arguments. All are resolved concurrently before the program starts; if a required one
    /// fails, the program is not started. SIGINT and SIGTERM are forwarded.
    Run {
        /// A variable to set: NAME=REFERENCE or NAME=logical_name (repeatable).
        #[arg(long = "env", value_name = "NAME=REF")]
        env: Vec<String>,
        /// A file of NAME=REFERENCE (or NAME=logical_name) lines; blank lines and # comments are
        /// skipped. It holds references, not values: a line that looks like a value is refused
        /// by file and line, without showing it.
        #[arg(long = "env-file", value_name = "FILE")]
        env_file: Vec<PathBuf>,
        /// Replace every secret value in the program's stdout and stderr with [REDACTED:NAME].
        #[arg(long)]
        redact: bool,
        /// The program and its arguments.
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Print every declared secret (and import) with its value; a warning goes to stderr.
    Export {
        /// The output format.
        #[arg(long, value_enum, default_value = "dotenv")]
        format: ExportFormat,
    },
    /// Resolve every declared secret and print name, source, version and age — never a value.
    /// Exits non-zero if a required one fails.
    Check {
        /// The output format.
        #[arg(long, value_enum, default_value = "table")]
        format: CheckFormat,
    },
    /// Write the value read from stdin (never from the command line) to a writable store, as a
    /// new version where the store keeps versions. One trailing newline is removed unless --raw.
    Set {
        /// Keep the input's bytes exactly (no trailing newline removed).
        #[arg(long)]
        raw: bool,
        /// A reference (keyring://app/key, aws-sm://app/db#password, vault://secret/app) or a
        /// declared logical name.
        reference: String,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("creds: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        let ctx = context::Context::new(cli.config.as_deref(), cli.profile.as_deref())
            .map_err(|e| vec![e])?;
        match cli.command {
            Command::Get {
                no_newline,
                reference,
            } => verbs::get(&ctx, &reference, no_newline).await,
            Command::Run {
                env,
                env_file,
                redact,
                command,
            } => run::run(&ctx, &env, &env_file, redact, command).await,
            Command::Export { format } => verbs::export(&ctx, format).await,
            Command::Check { format } => verbs::check(&ctx, format).await,
            Command::Set { raw, reference } => verbs::set(&ctx, &reference, raw).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(errors) => {
            for e in &errors {
                eprintln!("creds: {e}");
            }
            ExitCode::from(errors.first().map(Error::exit_code).unwrap_or(1))
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CREDS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("creds=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}
