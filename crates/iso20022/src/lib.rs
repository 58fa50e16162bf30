//! ISO 20022 for the EU/UK rails: messages out (pacs.008.001.08, pain.001.001.09, each with a
//! head.001.001.02 Business Application Header), the BAH `Sgntr` XMLDSig profile, and the
//! verification of what comes back (pacs.002.001.10 status reports, pacs.004.001.09 returns). See `docs/iso20022.md`.
//!
//! No I/O here: the caller gives typed inputs and keys, and stores or sends the bytes.

pub mod c14n;
pub mod charset;
pub mod message;
pub mod sign;
pub mod verify;
mod writer;

pub use charset::{CharsetError, SepaText};
pub use message::{
    CreditTransfer, Creditor, Header, MessageError, MessageId, MessageKind, PaymentReturn,
    Platform, PostalAddress, StatusOutcome, TransactionStatus, UnsignedMessage, check_transfer,
    pacs002, pacs004, pacs008, pain001,
};
pub use sign::{KeyError, SignError, SignedMessage, Signer};
pub use verify::{Payload, ReferenceKind, Registry, Verified, Verifier, VerifyError};
