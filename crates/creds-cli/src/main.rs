//! `creds`: read secrets by reference and run programs with secrets in their environment.
//!
//! See `creds --help` and the project's README. Exit status (spec §3): 0 success; 2 bad usage,
//! configuration or reference; 3 not found; 4 access denied or rejected credentials; 5 backend
//! unavailable or timed out; 1 anything else. `creds run` exits with the child's status.

mod run;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use creds::{Error, ErrorKind, Resolver};

/// Read secrets from any store by reference, and run programs with them.
///
/// A reference is SCHEME://LOCATOR[?OPTIONS][#SELECTOR], for example env://API_KEY,
/// dotenv://API_KEY?path=config/.env, file:///run/secrets/db, keyring://my_app/api_key,
/// aws-sm://app/db#password.
#[derive(Debug, Parser)]
#[command(name = "creds", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 success; 2 bad usage, configuration or reference; \
3 not found; 4 access denied or rejected credentials; 5 backend unavailable or timed out; \
1 anything else. `creds run` exits with the program's own status."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print one secret's value to stdout, followed by a newline.
    Get {
        /// Do not print the trailing newline.
        #[arg(short = 'n')]
        no_newline: bool,
        /// The reference to read, e.g. env://API_KEY or keyring://my_app/api_key.
        reference: String,
    },
    /// Run a program with secrets in its environment and exit with its status.
    ///
    /// The values reach the program only through its environment, never its arguments. All
    /// references are resolved concurrently before the program starts; if any fails, the
    /// program is not started.
    Run {
        /// A variable to set: NAME=REFERENCE (repeatable).
        #[arg(long = "env", value_name = "NAME=REF")]
        env: Vec<String>,
        /// A file of NAME=REFERENCE lines (blank lines and # comments are skipped).
        #[arg(long = "env-file", value_name = "FILE")]
        env_file: Vec<PathBuf>,
        /// The program and its arguments.
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
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
    let resolver = creds::builder().build();
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Get {
                no_newline,
                reference,
            } => get(&resolver, &reference, no_newline).await,
            Command::Run {
                env,
                env_file,
                command,
            } => run::run(&resolver, &env, &env_file, command).await,
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
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}

/// The reference for a command-line argument: a bare NAME is a logical name, which needs a
/// `creds.toml` (not supported by this version).
pub(crate) fn parse_reference(arg: &str) -> Result<creds::Reference, Error> {
    if !arg.contains("://") {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "`{arg}` is a logical name, which needs a creds.toml declaring it or a chain; \
                 give a reference such as env://{arg} instead"
            ),
        ));
    }
    arg.parse()
}

async fn get(resolver: &Resolver, reference: &str, no_newline: bool) -> Result<u8, Vec<Error>> {
    let reference = parse_reference(reference).map_err(|e| vec![e])?;
    let secret = resolver.get(&reference).await.map_err(|e| vec![e])?;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(secret.expose_secret())
        .and_then(|()| {
            if no_newline {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(vec![
            Error::new(ErrorKind::Other, "cannot write to stdout").with_source(e),
        ]),
    }
}
