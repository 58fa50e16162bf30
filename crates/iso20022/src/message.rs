//! Message generation: pacs.008.001.08 (one FI-to-FI customer credit transfer per transfer) and
//! pain.001.001.09 (a batch of credit transfers to the partner bank), each with a
//! head.001.001.02 Business Application Header, inside a `urn:swift:xsd:envelope` `Envelope`.
//!
//! Inputs are typed (IBAN, BIC, money, country are already validated by `benteng-core`); the free
//! text (names, address lines, remittance) goes through [`SepaText`], so what leaves is in the
//! SEPA Latin set or the render is refused naming the field. The AppHdr carries an empty
//! `<Sgntr></Sgntr>`: [`crate::Signer`] splices the signature into it without touching any other
//! byte.

use std::fmt;

use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::iban::Iban;
use benteng_core::ids::TransferId;
use benteng_core::money::Money;
use benteng_core::text::Bic;
use time::format_description::well_known::Iso8601;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::charset::{CharsetError, SepaText};
use crate::writer::Writer;

pub const NS_ENVELOPE: &str = "urn:swift:xsd:envelope";
pub const NS_HEAD: &str = "urn:iso:std:iso:20022:tech:xsd:head.001.001.02";
const NS_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";

/// Transfers in one pain.001; larger batches are split by the caller.
pub const MAX_BATCH: usize = 1000;

/// The message definitions this crate writes or reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Customer credit transfer initiation (to the partner bank).
    Pain001,
    /// FI-to-FI customer credit transfer.
    Pacs008,
    /// FI-to-FI payment status report (what comes back).
    Pacs002,
    /// Payment return: a settled transfer sent back by the creditor's bank.
    Pacs004,
}

impl MessageKind {
    /// The message definition identifier, as `AppHdr/MsgDefIdr` carries it.
    pub fn definition(&self) -> &'static str {
        match self {
            MessageKind::Pain001 => "pain.001.001.09",
            MessageKind::Pacs008 => "pacs.008.001.08",
            MessageKind::Pacs002 => "pacs.002.001.10",
            MessageKind::Pacs004 => "pacs.004.001.09",
        }
    }

    pub fn namespace(&self) -> String {
        format!("{NS_PREFIX}{}", self.definition())
    }

    pub fn from_namespace(namespace: &str) -> Option<MessageKind> {
        let definition = namespace.strip_prefix(NS_PREFIX)?;
        [
            MessageKind::Pain001,
            MessageKind::Pacs008,
            MessageKind::Pacs002,
            MessageKind::Pacs004,
        ]
        .into_iter()
        .find(|kind| kind.definition() == definition)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.definition())
    }
}

/// A business message identifier (`BizMsgIdr`, `GrpHdr/MsgId`): `B` and 32 hex digits of a
/// random UUID, so unique without coordination and within the schemas' 35 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    pub fn new() -> Self {
        MessageId(format!("B{}", uuid::Uuid::new_v4().simple()))
    }

    /// An identifier read back (from a status report or storage): 1–35 characters of the SEPA
    /// Latin set, no spaces.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text.chars().count() <= 35
            && text
                .chars()
                .all(|c| c != ' ' && crate::charset::is_sepa_latin(c));
        ok.then(|| MessageId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A structured postal address (the parts the CBPR+ and SEPA rulebooks ask for).
#[derive(Clone, PartialEq, Eq)]
pub struct PostalAddress {
    pub street_name: Option<String>,
    pub building_number: Option<String>,
    pub post_code: Option<String>,
    pub town_name: String,
    pub country: CountryCode,
}

impl fmt::Debug for PostalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostalAddress({}, …)", self.country)
    }
}

/// The platform's own identity (from configuration): debtor of every transfer it sends.
#[derive(Debug, Clone)]
pub struct Platform {
    pub name: String,
    /// The platform's BIC: `AppHdr/Fr`, the instructing agent and (pacs.008) the debtor agent.
    pub bic: Bic,
    /// The platform's settlement account, debited.
    pub iban: Iban,
    pub address: PostalAddress,
}

/// Who is paid.
#[derive(Clone)]
pub struct Creditor {
    pub name: String,
    pub iban: Iban,
    /// The creditor's bank, where known.
    pub bic: Option<Bic>,
    pub address: Option<PostalAddress>,
}

impl fmt::Debug for Creditor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Creditor({:?}, {:?})", self.iban, self.bic)
    }
}

/// One transfer to put on the wire.
#[derive(Debug, Clone)]
pub struct CreditTransfer {
    /// Becomes the end-to-end id (32 hex digits) and, being a UUIDv4, the UETR.
    pub transfer_id: TransferId,
    /// EUR or GBP, positive.
    pub amount: Money,
    pub creditor: Creditor,
    /// Unstructured remittance information for the creditor.
    pub remittance: Option<String>,
}

/// The envelope of one message: its id, when it was made, who receives it and the settlement
/// (pacs.008) or requested execution (pain.001) date.
#[derive(Debug, Clone)]
pub struct Header {
    pub message_id: MessageId,
    pub created_at: OffsetDateTime,
    pub settlement_date: Date,
    /// The receiving institution: `AppHdr/To`, the instructed agent (pacs.008), the partner bank
    /// holding the platform's account (pain.001).
    pub to: Bic,
}

/// Why a message could not be rendered. Names the field, never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Charset(#[from] CharsetError),
    #[error("{field}: currency {currency} is not carried on this rail (EUR and GBP only)")]
    Currency {
        field: &'static str,
        currency: Currency,
    },
    #[error("{field}: amount must be positive")]
    NotPositive { field: &'static str },
    #[error("a pain.001 needs 1 to {MAX_BATCH} transfers, got {count}")]
    BatchSize { count: usize },
    #[error(
        "a pain.001 carries one currency; transfer {index} is in {found}, the first in {first}"
    )]
    MixedCurrencies {
        index: usize,
        first: Currency,
        found: Currency,
    },
    #[error("control sum overflows")]
    Overflow,
}

/// A rendered message before signing: the AppHdr holds an empty `<Sgntr></Sgntr>`.
#[derive(Debug, Clone)]
pub struct UnsignedMessage {
    pub(crate) kind: MessageKind,
    pub(crate) message_id: MessageId,
    pub(crate) xml: String,
}

impl UnsignedMessage {
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    pub fn message_id(&self) -> &MessageId {
        &self.message_id
    }

    pub fn as_str(&self) -> &str {
        &self.xml
    }
}

fn check_amount(field: &'static str, amount: &Money) -> Result<(), MessageError> {
    let currency = amount.currency();
    if currency.code() != "EUR" && currency.code() != "GBP" {
        return Err(MessageError::Currency { field, currency });
    }
    if !amount.is_positive() {
        return Err(MessageError::NotPositive { field });
    }
    Ok(())
}

fn date_time(at: OffsetDateTime) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    at.to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at)
        .format(format)
        .unwrap_or_else(|_| at.format(&Iso8601::DEFAULT).unwrap_or_default())
}

fn date(day: Date) -> String {
    let format = format_description!("[year]-[month]-[day]");
    day.format(format).unwrap_or_default()
}

/// The end-to-end id: the transfer id's 32 hex digits (the hyphenated form is 36, over the
/// schemas' 35).
pub fn end_to_end_id(transfer_id: &TransferId) -> String {
    transfer_id.simple()
}

/// The UETR: the transfer id when it is a UUIDv4 (the schema's pattern), otherwise none.
fn uetr(transfer_id: &TransferId) -> Option<String> {
    let uuid = transfer_id.as_uuid();
    (uuid.get_version_num() == 4 && uuid.get_variant() == uuid::Variant::RFC4122)
        .then(|| uuid.hyphenated().to_string())
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, MessageError> {
    Ok(SepaText::transliterate(field, value, max)?
        .as_str()
        .to_owned())
}

/// Validated party text, gathered before anything is written.
struct Party {
    name: String,
    address: Option<Address>,
}

struct Address {
    street_name: Option<String>,
    building_number: Option<String>,
    post_code: Option<String>,
    town_name: String,
    country: CountryCode,
}

impl Party {
    fn new(
        who: &'static str,
        name: &str,
        address: Option<&PostalAddress>,
    ) -> Result<Party, MessageError> {
        let field = |suffix: &'static str| -> &'static str {
            match (who, suffix) {
                ("debtor", "name") => "debtor name",
                ("debtor", "street") => "debtor street name",
                ("debtor", "building") => "debtor building number",
                ("debtor", "post code") => "debtor post code",
                ("debtor", "town") => "debtor town name",
                (_, "name") => "creditor name",
                (_, "street") => "creditor street name",
                (_, "building") => "creditor building number",
                (_, "post code") => "creditor post code",
                _ => "creditor town name",
            }
        };
        let address = match address {
            None => None,
            Some(a) => Some(Address {
                street_name: a
                    .street_name
                    .as_deref()
                    .map(|v| text(field("street"), v, 70))
                    .transpose()?,
                building_number: a
                    .building_number
                    .as_deref()
                    .map(|v| text(field("building"), v, 16))
                    .transpose()?,
                post_code: a
                    .post_code
                    .as_deref()
                    .map(|v| text(field("post code"), v, 16))
                    .transpose()?,
                town_name: text(field("town"), &a.town_name, 35)?,
                country: a.country,
            }),
        };
        Ok(Party {
            name: text(field("name"), name, 140)?,
            address,
        })
    }

    fn write(&self, w: &mut Writer, element: &str) {
        w.open(element);
        w.leaf("Nm", &self.name);
        if let Some(a) = &self.address {
            w.open("PstlAdr");
            if let Some(v) = &a.street_name {
                w.leaf("StrtNm", v);
            }
            if let Some(v) = &a.building_number {
                w.leaf("BldgNb", v);
            }
            if let Some(v) = &a.post_code {
                w.leaf("PstCd", v);
            }
            w.leaf("TwnNm", &a.town_name);
            w.leaf("Ctry", a.country.as_str());
            w.close("PstlAdr");
        }
        w.close(element);
    }
}

fn agent(w: &mut Writer, element: &str, bic: Option<&Bic>) {
    w.open(element);
    match bic {
        Some(bic) => {
            w.open("FinInstnId");
            w.leaf("BICFI", bic.as_str());
            w.close("FinInstnId");
        }
        None => w.empty("FinInstnId"),
    }
    w.close(element);
}

fn account(w: &mut Writer, element: &str, iban: &Iban) {
    w.open(element);
    w.open("Id");
    w.leaf("IBAN", iban.as_str());
    w.close("Id");
    w.close(element);
}

fn app_hdr(w: &mut Writer, from: &Bic, header: &Header, kind: MessageKind) {
    w.open_ns("AppHdr", NS_HEAD);
    for (element, bic) in [("Fr", from), ("To", &header.to)] {
        w.open(element);
        w.open("FIId");
        w.open("FinInstnId");
        w.leaf("BICFI", bic.as_str());
        w.close("FinInstnId");
        w.close("FIId");
        w.close(element);
    }
    w.leaf("BizMsgIdr", header.message_id.as_str());
    w.leaf("MsgDefIdr", kind.definition());
    w.leaf("CreDt", &date_time(header.created_at));
    w.empty("Sgntr");
    w.close("AppHdr");
}

struct Transaction {
    end_to_end_id: String,
    uetr: Option<String>,
    amount: Money,
    creditor: Party,
    creditor_bic: Option<Bic>,
    creditor_iban: Iban,
    remittance: Option<String>,
}

impl Transaction {
    fn new(transfer: &CreditTransfer) -> Result<Transaction, MessageError> {
        check_amount("amount", &transfer.amount)?;
        Ok(Transaction {
            end_to_end_id: end_to_end_id(&transfer.transfer_id),
            uetr: uetr(&transfer.transfer_id),
            amount: transfer.amount,
            creditor: Party::new(
                "creditor",
                &transfer.creditor.name,
                transfer.creditor.address.as_ref(),
            )?,
            creditor_bic: transfer.creditor.bic.clone(),
            creditor_iban: transfer.creditor.iban.clone(),
            remittance: transfer
                .remittance
                .as_deref()
                .map(|r| text("remittance information", r, 140))
                .transpose()?,
        })
    }

    fn write_remittance(&self, w: &mut Writer) {
        if let Some(remittance) = &self.remittance {
            w.open("RmtInf");
            w.leaf("Ustrd", remittance);
            w.close("RmtInf");
        }
    }
}

/// Whether a transfer can be carried (currency, amount, every free-text field in the SEPA
/// Latin set and within its length), without rendering a message: a batch leaves out the
/// transfers that cannot, naming why, instead of failing whole.
pub fn check_transfer(transfer: &CreditTransfer) -> Result<(), MessageError> {
    Transaction::new(transfer).map(|_| ())
}

/// pacs.008.001.08 for one transfer, from the platform to `header.to`.
pub fn pacs008(
    platform: &Platform,
    header: &Header,
    transfer: &CreditTransfer,
) -> Result<UnsignedMessage, MessageError> {
    let debtor = Party::new("debtor", &platform.name, Some(&platform.address))?;
    let tx = Transaction::new(transfer)?;
    let kind = MessageKind::Pacs008;
    let amount = tx.amount.to_string();
    let currency = tx.amount.currency().code();

    let mut w = Writer::new();
    w.open_ns("Envelope", NS_ENVELOPE);
    app_hdr(&mut w, &platform.bic, header, kind);
    w.open_ns("Document", &kind.namespace());
    w.open("FIToFICstmrCdtTrf");
    w.open("GrpHdr");
    w.leaf("MsgId", header.message_id.as_str());
    w.leaf("CreDtTm", &date_time(header.created_at));
    w.leaf("NbOfTxs", "1");
    w.open("SttlmInf");
    w.leaf("SttlmMtd", "INDA");
    w.close("SttlmInf");
    w.close("GrpHdr");
    w.open("CdtTrfTxInf");
    w.open("PmtId");
    w.leaf("InstrId", &tx.end_to_end_id);
    w.leaf("EndToEndId", &tx.end_to_end_id);
    if let Some(uetr) = &tx.uetr {
        w.leaf("UETR", uetr);
    }
    w.close("PmtId");
    w.leaf_with("IntrBkSttlmAmt", "Ccy", currency, &amount);
    w.leaf("IntrBkSttlmDt", &date(header.settlement_date));
    w.leaf_with("InstdAmt", "Ccy", currency, &amount);
    w.leaf("ChrgBr", "SHAR");
    agent(&mut w, "InstgAgt", Some(&platform.bic));
    agent(&mut w, "InstdAgt", Some(&header.to));
    debtor.write(&mut w, "Dbtr");
    account(&mut w, "DbtrAcct", &platform.iban);
    agent(&mut w, "DbtrAgt", Some(&platform.bic));
    agent(&mut w, "CdtrAgt", tx.creditor_bic.as_ref());
    tx.creditor.write(&mut w, "Cdtr");
    account(&mut w, "CdtrAcct", &tx.creditor_iban);
    tx.write_remittance(&mut w);
    w.close("CdtTrfTxInf");
    w.close("FIToFICstmrCdtTrf");
    w.close("Document");
    w.close("Envelope");
    Ok(UnsignedMessage {
        kind,
        message_id: header.message_id.clone(),
        xml: w.finish(),
    })
}

/// pain.001.001.09 for a batch of transfers in one currency, from the platform to its partner
/// bank `header.to`, executed on `header.settlement_date`.
pub fn pain001(
    platform: &Platform,
    header: &Header,
    transfers: &[CreditTransfer],
) -> Result<UnsignedMessage, MessageError> {
    let Some(first) = transfers.first() else {
        return Err(MessageError::BatchSize { count: 0 });
    };
    if transfers.len() > MAX_BATCH {
        return Err(MessageError::BatchSize {
            count: transfers.len(),
        });
    }
    let currency = first.amount.currency();
    let debtor = Party::new("debtor", &platform.name, Some(&platform.address))?;
    let mut transactions = Vec::with_capacity(transfers.len());
    let mut control_sum = Money::zero(currency);
    for (index, transfer) in transfers.iter().enumerate() {
        if transfer.amount.currency() != currency {
            return Err(MessageError::MixedCurrencies {
                index,
                first: currency,
                found: transfer.amount.currency(),
            });
        }
        let tx = Transaction::new(transfer)?;
        control_sum = control_sum
            .checked_add(tx.amount)
            .map_err(|_| MessageError::Overflow)?;
        transactions.push(tx);
    }
    let kind = MessageKind::Pain001;
    let count = transactions.len().to_string();
    let control_sum = control_sum.to_string();

    let mut w = Writer::new();
    w.open_ns("Envelope", NS_ENVELOPE);
    app_hdr(&mut w, &platform.bic, header, kind);
    w.open_ns("Document", &kind.namespace());
    w.open("CstmrCdtTrfInitn");
    w.open("GrpHdr");
    w.leaf("MsgId", header.message_id.as_str());
    w.leaf("CreDtTm", &date_time(header.created_at));
    w.leaf("NbOfTxs", &count);
    w.leaf("CtrlSum", &control_sum);
    w.open("InitgPty");
    w.leaf("Nm", &debtor.name);
    w.close("InitgPty");
    w.close("GrpHdr");
    w.open("PmtInf");
    w.leaf("PmtInfId", header.message_id.as_str());
    w.leaf("PmtMtd", "TRF");
    w.leaf("NbOfTxs", &count);
    w.leaf("CtrlSum", &control_sum);
    w.open("ReqdExctnDt");
    w.leaf("Dt", &date(header.settlement_date));
    w.close("ReqdExctnDt");
    debtor.write(&mut w, "Dbtr");
    account(&mut w, "DbtrAcct", &platform.iban);
    agent(&mut w, "DbtrAgt", Some(&header.to));
    w.leaf("ChrgBr", "SHAR");
    for tx in &transactions {
        w.open("CdtTrfTxInf");
        w.open("PmtId");
        w.leaf("InstrId", &tx.end_to_end_id);
        w.leaf("EndToEndId", &tx.end_to_end_id);
        if let Some(uetr) = &tx.uetr {
            w.leaf("UETR", uetr);
        }
        w.close("PmtId");
        w.open("Amt");
        w.leaf_with(
            "InstdAmt",
            "Ccy",
            tx.amount.currency().code(),
            &tx.amount.to_string(),
        );
        w.close("Amt");
        if tx.creditor_bic.is_some() {
            agent(&mut w, "CdtrAgt", tx.creditor_bic.as_ref());
        }
        tx.creditor.write(&mut w, "Cdtr");
        account(&mut w, "CdtrAcct", &tx.creditor_iban);
        tx.write_remittance(&mut w);
        w.close("CdtTrfTxInf");
    }
    w.close("PmtInf");
    w.close("CstmrCdtTrfInitn");
    w.close("Document");
    w.close("Envelope");
    Ok(UnsignedMessage {
        kind,
        message_id: header.message_id.clone(),
        xml: w.finish(),
    })
}

/// One transaction's status in a pacs.002.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionStatus {
    /// `OrgnlGrpInf/OrgnlMsgId`: the pacs.008 this answers.
    pub original_message_id: MessageId,
    /// `OrgnlGrpInf/OrgnlMsgNmId`.
    pub original_kind: MessageKind,
    /// `OrgnlEndToEndId`: our transfer id's 32 hex digits.
    pub original_end_to_end_id: String,
    /// `TxSts`: ACSC/ACCC (settled), ACSP (accepted, in progress), PDNG, RJCT …
    pub status: String,
    /// `StsRsnInf/Rsn/Cd`, e.g. `AC04` (closed account).
    pub reason: Option<String>,
}

impl TransactionStatus {
    /// What the status means for the transfer.
    pub fn outcome(&self) -> StatusOutcome {
        match self.status.as_str() {
            "ACSC" | "ACCC" => StatusOutcome::Settled,
            "RJCT" => StatusOutcome::Rejected,
            _ => StatusOutcome::Pending,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    Settled,
    Rejected,
    Pending,
}

/// The start of an answer from a counterparty (pacs.002, pacs.004) carrying `count`
/// transactions: envelope, AppHdr, Document, `body` and the open GrpHdr with its id and time.
fn answer_head(
    from: &Bic,
    header: &Header,
    kind: MessageKind,
    body: &str,
    count: usize,
) -> Result<Writer, MessageError> {
    if count == 0 || count > MAX_BATCH {
        return Err(MessageError::BatchSize { count });
    }
    let mut w = Writer::new();
    w.open_ns("Envelope", NS_ENVELOPE);
    app_hdr(&mut w, from, header, kind);
    w.open_ns("Document", &kind.namespace());
    w.open(body);
    w.open("GrpHdr");
    w.leaf("MsgId", header.message_id.as_str());
    w.leaf("CreDtTm", &date_time(header.created_at));
    Ok(w)
}

/// `OrgnlGrpInf`: the message a status or a return is about.
fn original_group(w: &mut Writer, message_id: &MessageId, kind: MessageKind) {
    w.open("OrgnlGrpInf");
    w.leaf("OrgnlMsgId", message_id.as_str());
    w.leaf("OrgnlMsgNmId", kind.definition());
    w.close("OrgnlGrpInf");
}

/// pacs.002.001.10 from `from` (the counterparty answering) to `header.to`. The platform never
/// sends these; the simulated counterparty and the tests do.
pub fn pacs002(
    from: &Bic,
    header: &Header,
    statuses: &[TransactionStatus],
) -> Result<UnsignedMessage, MessageError> {
    let kind = MessageKind::Pacs002;
    let mut w = answer_head(from, header, kind, "FIToFIPmtStsRpt", statuses.len())?;
    w.close("GrpHdr");
    for status in statuses {
        w.open("TxInfAndSts");
        original_group(&mut w, &status.original_message_id, status.original_kind);
        w.leaf(
            "OrgnlEndToEndId",
            &text("original end-to-end id", &status.original_end_to_end_id, 35)?,
        );
        w.leaf("TxSts", &text("transaction status", &status.status, 4)?);
        if let Some(reason) = &status.reason {
            w.open("StsRsnInf");
            w.open("Rsn");
            w.leaf("Cd", &text("status reason", reason, 4)?);
            w.close("Rsn");
            w.close("StsRsnInf");
        }
        w.close("TxInfAndSts");
    }
    w.close("FIToFIPmtStsRpt");
    w.close("Document");
    w.close("Envelope");
    Ok(UnsignedMessage {
        kind,
        message_id: header.message_id.clone(),
        xml: w.finish(),
    })
}

/// One returned transaction in a pacs.004.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReturn {
    /// `OrgnlGrpInf/OrgnlMsgId`: the pacs.008 whose transaction comes back.
    pub original_message_id: MessageId,
    /// `OrgnlGrpInf/OrgnlMsgNmId`.
    pub original_kind: MessageKind,
    /// `OrgnlEndToEndId`: our transfer id's 32 hex digits.
    pub original_end_to_end_id: String,
    /// `RtrdIntrBkSttlmAmt`.
    pub amount: Money,
    /// `RtrRsnInf/Rsn/Cd`, e.g. `AC04` (closed account), `MD07` (creditor deceased).
    pub reason: String,
}

/// A return's id: the message id's first 31 characters and the transaction's index (≤ 35).
fn return_id(message_id: &MessageId, index: usize) -> String {
    let prefix: String = message_id.as_str().chars().take(31).collect();
    format!("{prefix}{index}")
}

/// pacs.004.001.09 from `from` (the bank returning the funds) to `header.to`. The platform
/// never sends these; the simulated counterparty and the tests do.
pub fn pacs004(
    from: &Bic,
    header: &Header,
    returns: &[PaymentReturn],
) -> Result<UnsignedMessage, MessageError> {
    let kind = MessageKind::Pacs004;
    let mut w = answer_head(from, header, kind, "PmtRtr", returns.len())?;
    w.leaf("NbOfTxs", &returns.len().to_string());
    w.open("SttlmInf");
    w.leaf("SttlmMtd", "INDA");
    w.close("SttlmInf");
    w.close("GrpHdr");
    for (index, returned) in returns.iter().enumerate() {
        check_amount("returned amount", &returned.amount)?;
        w.open("TxInf");
        w.leaf("RtrId", &return_id(&header.message_id, index));
        original_group(
            &mut w,
            &returned.original_message_id,
            returned.original_kind,
        );
        w.leaf(
            "OrgnlEndToEndId",
            &text(
                "original end-to-end id",
                &returned.original_end_to_end_id,
                35,
            )?,
        );
        w.leaf_with(
            "RtrdIntrBkSttlmAmt",
            "Ccy",
            returned.amount.currency().code(),
            &returned.amount.to_string(),
        );
        w.leaf("IntrBkSttlmDt", &date(header.settlement_date));
        w.open("RtrRsnInf");
        w.open("Rsn");
        w.leaf("Cd", &text("return reason", &returned.reason, 4)?);
        w.close("Rsn");
        w.close("RtrRsnInf");
        w.close("TxInf");
    }
    w.close("PmtRtr");
    w.close("Document");
    w.close("Envelope");
    Ok(UnsignedMessage {
        kind,
        message_id: header.message_id.clone(),
        xml: w.finish(),
    })
}
