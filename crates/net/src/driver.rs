//! What every consensus driver shares: the driver trait, its errors, the clock, and running
//! the synchronous app off the async threads.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use vigil_core::AccountId;

use crate::app::{AppError, ConsensusApp};

/// Why a driver stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The app failed to commit a decided block.
    #[error("the app could not commit: {0}")]
    App(#[from] AppError),
    /// The app panicked inside a call.
    #[error("the app panicked: {0}")]
    AppPanicked(String),
    /// This node's key is not in the validator set the app reports.
    #[error("this node's key {0} is not in the validator set; it cannot propose or vote")]
    NotAValidator(AccountId),
    /// The driver's configuration is unusable.
    #[error("invalid consensus configuration: {0}")]
    Config(String),
    /// The consensus engine or its network failed.
    #[error("consensus engine failed: {0}")]
    Engine(String),
}

/// A consensus driver: orders transactions into blocks and commits them through the app until
/// `shutdown` is cancelled, then returns the app.
pub trait ConsensusDriver: Send + 'static {
    /// Runs the driver. Returns the app after a clean shutdown; an error stops the node.
    fn run<A: ConsensusApp>(
        self,
        app: A,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<A, DriverError>> + Send;
}

/// What a driver reports as it works, for metrics and status pages. Every method has an empty
/// default, and calls must return quickly: they run on the driver's task.
pub trait ConsensusObserver: Send + Sync + 'static {
    /// A round of `height` started (round 0 first; a later round means the earlier one failed).
    fn round_started(&self, height: u64, round: u32) {
        let _ = (height, round);
    }

    /// The block at `height` was decided in `round` and committed.
    fn committed(&self, height: u64, round: u32, txs: usize) {
        let _ = (height, round, txs);
    }

    /// The number of consensus peers this node is connected to.
    fn peers(&self, connected: usize) {
        let _ = connected;
    }

    /// The validator set deciding the current height: its size and total voting power.
    fn validator_set(&self, validators: usize, total_power: u64) {
        let _ = (validators, total_power);
    }
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl ConsensusObserver for NoObserver {}

/// Wall-clock time for block headers. Drivers are the I/O edge, so they may read a clock; the
/// ledger only ever sees the number written in the block.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn unix_seconds(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

/// The app shared between a driver's tasks; every call runs on a blocking thread because apps
/// do disk I/O and signature checks.
pub(crate) struct SharedApp<A>(Arc<Mutex<A>>);

impl<A> Clone for SharedApp<A> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<A: ConsensusApp> SharedApp<A> {
    pub fn new(app: A) -> Self {
        Self(Arc::new(Mutex::new(app)))
    }

    /// Runs `f` on the app on a blocking thread.
    pub async fn call<R, F>(&self, f: F) -> Result<R, DriverError>
    where
        R: Send + 'static,
        F: FnOnce(&mut A) -> R + Send + 'static,
    {
        let app = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let mut guard =
                app.lock().map_err(|_| DriverError::AppPanicked("app lock poisoned".into()))?;
            Ok(f(&mut guard))
        })
        .await
        .map_err(|e| DriverError::AppPanicked(e.to_string()))?
    }

    /// Gives the app back once every other handle is gone.
    pub fn into_inner(self) -> Result<A, DriverError> {
        Arc::try_unwrap(self.0)
            .map_err(|_| DriverError::Engine("app still in use after shutdown".into()))?
            .into_inner()
            .map_err(|_| DriverError::AppPanicked("app lock poisoned".into()))
    }
}
