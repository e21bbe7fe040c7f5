//! `vigil-intel`: threat intelligence in and out.
//!
//! It owns the importers of public feeds (Forta labels, OFAC lists, MetaMask's phishing list,
//! generic CSV/JSON, STIX 2.1 bundles), the STIX 2.1 mapping of Vigil's reports, attestations
//! and alerts, and confidence decay with age. No network: the TAXII server lives in the node.
