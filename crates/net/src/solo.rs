//! The solo driver: one node orders its own mempool into blocks on a timer. It is the embedded
//! default (`vigil up`); its certificates are the proposer's signature over each block hash.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use vigil_core::{Block, ChainId, Keypair};

use crate::app::ConsensusApp;
use crate::certificate::CommitCertificate;
use crate::driver::{Clock, ConsensusDriver, DriverError, SharedApp, SystemClock};

/// Settings of the solo driver.
#[derive(Clone, Debug)]
pub struct SoloConfig {
    /// The network; part of every certificate signature.
    pub chain_id: ChainId,
    /// Time between block attempts (default 1 s).
    pub block_interval: Duration,
    /// Commit a block even when the mempool is empty (default false).
    pub empty_blocks: bool,
    /// Most encoded transaction bytes per block (default 4 MiB).
    pub max_block_bytes: usize,
}

impl SoloConfig {
    /// Defaults for `chain_id`: one block a second, no empty blocks, 4 MiB of transactions.
    pub fn new(chain_id: ChainId) -> Self {
        Self {
            chain_id,
            block_interval: Duration::from_secs(1),
            empty_blocks: false,
            max_block_bytes: 4 << 20,
        }
    }
}

/// Orders the app's mempool into blocks on a timer and commits each with a solo certificate.
pub struct SoloDriver {
    config: SoloConfig,
    key: Keypair,
    clock: Arc<dyn Clock>,
}

impl SoloDriver {
    /// A driver that signs with `key` (which must be the app's only validator) and stamps blocks
    /// with the system clock.
    pub fn new(config: SoloConfig, key: Keypair) -> Self {
        Self { config, key, clock: Arc::new(SystemClock) }
    }

    /// Uses `clock` for block times instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds and commits the next block if there is anything to commit. Returns the committed
    /// height, or `None` when it skipped.
    async fn step<A: ConsensusApp>(&self, app: &SharedApp<A>) -> Result<Option<u64>, DriverError> {
        let max_bytes = self.config.max_block_bytes;
        let (last, txs) = app
            .call(move |app| {
                let last = app.last_commit();
                let txs = app.prepare_proposal(last.height.saturating_add(1), max_bytes);
                (last, txs)
            })
            .await?;
        if txs.is_empty() && !self.config.empty_blocks {
            return Ok(None);
        }
        let height = last
            .height
            .checked_add(1)
            .ok_or_else(|| DriverError::Engine("block height overflow".into()))?;
        let block = Block {
            height,
            time: self.clock.unix_seconds(),
            proposer: self.key.account_id(),
            parent: last.block_hash,
            txs,
        };
        let certificate =
            CommitCertificate::solo(&self.config.chain_id, &block.hash(), &self.key).to_bytes();
        let committed = app
            .call(move |app| {
                if !app.process_proposal(&block) {
                    return Ok(None);
                }
                app.commit_block(&block, &certificate).map(Some)
            })
            .await??;
        match committed {
            Some(app_hash) => {
                tracing::debug!(height, app_hash = %hex_short(&app_hash), "solo block committed");
                Ok(Some(height))
            }
            None => {
                // The app refused a block built from its own mempool: a bug in the app, not a
                // reason to stop the node. Try again at the next tick.
                tracing::error!(height, "the app refused the solo driver's own block; skipped");
                Ok(None)
            }
        }
    }
}

fn hex_short(bytes: &[u8; 32]) -> String {
    bytes[..6].iter().map(|b| format!("{b:02x}")).collect()
}

impl ConsensusDriver for SoloDriver {
    async fn run<A: ConsensusApp>(
        self,
        app: A,
        shutdown: CancellationToken,
    ) -> Result<A, DriverError> {
        if self.config.block_interval.is_zero() {
            return Err(DriverError::Config("block_interval must be greater than zero".into()));
        }
        let app = SharedApp::new(app);
        let me = self.key.account_id();
        let set = app
            .call(|app| {
                let next = app.last_commit().height.saturating_add(1);
                app.validator_set(next)
            })
            .await?;
        if !set.iter().any(|(v, p)| *v == me && *p > 0) {
            return Err(DriverError::NotAValidator(me));
        }
        tracing::info!(validator = %me.short(), interval = ?self.config.block_interval, "solo driver started");
        let mut ticker = tokio::time::interval(self.config.block_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; start one interval in
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {
                    // A step runs to completion even if shutdown arrives meanwhile: a commit is
                    // never cut in half.
                    self.step(&app).await?;
                }
            }
        }
        tracing::info!("solo driver stopped");
        app.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use vigil_core::{AccountId, Amount, Tx, TxBody};

    use super::*;
    use crate::certificate::CertificateError;
    use crate::memory::MemoryApp;

    struct FixedClock(AtomicU64);

    impl Clock for FixedClock {
        fn unix_seconds(&self) -> u64 {
            self.0.fetch_add(1, Ordering::Relaxed)
        }
    }

    fn chain() -> ChainId {
        "vigil-solo-test".parse().unwrap()
    }

    fn transfer(key: &Keypair, nonce: u64) -> vigil_core::SignedTx {
        Tx {
            chain_id: chain(),
            signer: key.account_id(),
            nonce,
            body: TxBody::Transfer { to: AccountId([9; 32]), amount: Amount(1) },
        }
        .sign(key)
    }

    fn config(interval_ms: u64, empty: bool) -> SoloConfig {
        SoloConfig {
            block_interval: Duration::from_millis(interval_ms),
            empty_blocks: empty,
            ..SoloConfig::new(chain())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn commits_mempool_transactions_in_order_and_skips_empty_blocks() {
        let validator = Keypair::from_seed(&[1; 32]);
        let user = Keypair::from_seed(&[2; 32]);
        let app = MemoryApp::new(chain(), vec![(validator.account_id(), 1)]);
        let handle = app.clone();
        for nonce in 0..3 {
            handle.submit(transfer(&user, nonce)).unwrap();
        }
        let shutdown = CancellationToken::new();
        let driver = SoloDriver::new(config(1000, false), validator.clone())
            .with_clock(Arc::new(FixedClock(AtomicU64::new(1_700_000_000))));
        let task = tokio::spawn(driver.run(app, shutdown.clone()));

        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(handle.last_commit().height, 1, "first block after one interval");
        assert_eq!(handle.nonce(&user.account_id()), 3);
        // Nothing pending: several intervals pass without a block.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(handle.last_commit().height, 1);
        handle.submit(transfer(&user, 3)).unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(handle.last_commit().height, 2);

        shutdown.cancel();
        let app = task.await.unwrap().unwrap();
        let (b1, c1) = app.decided_block(1).unwrap();
        let (b2, c2) = app.decided_block(2).unwrap();
        assert_eq!(b1.txs.len(), 3);
        assert_eq!(b1.proposer, validator.account_id());
        assert_eq!(b1.parent, vigil_core::BlockHash::default());
        assert_eq!(b2.parent, b1.hash());
        assert!(b2.time > b1.time);
        let set = [(validator.account_id(), 1)];
        CommitCertificate::from_bytes(&c2).unwrap().verify(&chain(), 2, &b2.hash(), &set).unwrap();
        assert!(matches!(
            CommitCertificate::from_bytes(&c1).unwrap().verify(&chain(), 1, &b2.hash(), &set),
            Err(CertificateError::Signature(_))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn empty_blocks_when_configured() {
        let validator = Keypair::from_seed(&[1; 32]);
        let app = MemoryApp::new(chain(), vec![(validator.account_id(), 1)]);
        let handle = app.clone();
        let shutdown = CancellationToken::new();
        let task =
            tokio::spawn(SoloDriver::new(config(100, true), validator).run(app, shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(1050)).await;
        shutdown.cancel();
        task.await.unwrap().unwrap();
        assert_eq!(handle.last_commit().height, 10);
    }

    #[tokio::test]
    async fn a_key_outside_the_validator_set_is_refused() {
        let validator = Keypair::from_seed(&[1; 32]);
        let stranger = Keypair::from_seed(&[3; 32]);
        let app = MemoryApp::new(chain(), vec![(validator.account_id(), 1)]);
        let err = SoloDriver::new(config(100, true), stranger.clone())
            .run(app, CancellationToken::new())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, DriverError::NotAValidator(who) if who == stranger.account_id()));
    }

    #[tokio::test(start_paused = true)]
    async fn restarts_from_the_apps_last_commit() {
        let validator = Keypair::from_seed(&[1; 32]);
        let app = MemoryApp::new(chain(), vec![(validator.account_id(), 1)]);
        let handle = app.clone();
        let shutdown = CancellationToken::new();
        let driver = SoloDriver::new(config(100, true), validator.clone());
        let task = tokio::spawn(driver.run(app, shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(350)).await;
        shutdown.cancel();
        let app = task.await.unwrap().unwrap();
        assert_eq!(handle.last_commit().height, 3);
        let shutdown = CancellationToken::new();
        let driver = SoloDriver::new(config(100, true), validator);
        let task = tokio::spawn(driver.run(app, shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(250)).await;
        shutdown.cancel();
        task.await.unwrap().unwrap();
        assert_eq!(handle.last_commit().height, 5);
        let (b4, _) = handle.decided_block(4).unwrap();
        assert_eq!(b4.parent, handle.decided_block(3).unwrap().0.hash());
    }

    #[tokio::test]
    async fn zero_interval_is_a_config_error() {
        let validator = Keypair::from_seed(&[1; 32]);
        let app = MemoryApp::new(chain(), vec![(validator.account_id(), 1)]);
        let err = SoloDriver::new(config(0, true), validator)
            .run(app, CancellationToken::new())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, DriverError::Config(_)));
    }
}
