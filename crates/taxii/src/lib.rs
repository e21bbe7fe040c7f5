//! `vigil-taxii`: a TAXII 2.1 server (OASIS TAXII Version 2.1) as an axum [`Router`] over a
//! collection store.
//!
//! It owns the endpoints (discovery, API root, collections, objects with `added_after`,
//! `limit`, `next` and `match[id|type|version|spec_version]`, manifest, one object and its
//! versions, delete, status), media-type negotiation (406/415), HTTP Basic and bearer-token
//! authentication with per-collection anonymous read, and the [`TaxiiStore`] seam with its
//! redb implementation ([`RedbStore`]) in tables of the node's database.
//!
//! Invariants: a page costs time proportional to the page, not to the collection (indexed by
//! `(date_added, sequence)`); the `next` token is stateless (it encodes the position of the
//! last entry served, so pages are stable when many objects share one `date_added`);
//! `date_added` never decreases; objects posted to a writable collection are stored apart per
//! poster ([`submissions_key`]) and queued for review, never shared further by this crate:
//! each poster reads and deletes only their own, no other user reads them, and only the poster
//! or the node's operator deletes them; discovery never echoes a `Host` header nobody allowed;
//! secrets are never logged.

mod auth;
pub mod config;
mod media;
mod redb_store;
mod server;
mod store;
mod time;

pub use axum::Router;
pub use config::{
    CollectionConfig, ConfigError, TaxiiConfig, UserConfig, aliases, default_collection_id,
    hash_password, hash_token,
};
pub use media::{STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE};
pub use redb_store::RedbStore;
pub use server::{
    ServedAt, TaxiiError, TaxiiState, collection_of_key, router, routes, submissions_key,
};
pub use store::{
    AddOutcome, Cursor, Page, Query, Record, ReviewItem, StoreError, TaxiiStore, VersionSel,
};
pub use time::{Micros, format_micros, now_micros, parse_micros};
