//! `get`, `export`, `check` and `set`, and the variables that `run` and `export` share.

use std::io::{IsTerminal, Read, Write};
use std::time::SystemTime;

use creds::config::Config;
use creds::{Error, ErrorKind, Secret, upper_snake};

use crate::context::Context;
use crate::{CheckFormat, ExportFormat};

type Outcome = Result<u8, Vec<Error>>;

pub(crate) async fn get(ctx: &Context, arg: &str, no_newline: bool) -> Outcome {
    let progress = crate::progress::Progress::start(format!("resolving {arg}"));
    let secret = ctx.resolve(arg).await.map_err(|e| vec![e]);
    drop(progress);
    let secret = secret?;
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

/// The variables of the declared secrets and the profile's imports, resolved concurrently.
/// Optional secrets that fail are left out with a warning.
pub(crate) async fn declared_variables(ctx: &Context) -> (Vec<(String, Secret)>, Vec<Error>) {
    let mut vars = Vec::new();
    let mut errors = Vec::new();
    let Some(config) = &ctx.config else {
        return (vars, errors);
    };
    let _progress = crate::progress::Progress::start(format!(
        "resolving {} declared secrets",
        config.secrets().count()
    ));
    let declared: Vec<_> = config.secrets().collect();
    let results =
        futures::future::join_all(declared.iter().map(|(name, _)| ctx.resolve(name))).await;
    for ((name, decl), result) in declared.iter().zip(results) {
        match result {
            Ok(s) => vars.push((Config::env_name(name, decl), s)),
            Err(e) if decl.optional => {
                tracing::warn!(target: "creds", secret = *name, error = %e, "optional secret left out");
            }
            Err(e) => errors.push(e),
        }
    }
    if let Some(profile) = &ctx.profile {
        for import in &profile.import {
            match import_variables(ctx, import).await {
                Ok(v) => vars.extend(v),
                Err(e) => errors.push(e),
            }
        }
    }
    (vars, errors)
}

/// One bulk import: every parameter under an `aws-ssm:///path/`, else every member of a JSON
/// object secret, as variables in upper snake case.
async fn import_variables(ctx: &Context, reference: &str) -> Result<Vec<(String, Secret)>, Error> {
    let parsed: creds::Reference = reference.parse()?;
    if parsed.scheme() == creds::Scheme::AwsSsm && parsed.locator().ends_with('/') {
        let store = creds::aws::SsmStore::from_env();
        let params = store
            .get_by_path(
                parsed.locator(),
                true,
                parsed.bool_option("decrypt", true),
                parsed.option("region"),
            )
            .await
            .map_err(|e| e.with_reference(reference))?;
        return Ok(params.into_iter().map(|p| (p.env_name, p.secret)).collect());
    }
    let secret = ctx.resolver.get(reference).await?;
    let map: serde_json::Map<String, serde_json::Value> = secret.json().map_err(|e| {
        Error::decode(format!("an import needs a JSON object: {}", e.message()))
            .with_reference(reference)
    })?;
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        let bytes = match value {
            serde_json::Value::String(s) => s.into_bytes(),
            other => serde_json::to_vec(&other).unwrap_or_default(),
        };
        out.push((
            upper_snake(&key),
            Secret::new(bytes, secret.metadata().clone()),
        ));
    }
    Ok(out)
}

fn dotenv_quote(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '$' => s.push_str("\\$"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

pub(crate) async fn export(ctx: &Context, format: ExportFormat) -> Outcome {
    if ctx.config.is_none() {
        return Err(vec![Error::config(
            "export needs a creds.toml with [secrets]",
        )]);
    }
    let (vars, errors) = declared_variables(ctx).await;
    if !errors.is_empty() {
        return Err(errors);
    }
    eprintln!("creds: warning: printing secret values to stdout");
    let mut text = String::new();
    match format {
        ExportFormat::Json => {
            let mut map = serde_json::Map::new();
            for (name, s) in &vars {
                let v = s.expose_str().map_err(|e| vec![e])?;
                map.insert(name.clone(), serde_json::Value::String(v.to_string()));
            }
            text = serde_json::to_string_pretty(&map).unwrap_or_default();
            text.push('\n');
        }
        ExportFormat::Dotenv | ExportFormat::Shell => {
            if matches!(format, ExportFormat::Shell)
                && let Some((bad, _)) = vars
                    .iter()
                    .find(|(n, _)| !creds::config::is_variable_name(n))
            {
                // This output is eval'd: a name that is not one would be shell code or break it.
                return Err(vec![Error::config(format!(
                    "variable {bad:?} is not a shell variable name; use --format dotenv or json"
                ))]);
            }
            for (name, s) in &vars {
                let v = s.expose_str().map_err(|e| vec![e])?;
                match format {
                    ExportFormat::Dotenv => text.push_str(&format!("{name}={}\n", dotenv_quote(v))),
                    _ => text.push_str(&format!("export {name}={}\n", shell_quote(v))),
                }
            }
        }
    }
    let text = zeroize::Zeroizing::new(text);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| vec![Error::new(ErrorKind::Other, "cannot write to stdout").with_source(e)])?;
    Ok(0)
}

fn age(created: Option<SystemTime>) -> (String, Option<u64>) {
    let Some(secs) = created
        .and_then(|c| SystemTime::now().duration_since(c).ok())
        .map(|d| d.as_secs())
    else {
        return ("-".into(), None);
    };
    let text = match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    };
    (text, Some(secs))
}

pub(crate) async fn check(ctx: &Context, format: CheckFormat) -> Outcome {
    let Some(config) = &ctx.config else {
        return Err(vec![Error::config(
            "check needs a creds.toml with [secrets]",
        )]);
    };
    let declared: Vec<_> = config.secrets().collect();
    let results =
        futures::future::join_all(declared.iter().map(|(name, _)| ctx.resolve(name))).await;
    let mut rows = Vec::new();
    let mut exit = 0u8;
    for ((name, decl), result) in declared.iter().zip(results) {
        let row = match result {
            Ok(s) => {
                let (age_text, age_secs) = age(s.metadata().created);
                serde_json::json!({
                    "name": name,
                    "status": "ok",
                    "source": s.source(),
                    "reference": s.reference().map(|r| r.to_string()),
                    "version": s.version(),
                    "age": age_text,
                    "age_seconds": age_secs,
                    "optional": decl.optional,
                })
            }
            Err(e) => {
                if !decl.optional && exit == 0 {
                    exit = e.exit_code();
                }
                serde_json::json!({
                    "name": name,
                    "status": if decl.optional { "missing (optional)" } else { "error" },
                    "source": e.source_name(),
                    "reference": e.reference(),
                    "version": null,
                    "age": "-",
                    "age_seconds": null,
                    "optional": decl.optional,
                    "error": e.to_string(),
                })
            }
        };
        rows.push(row);
    }
    let mut out = String::new();
    match format {
        CheckFormat::Json => {
            out = serde_json::to_string_pretty(&rows).unwrap_or_default();
            out.push('\n');
        }
        CheckFormat::Table => {
            let cell = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            };
            let table: Vec<[String; 5]> = rows
                .iter()
                .map(|r| {
                    [
                        cell(&r["name"]),
                        cell(&r["status"]),
                        cell(&r["source"]),
                        cell(&r["version"]),
                        cell(&r["age"]),
                    ]
                })
                .collect();
            let header = ["NAME", "STATUS", "SOURCE", "VERSION", "AGE"].map(String::from);
            let mut widths = header.clone().map(|h| h.len());
            for r in &table {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            for r in std::iter::once(&header).chain(&table) {
                let line: Vec<String> = r
                    .iter()
                    .zip(widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                out.push_str(line.join("  ").trim_end());
                out.push('\n');
            }
            for r in &rows {
                if let Some(e) = r["error"].as_str() {
                    eprintln!("creds: {}: {e}", cell(&r["name"]));
                }
            }
        }
    }
    print!("{out}");
    Ok(exit)
}

/// Reads the value: from a pipe or file as it is, from a terminal without echo.
fn read_value(prompt: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    let stdin = std::io::stdin();
    let mut buf = zeroize::Zeroizing::new(Vec::new());
    if stdin.is_terminal() {
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        eprint!("{prompt}");
        let fd = std::io::stdin();
        let saved = tcgetattr(&fd)
            .map_err(|e| Error::new(ErrorKind::Other, "cannot read the terminal").with_source(e))?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&fd, SetArg::TCSANOW, &quiet);
        let mut line = zeroize::Zeroizing::new(String::new());
        let read = stdin.read_line(&mut line);
        let _ = tcsetattr(&fd, SetArg::TCSANOW, &saved);
        eprintln!();
        read.map_err(|e| Error::new(ErrorKind::Other, "cannot read stdin").with_source(e))?;
        buf.extend_from_slice(line.as_bytes());
    } else {
        stdin
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| Error::new(ErrorKind::Other, "cannot read stdin").with_source(e))?;
    }
    Ok(buf)
}

pub(crate) async fn set(ctx: &Context, arg: &str, raw: bool) -> Outcome {
    let target = ctx.write_target(arg).map_err(|e| vec![e])?;
    let reference: creds::Reference = target.parse().map_err(|e| vec![e])?;
    let mut value = read_value(&format!("Value for {reference}: ")).map_err(|e| vec![e])?;
    if !raw && value.last() == Some(&b'\n') {
        value.pop();
        if value.last() == Some(&b'\r') {
            value.pop();
        }
    }
    let meta = ctx
        .resolver
        .set(&reference, &value)
        .await
        .map_err(|e| vec![e])?;
    match meta.version {
        Some(v) => eprintln!("creds: wrote {reference} (version {v})"),
        None => eprintln!("creds: wrote {reference}"),
    }
    Ok(0)
}
