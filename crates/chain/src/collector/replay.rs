//! Replays a recording: its events in order, as fast as the monitor takes them (or paced).

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use super::{ChainEvent, Collector};
use crate::error::{ChainError, Result};
use crate::raw::{Recorded, Recording};

/// Sends the events of a [`Recording`].
#[derive(Debug)]
pub struct ReplayCollector {
    recording: Recording,
    pace: Option<Duration>,
}

impl ReplayCollector {
    /// Replays `recording` without delays.
    pub fn new(recording: Recording) -> Self {
        Self { recording, pace: None }
    }

    /// Waits `pace` between events (for demos).
    pub fn paced(mut self, pace: Duration) -> Self {
        self.pace = Some(pace);
        self
    }
}

impl Collector for ReplayCollector {
    fn name(&self) -> &'static str {
        "replay"
    }

    fn run(self: Box<Self>, out: mpsc::Sender<ChainEvent>) -> BoxFuture<'static, Result<()>> {
        async move {
            for event in self.recording.events {
                let event = match event {
                    Recorded::Pending { seen_at, tx } => ChainEvent::Pending { tx, seen_at },
                    Recorded::Block(raw) => ChainEvent::Block { raw, cursor: None },
                };
                out.send(event).await.map_err(|_| ChainError::Closed)?;
                if let Some(p) = self.pace {
                    tokio::time::sleep(p).await;
                }
            }
            Ok(())
        }
        .boxed()
    }
}
