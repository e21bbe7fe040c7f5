//! The built-in detectors, one type each.

pub mod drain;
pub mod flash_loan;
pub mod fresh_contract;
pub mod governance;
pub mod indicator;
pub mod outflow;
pub mod price_manipulation;
pub mod reentrancy;
pub mod volume;

pub use drain::PredictedDrain;
pub use flash_loan::FlashLoanExploit;
pub use fresh_contract::FreshAttackerContract;
pub use governance::SuspiciousProposal;
pub use indicator::IndicatorMatch;
pub use outflow::OutflowRateLimit;
pub use price_manipulation::PriceManipulation;
pub use reentrancy::Reentrancy;
pub use volume::VolumeAnomaly;
