//! Helpers shared by the workspace's tests (a dev-dependency only; it knows nothing of creds):
//!
//! - [`rt`] and [`rt_local`]: the two runtimes tests use;
//! - [`unique`]: names of this process's own (servers' state is shared between tests);
//! - [`service`] and [`services_required`]: the gate for the servers `cargo xtask ci` starts —
//!   a test skips when its server is not up, except under `CREDS_TEST_SERVICES=1`, where that
//!   is a failure;
//! - [`bao`]: the OpenBao CLI of the tools' venv, as root;
//! - [`LogCapture`]: what tracing logs on this thread;
//! - [`counters`]: what a `metrics-util` debugging recorder counted;
//! - [`write_file`]: a file with a given mode;
//! - [`run_as_child`]: one test of the running binary again, in a child process with its own
//!   environment (for SDKs that read only the process environment).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use metrics_util::debugging::{DebugValue, Snapshotter};

/// A multi-thread runtime with two workers (as many as CI's cores).
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A current-thread runtime: everything runs on the calling thread (as [`LogCapture`] needs).
pub fn rt_local() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A name of this process's own: `creds_TAG_PID_N`. Letters, digits, `_` and the tag's own
/// characters: valid as an environment variable, an AWS, GCP or Vault name and a keyring service.
pub fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "creds_{tag}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether the servers must be up (`CREDS_TEST_SERVICES=1`, as `cargo xtask ci` sets).
pub fn services_required() -> bool {
    std::env::var("CREDS_TEST_SERVICES").as_deref() == Ok("1")
}

/// The value of `var`, which `cargo xtask services` sets when `what` is up (for example
/// `AWS_ENDPOINT_URL` for moto). `None`, with a note, when it is not; a panic when the servers
/// are required.
pub fn service(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(!services_required(), "{what} must be up ({var} is not set)");
            eprintln!(
                "skipped: {what} is not up ({var} is not set; run under cargo xtask services)"
            );
            None
        }
    }
}

/// The `bao` binary: beside the venv's python (`CREDS_TEST_PYTHON`), else on `PATH`.
pub fn bao_path() -> PathBuf {
    std::env::var("CREDS_TEST_PYTHON")
        .map(|p| PathBuf::from(p).with_file_name("bao"))
        .unwrap_or_else(|_| PathBuf::from("bao"))
}

/// Runs the bao CLI as root against `addr`, with `stdin`; the output, whatever the status.
/// TLS verification is off: the CLI only sets up and probes the tests' own servers, whose
/// certificates are made by the tests.
pub fn bao_at(addr: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(bao_path())
        .args(args)
        .env("BAO_ADDR", addr)
        .env("BAO_TOKEN", "root")
        .env("BAO_SKIP_VERIFY", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bao CLI runs");
    let mut input = child.stdin.take().expect("piped stdin");
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).expect("bao reads stdin");
    }
    drop(input);
    child.wait_with_output().expect("bao finishes")
}

/// Runs the bao CLI as root against `$VAULT_ADDR` and returns its trimmed stdout; panics with
/// its stderr when it fails.
pub fn bao(args: &[&str], stdin: Option<&str>) -> String {
    let addr = std::env::var("VAULT_ADDR").expect("VAULT_ADDR");
    let out = bao_at(&addr, args, stdin);
    assert!(
        out.status.success(),
        "bao {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Captures what tracing logs on this thread (at every level) while it is alive.
///
/// ```
/// let logs = creds_test_support::LogCapture::start();
/// tracing::warn!("hello");
/// assert!(logs.text().contains("hello"));
/// ```
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    /// Starts capturing on the current thread (use [`rt_local`] for async code).
    pub fn start() -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = CaptureWriter(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        LogCapture {
            buf,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().expect("log buffer")).into_owned()
    }
}

#[derive(Clone)]
struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How much each counter grew since the previous snapshot of a debugging recorder (a snapshot
/// drains the counters), summed over label sets.
pub fn counters(snapshotter: &Snapshotter) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if let DebugValue::Counter(n) = value {
            *out.entry(key.key().name().to_string()).or_default() += n;
        }
    }
    out
}

/// Writes `content` to `dir/name` (making missing parent directories) and sets its mode (Unix);
/// returns the path.
pub fn write_file(dir: &Path, name: &str, content: impl AsRef<[u8]>, mode: u32) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("make a test directory");
    }
    std::fs::write(&path, content).expect("write a test file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .expect("set a test file's mode");
    }
    #[cfg(not(unix))]
    let _ = mode;
    path
}

/// Runs one test of the current test binary again in a child process whose environment
/// `configure` sets, and checks that it ran and passed. For code that reads only the process
/// environment (a cloud SDK's default credentials), which a test must not change: the test
/// checks for a marker variable that `configure` sets and, when it is there, does the work.
pub fn run_as_child(test: &str, configure: impl FnOnce(&mut Command)) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args([test, "--exact", "--nocapture"]);
    configure(&mut cmd);
    let out = cmd.output().expect("run the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran {test}: {text}");
}
