//! A monitor running in the background, with its alerts collected.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use vigil_chain::{Monitor, MonitorConfig, MonitorError, MonitorStats};
use vigil_core::Alert;

pub struct Running {
    rx: mpsc::UnboundedReceiver<Alert>,
    pub seen: Vec<Alert>,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<Result<MonitorStats, MonitorError>>,
}

impl Running {
    pub async fn start(config: MonitorConfig) -> Self {
        let monitor = Monitor::connect(&config).await.expect("monitor connects");
        Self::spawn(monitor)
    }

    pub fn spawn(monitor: Monitor) -> Self {
        // `RUST_LOG=vigil_chain=debug` shows what the monitor does.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(monitor.run(tx, async move {
            let _ = stopped.await;
        }));
        Self { rx, seen: Vec::new(), stop, handle }
    }

    /// Waits (at most `within`) for an alert matching `pred`, keeping every alert seen.
    pub async fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Alert) -> bool,
    ) -> Alert {
        if let Some(a) = self.seen.iter().find(|a| pred(a)) {
            return a.clone();
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(a)) => {
                    self.seen.push(a.clone());
                    if pred(&a) {
                        return a;
                    }
                }
                Ok(None) => {
                    panic!("monitor stopped while waiting for {what}; seen: {:#?}", self.summary())
                }
                Err(_) => panic!("no {what} within {within:?}; seen: {:#?}", self.summary()),
            }
        }
    }

    pub fn summary(&self) -> Vec<String> {
        self.seen
            .iter()
            .map(|a| {
                format!("{} [{}] block {:?}: {}", a.detector, a.severity, a.tx.block, a.description)
            })
            .collect()
    }

    /// Waits for the monitor to end by itself (a replay), then collects everything.
    pub async fn stop_when_done(mut self) -> (MonitorStats, Vec<Alert>) {
        let stats = tokio::time::timeout(Duration::from_secs(30), &mut self.handle)
            .await
            .expect("replay ends")
            .expect("monitor task")
            .expect("monitor ran cleanly");
        while let Some(a) = self.rx.recv().await {
            self.seen.push(a);
        }
        (stats, self.seen)
    }

    pub async fn stop(mut self) -> (MonitorStats, Vec<Alert>) {
        let _ = self.stop.send(());
        let stats = self.handle.await.expect("monitor task").expect("monitor ran cleanly");
        while let Some(a) = self.rx.recv().await {
            self.seen.push(a);
        }
        (stats, self.seen)
    }
}

/// Waits until `cond` holds, checking every 50 ms, at most `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
