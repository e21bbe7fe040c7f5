//! The intelligence service: opens the book and the TAXII server in the node's state at
//! start. The book itself ([`super::Intel`]) is a
//! leaf the state holds; this takes the state and its own settings sections.

use std::sync::Arc;

use vigil_taxii::{TaxiiConfig, TaxiiState};

use super::{AdminToken, IntelConfig, IntelError};
use crate::app::NodeState;

/// Sets up the node's intelligence at start: loads the stored book, reads or creates the
/// admin token, and opens the TAXII server's collections in the node's database.
pub fn open(
    state: &NodeState,
    config: &IntelConfig,
    taxii: &TaxiiConfig,
) -> Result<(), IntelError> {
    let intel = &state.intel;
    let _ = intel.config.set(config.clone());
    let n = intel.load()?;
    tracing::info!(indicators = n, "indicator book loaded");
    let token = AdminToken::load_or_create(&config.admin_token_file)?;
    tracing::info!(file = %config.admin_token_file.display(), "admin token ready");
    let operator = token.clone();
    let _ = intel.admin.set(token);
    let taxii = taxii_state(state, taxii, operator)?;
    let _ = intel.taxii.set(taxii);
    Ok(())
}

/// The TAXII server over the node's database; the admin token makes its bearer the operator,
/// who may delete any inbox object.
fn taxii_state(
    state: &NodeState,
    config: &TaxiiConfig,
    operator: AdminToken,
) -> Result<Arc<TaxiiState>, IntelError> {
    let store = vigil_taxii::RedbStore::new(state.store.database())?;
    let taxii = TaxiiState::new(config.clone(), Arc::new(store))?
        .with_operator(move |headers| operator.verify(headers));
    let anonymous: Vec<&str> = config
        .collections
        .iter()
        .filter(|c| c.anonymous_read)
        .map(|c| c.alias.as_deref().unwrap_or(&c.id))
        .collect();
    tracing::info!(
        base = %config.base_path,
        users = config.users.len(),
        anonymous_read = ?anonymous,
        "TAXII 2.1 server mounted"
    );
    Ok(Arc::new(taxii))
}
