//! The real services the tests run against: moto (AWS), OpenBao (Vault) and a private D-Bus
//! session with an unlocked gnome-keyring (Secret Service). Each is started, waited for with a
//! deadline, and stopped by PID when [`Services`] is dropped, also on failure.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{Result, cache_dir};

const DEADLINE: Duration = Duration::from_secs(60);

/// A started process, stopped (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    name: &'static str,
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("xtask: {} did not stop on SIGTERM; killed", self.name);
    }
}

/// The running services and the environment that reaches them.
pub(crate) struct Services {
    // Dropped in reverse order of start: the keyring before its bus.
    procs: Vec<Proc>,
    env: Vec<(String, String)>,
    dir: PathBuf,
}

impl Drop for Services {
    fn drop(&mut self) {
        while let Some(p) = self.procs.pop() {
            drop(p);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port on loopback: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// One HTTP/1.0 GET on loopback; the status line, if any answer came.
fn http_status(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    text.lines().next().map(str::to_string)
}

impl Services {
    /// Starts every service and waits until each answers.
    pub(crate) fn start(venv: &Path) -> Result<Services> {
        let dir = cache_dir().join(format!("run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut s = Services {
            procs: Vec::new(),
            env: Vec::new(),
            dir,
        };
        s.start_moto(venv)?;
        s.start_openbao(venv)?;
        s.start_keyring()?;
        let python = venv.join("bin/python");
        s.env
            .push(("CREDS_TEST_PYTHON".into(), python.display().to_string()));
        // The vendors' recorded traffic for the Azure and GCP replays, beside the repository.
        let conformance = crate::root().join("../shared/conformance");
        if conformance.exists() {
            s.env.push((
                "CREDS_CONFORMANCE_DIR".into(),
                conformance.display().to_string(),
            ));
        }
        // Tests that need a service fail, rather than skip, when it is missing.
        s.env.push(("CREDS_TEST_SERVICES".into(), "1".into()));
        Ok(s)
    }

    /// One line naming what runs where.
    pub(crate) fn describe(&self) -> String {
        self.env
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "AWS_ENDPOINT_URL" | "VAULT_ADDR" | "DBUS_SESSION_BUS_ADDRESS"
                )
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Exposes the services to a command through the usual variables.
    pub(crate) fn apply_env(&self, cmd: &mut Command) {
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    fn log(&self, name: &str) -> Result<Stdio> {
        let path = self.dir.join(format!("{name}.log"));
        std::fs::File::create(&path)
            .map(Stdio::from)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) -> Result<()> {
        let child = cmd
            .stdout(self.log(name)?)
            .stderr(self.log(name)?)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        self.procs.push(Proc { name, child });
        Ok(())
    }

    /// Polls `ready` until it is true, the process exits, or the deadline passes.
    fn wait(&mut self, name: &str, mut ready: impl FnMut() -> bool) -> Result<()> {
        let started = Instant::now();
        loop {
            if ready() {
                return Ok(());
            }
            let proc = self.procs.last_mut().expect("a process was started");
            if let Ok(Some(status)) = proc.child.try_wait() {
                return Err(format!(
                    "{name} exited with {status} before it was ready; see {}",
                    self.dir.join(format!("{}.log", proc.name)).display()
                ));
            }
            if started.elapsed() > DEADLINE {
                return Err(format!(
                    "{name} was not ready within {DEADLINE:?}; see {}",
                    self.dir.join(format!("{}.log", proc.name)).display()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn start_moto(&mut self, venv: &Path) -> Result<()> {
        let port = free_port()?;
        self.spawn(
            "moto",
            Command::new(venv.join("bin/moto_server")).args([
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ]),
        )?;
        self.wait("moto", || http_status(port, "/").is_some())?;
        let url = format!("http://127.0.0.1:{port}");
        for (k, v) in [
            ("AWS_ENDPOINT_URL", url.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            (
                "CREDS_TEST_MOTO_PID",
                &self
                    .procs
                    .last()
                    .map(|p| p.child.id())
                    .unwrap_or(0)
                    .to_string(),
            ),
        ] {
            self.env.push((k.into(), v.into()));
        }
        Ok(())
    }

    fn start_openbao(&mut self, venv: &Path) -> Result<()> {
        let port = free_port()?;
        self.spawn(
            "openbao",
            Command::new(venv.join("bin/bao")).args([
                "server",
                "-dev",
                "-dev-root-token-id=root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                "-dev-no-store-token",
            ]),
        )?;
        self.wait("openbao", || {
            http_status(port, "/v1/sys/health").is_some_and(|s| s.contains(" 200"))
        })?;
        let url = format!("http://127.0.0.1:{port}");
        for (k, v) in [
            ("VAULT_ADDR", url.as_str()),
            ("VAULT_TOKEN", "root"),
            ("BAO_ADDR", url.as_str()),
            ("BAO_TOKEN", "root"),
            (
                "CREDS_TEST_OPENBAO_PID",
                &self
                    .procs
                    .last()
                    .map(|p| p.child.id())
                    .unwrap_or(0)
                    .to_string(),
            ),
        ] {
            self.env.push((k.into(), v.into()));
        }
        Ok(())
    }

    fn start_keyring(&mut self) -> Result<()> {
        let runtime = self.dir.join("runtime");
        let data = self.dir.join("data");
        for d in [&runtime, &data] {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| e.to_string())?;
        let socket = runtime.join("bus");
        let address = format!("unix:path={}", socket.display());
        self.spawn(
            "dbus",
            Command::new("dbus-daemon").args([
                "--session",
                "--nofork",
                "--nopidfile",
                &format!("--address={address}"),
            ]),
        )?;
        let bus_ok = |address: &str| {
            Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.ListNames",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", address)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        self.wait("dbus", || bus_ok(&address))?;

        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", &data)
            .stdin(Stdio::piped())
            .stdout(self.log("gnome-keyring")?)
            .stderr(self.log("gnome-keyring")?)
            .spawn()
            .map_err(|e| format!("cannot start gnome-keyring-daemon: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            // The login keyring's password: a throwaway for this run's throwaway keyring.
            let _ = stdin.write_all(b"creds-ci-keyring\n");
        }
        let keyring_pid = child.id();
        self.procs.push(Proc {
            name: "gnome-keyring",
            child,
        });
        let has_secrets = |address: &str| {
            Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", address)
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
        };
        self.wait("gnome-keyring", || has_secrets(&address))?;
        self.env
            .push(("DBUS_SESSION_BUS_ADDRESS".into(), address.clone()));
        self.env
            .push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));
        // Fault tests pause the Secret Service (SIGSTOP) and resume it.
        self.env
            .push(("CREDS_TEST_KEYRING_PID".into(), keyring_pid.to_string()));
        Ok(())
    }
}
