//! `creds run`: resolve secrets concurrently, start the program with them in its environment,
//! forward SIGINT and SIGTERM, and exit with its status.

use std::ffi::OsString;
use std::path::PathBuf;

use creds::{Error, ErrorKind, Secret};

use crate::context::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

/// One `NAME=REF` binding (a reference or a logical name).
#[derive(Debug)]
struct Binding {
    name: String,
    reference: String,
    /// `FILE:N` for a binding of an env file.
    line: Option<String>,
}

fn parse_binding(text: &str, origin: &str) -> Result<Binding, Error> {
    let Some((name, reference)) = text.split_once('=') else {
        return Err(Error::config(format!(
            "{origin}: `{text}` is not of the form NAME=REFERENCE"
        )));
    };
    let name = name.trim();
    if name.is_empty() || name.contains('\0') {
        return Err(Error::config(format!(
            "{origin}: empty or invalid variable name"
        )));
    }
    let reference = reference.trim();
    if reference.contains("://") {
        reference.parse::<creds::Reference>()?;
    }
    Ok(Binding {
        name: name.to_string(),
        reference: reference.to_string(),
        line: None,
    })
}

/// Whether an env file's text is shaped like a variable or logical name (ASCII letters, digits,
/// `_`, `-`, `.`, and `/` where `slash`).
fn name_like(text: &str, slash: bool) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b) || (slash && b == b'/'))
}

/// Reads `NAME=REFERENCE` lines. An env file handed over by mistake may hold values (a `.env`
/// file, or docker's `--env-file`), so a line that is not a binding, or whose right side is
/// neither a reference nor shaped like a logical name, is named by file and line only (even its
/// left side may be part of a value: a base64 line ending in `==`).
fn read_env_file(path: &PathBuf) -> Result<Vec<Binding>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!("cannot read env file `{}`", path.display())).with_source(e)
    })?;
    let mut bindings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let origin = format!("{}:{}", path.display(), n + 1);
        let not_shown = "(not shown: an env file holds NAME=REFERENCE lines, not values)";
        let Some((name, reference)) = line.split_once('=') else {
            return Err(Error::config(format!(
                "{origin}: the line is not of the form NAME=REFERENCE {not_shown}"
            )));
        };
        let (name, reference) = (name.trim(), reference.trim());
        if !name_like(name, false) {
            return Err(Error::config(format!(
                "{origin}: the variable name is not made of letters, digits, `_`, `-` and `.` \
                 {not_shown}"
            )));
        }
        if !reference.contains("://") && !name_like(reference, true) {
            return Err(Error::config(format!(
                "{origin}: the right side is neither a reference (SCHEME://LOCATOR) nor a \
                 logical name {not_shown}"
            )));
        }
        let mut binding = parse_binding(line, &origin)?;
        binding.line = Some(origin);
        bindings.push(binding);
    }
    Ok(bindings)
}

/// The error of a binding that did not resolve. A logical name from an env file is not repeated
/// (nor the references a chain made of it): the file may hold a value where a name belongs.
fn binding_error(binding: &Binding, e: Error) -> Error {
    match &binding.line {
        Some(line) if !binding.reference.contains("://") => Error::new(
            e.kind(),
            format!(
                "{line}: {}: the logical name bound there did not resolve; it is not shown, as \
                 an env file may hold a value by mistake (`creds get` with that name says why)",
                binding.name
            ),
        ),
        _ => e,
    }
}

pub(crate) async fn run(
    ctx: &Context,
    env: &[String],
    env_files: &[PathBuf],
    redact: bool,
    command: Vec<OsString>,
) -> Result<u8, Vec<Error>> {
    let mut bindings = Vec::new();
    let mut errors = Vec::new();
    for file in env_files {
        match read_env_file(file) {
            Ok(b) => bindings.extend(b),
            Err(e) => errors.push(e),
        }
    }
    for text in env {
        match parse_binding(text, "--env") {
            Ok(b) => bindings.push(b),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let (declared, results) = futures::future::join(
        crate::verbs::declared_variables(ctx),
        futures::future::join_all(bindings.iter().map(|b| ctx.resolve(&b.reference))),
    )
    .await;
    let (mut values, declared_errors): (Vec<(String, Secret)>, _) = declared;
    errors.extend(declared_errors);
    for (binding, result) in bindings.iter().zip(results) {
        match result {
            Ok(secret) => values.push((binding.name.clone(), secret)),
            Err(e) => errors.push(binding_error(binding, e)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Watch signals before the program starts, so none sent after it started is missed.
    let signal_error = |e: std::io::Error| {
        vec![Error::new(ErrorKind::Other, "cannot watch signals").with_source(e)]
    };
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_error)?;
    let (program, args) = command.split_first().expect("clap requires a command");
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    // Later bindings win: --env over --env-file over the declared secrets.
    for (name, secret) in &values {
        use std::os::unix::ffi::OsStrExt;
        cmd.env(name, std::ffi::OsStr::from_bytes(secret.expose_secret()));
    }
    let redactions: Vec<(String, Vec<u8>)> = if redact {
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        values
            .iter()
            .map(|(n, s)| (n.clone(), s.expose_secret().to_vec()))
            .collect()
    } else {
        Vec::new()
    };
    drop(values);
    let mut child = cmd.spawn().map_err(|e| {
        vec![
            Error::new(
                ErrorKind::Other,
                format!("cannot start `{}`", program.to_string_lossy()),
            )
            .with_source(e),
        ]
    })?;
    let pid = child.id().map(|id| Pid::from_raw(id as i32));
    let mut copies = Vec::new();
    if redact {
        if let Some(out) = child.stdout.take() {
            copies.push(tokio::spawn(copy_redacted(
                out,
                tokio::io::stdout(),
                redactions.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            copies.push(tokio::spawn(copy_redacted(
                err,
                tokio::io::stderr(),
                redactions.clone(),
            )));
        }
    }
    drop(redactions);

    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = sigint.recv() => forward(pid, Signal::SIGINT),
            _ = sigterm.recv() => forward(pid, Signal::SIGTERM),
        }
    };
    let status = status.map_err(|e| {
        vec![Error::new(ErrorKind::Other, "cannot wait for the program").with_source(e)]
    })?;
    for c in copies {
        let _ = c.await;
    }
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(sig)) => 128u8.saturating_add(sig as u8),
        (None, None) => 1,
    })
}

fn forward(pid: Option<Pid>, sig: Signal) {
    if let Some(pid) = pid {
        let _ = kill(pid, sig);
    }
}

/// Copies a stream of the program to ours, redacting every secret value.
async fn copy_redacted<R, W>(mut from: R, mut to: W, values: Vec<(String, Vec<u8>)>)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut redactor = crate::redact::Redactor::new(&values);
    drop(values);
    let mut buf = vec![0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let out = redactor.feed(&buf[..n]);
                if to.write_all(&out).await.is_err() {
                    break;
                }
                let _ = to.flush().await;
            }
        }
    }
    let _ = to.write_all(&redactor.finish()).await;
    let _ = to.flush().await;
    zeroize::Zeroize::zeroize(&mut buf);
}
