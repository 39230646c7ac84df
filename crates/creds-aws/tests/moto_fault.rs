//! Fault tests against a real moto server of this test's own (started from the venv that
//! `cargo xtask ci` provides), so pausing and stopping it disturbs no other test: SIGSTOP gives
//! stale values inside the window and timeouts outside it within the deadline, SIGCONT recovers,
//! and a stopped server gets bounded, counted retries.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use creds_aws::AwsStoreBuilder;
use creds_core::{CacheConfig, ErrorKind, Resolver, RetryPolicy, Timeouts};
use creds_test_support::counters;
use metrics_util::debugging::DebuggingRecorder;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Option<Moto> {
        let python = match std::env::var("CREDS_TEST_PYTHON") {
            Ok(p) => PathBuf::from(p),
            Err(_) => {
                assert!(
                    !creds_test_support::services_required(),
                    "no CREDS_TEST_PYTHON"
                );
                eprintln!("skipped: CREDS_TEST_PYTHON (the venv with moto) is not set");
                return None;
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python.with_file_name("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let url = format!("http://127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Moto { child, url })
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn sdk(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::for_tests(),
                ),
            )
            .build()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = kill(self.pid(), Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn paused_and_stopped_moto() {
    let Some(mut moto) = Moto::start() else {
        return;
    };
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let rt = creds_test_support::rt();
    rt.block_on(async {
        let sdk = moto.sdk();
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        sm.create_secret()
            .name("fault/db")
            .secret_string("last-good")
            .send()
            .await
            .unwrap();
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(10),
        };
        let deadline = Duration::from_secs(2);
        let resolver = Resolver::builder()
            .with_store(
                AwsStoreBuilder::from_env()
                    .with_sdk_config(sdk.clone())
                    .build_secrets_manager(),
            )
            .with_retry(policy)
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
        assert_eq!(
            resolver
                .get("aws-sm://fault/db")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "last-good"
        );

        // Paused: the last good value inside the window, within the deadline.
        kill(moto.pid(), Signal::SIGSTOP).unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        let started = Instant::now();
        let s = resolver.get("aws-sm://fault/db").await.unwrap();
        assert_eq!(s.expose_str().unwrap(), "last-good");
        assert!(
            started.elapsed() < deadline + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        // Nothing cached: a timeout within the deadline.
        let started = Instant::now();
        let e = resolver
            .get("aws-sm://fault/never-cached")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(
            started.elapsed() < deadline + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );

        // Resumed: fresh values again.
        kill(moto.pid(), Signal::SIGCONT).unwrap();
        sm.put_secret_value()
            .secret_id("fault/db")
            .secret_string("after-resume")
            .send()
            .await
            .unwrap();
        let s = resolver.refresh_now("aws-sm://fault/db").await.unwrap();
        assert_eq!(s.expose_str().unwrap(), "after-resume");

        // Stopped: connection refused, retried a bounded number of times, counted.
        moto.child.kill().unwrap();
        moto.child.wait().unwrap();
        counters(&snapshotter); // start counting from here
        let started = Instant::now();
        let e = resolver.get("aws-sm://fault/other").await.unwrap_err();
        // Refused connections are `unavailable`; a connection the dead server had queued may
        // hang until the attempt timeout instead. Both are temporary and let a chain go on.
        assert!(
            matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Timeout),
            "{e}"
        );
        assert!(
            started.elapsed() < deadline + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        assert!(e.is_temporary());
        let grown = counters(&snapshotter);
        let retries = grown.get("creds_retries_total").copied().unwrap_or(0);
        assert_eq!(retries, u64::from(policy.max_attempts - 1));
    });
}
