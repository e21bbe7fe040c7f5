//! The persistent cursor: where a block collector is, so it resumes after a restart, and the
//! hashes of the last blocks it processed, so it can find the common ancestor of a reorg.
//!
//! [`CursorStore`] is the storage seam; [`FileCursorStore`] keeps the cursor in a small JSON
//! file replaced atomically (write a temporary file, fsync, rename, fsync the directory), so a
//! crash leaves either the old or the new cursor, never a torn one. The node may supply a redb
//! store instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use vigil_core::B256;

use crate::error::{ChainError, Result};

/// Blocks a cursor remembers by default: the deepest reorg it can follow.
pub const DEFAULT_DEPTH: usize = 64;

/// Where a block collector is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    /// The EVM chain id, so a cursor is never used on another chain.
    pub chain_id: u64,
    /// `(number, hash)` of the last blocks processed, oldest first; the last is the head.
    pub recent: Vec<(u64, B256)>,
}

impl Cursor {
    /// A cursor for `chain_id` that has processed nothing.
    pub fn new(chain_id: u64) -> Self {
        Self { chain_id, recent: Vec::new() }
    }

    /// The last block processed.
    pub fn head(&self) -> Option<(u64, B256)> {
        self.recent.last().copied()
    }

    /// The hash of processed block `number`, if remembered.
    pub fn hash_at(&self, number: u64) -> Option<B256> {
        self.recent.iter().rev().find(|(n, _)| *n == number).map(|(_, h)| *h)
    }

    /// Records block `number` as processed, keeping at most `depth` blocks.
    pub fn push(&mut self, number: u64, hash: B256, depth: usize) {
        self.recent.retain(|(n, _)| *n < number);
        self.recent.push((number, hash));
        let excess = self.recent.len().saturating_sub(depth.max(1));
        self.recent.drain(..excess);
    }

    /// Forgets the blocks above `number` (a reorg replaced them).
    pub fn truncate_after(&mut self, number: u64) {
        self.recent.retain(|(n, _)| *n <= number);
    }
}

/// Where a cursor is kept.
pub trait CursorStore: Send + Sync {
    /// The saved cursor, `None` when there is none yet.
    fn load(&self) -> Result<Option<Cursor>>;
    /// Saves `cursor`, durably, replacing the previous one.
    fn save(&self, cursor: &Cursor) -> Result<()>;
}

/// A cursor in a JSON file, replaced atomically.
#[derive(Clone, Debug)]
pub struct FileCursorStore {
    path: PathBuf,
}

impl FileCursorStore {
    /// A store at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> ChainError {
    ChainError::File { path: path.into(), message: e.to_string() }
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| file_error(path, "not a file path"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        file_error(path, e)
    })
}

impl CursorStore for FileCursorStore {
    fn load(&self) -> Result<Option<Cursor>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| file_error(&self.path, format!("not a cursor file: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file_error(&self.path, e)),
        }
    }

    fn save(&self, cursor: &Cursor) -> Result<()> {
        let bytes = serde_json::to_vec(cursor).map_err(|e| file_error(&self.path, e))?;
        write_atomically(&self.path, &bytes)
    }
}

/// A cursor kept in memory only (no resume after restart).
#[derive(Debug, Default)]
pub struct MemoryCursorStore {
    cursor: Mutex<Option<Cursor>>,
}

impl CursorStore for MemoryCursorStore {
    fn load(&self) -> Result<Option<Cursor>> {
        Ok(self.cursor.lock().map(|c| c.clone()).unwrap_or(None))
    }

    fn save(&self, cursor: &Cursor) -> Result<()> {
        if let Ok(mut c) = self.cursor.lock() {
            *c = Some(cursor.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_keeps_the_last_blocks_and_truncate_drops_replaced_ones() {
        let mut c = Cursor::new(1);
        for n in 1..=10 {
            c.push(n, B256([n as u8; 32]), 4);
        }
        assert_eq!(c.recent.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![7, 8, 9, 10]);
        assert_eq!(c.hash_at(8), Some(B256([8; 32])));
        c.truncate_after(8);
        assert_eq!(c.head(), Some((8, B256([8; 32]))));
        // Pushing a lower block (after a reorg) replaces what was above it.
        c.push(8, B256([0x88; 32]), 4);
        assert_eq!(c.recent.len(), 2);
        assert_eq!(c.head(), Some((8, B256([0x88; 32]))));
    }

    #[test]
    fn file_store_round_trips_and_reports_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCursorStore::new(dir.path().join("cursor.json"));
        assert_eq!(store.load().unwrap(), None);
        let mut c = Cursor::new(31337);
        c.push(5, B256([5; 32]), DEFAULT_DEPTH);
        store.save(&c).unwrap();
        assert_eq!(store.load().unwrap(), Some(c.clone()));
        c.push(6, B256([6; 32]), DEFAULT_DEPTH);
        store.save(&c).unwrap();
        assert_eq!(store.load().unwrap(), Some(c));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        std::fs::write(store.path(), b"{\"chain_id\":1,").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("cursor.json") && err.contains("not a cursor file"), "{err}");
    }
}
