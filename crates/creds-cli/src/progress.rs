//! A progress line on stderr while resolution takes longer than a moment, only when stderr is a
//! terminal; erased when done.

use std::io::{IsTerminal, Write};
use std::time::Duration;

/// How long resolution may take before the line appears.
const MOMENT: Duration = Duration::from_millis(400);

/// Shows `what` on stderr after a moment; erases it when dropped.
pub(crate) struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
    shown: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    pub(crate) fn start(what: String) -> Progress {
        let shown = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress { task: None, shown };
        }
        let flag = shown.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(MOMENT).await;
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "creds: {what}…");
            let _ = err.flush();
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        Progress {
            task: Some(task),
            shown,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        if self.shown.load(std::sync::atomic::Ordering::SeqCst) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}
