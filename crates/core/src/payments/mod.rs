//! The payment flow the security controls guard: recipients, quotes, transfers and their state
//! machine, the compliance decision, and the ledger postings each step makes.

pub mod compliance;
pub mod ledger;
pub mod monitoring;
pub mod quote;
pub mod recipient;
pub mod transfer;
