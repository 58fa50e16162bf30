// Fixture for benteng-tier1-derive-debug (`semgrep --test .semgrep/rules`).

// ruleid: benteng-tier1-derive-debug
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counterparty {
    pub name: String,
    pub account: Option<String>,
    pub national_id: Option<String>,
}

// ruleid: benteng-tier1-derive-debug
#[derive(Clone, Debug)]
pub enum Credential {
    ApiKey { id: ApiKeyId, api_key: String },
    Anonymous,
}

// ruleid: benteng-tier1-derive-debug
#[derive(Debug)]
pub struct ClientSecret(Vec<u8>);

// ruleid: benteng-tier1-derive-debug
#[derive(Debug, Clone)]
struct IdnAccountNumber(String);

// ok: benteng-tier1-derive-debug
#[derive(Debug, Clone)]
pub struct AccountPayment {
    pub account: BankAccount,
    pub amount: Money,
}

// ok: benteng-tier1-derive-debug
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub id: ApiKeyId,
    pub key: SecretString,
}

// ok: benteng-tier1-derive-debug
#[derive(Clone)]
pub struct Recipient {
    pub account: Option<String>,
}

// ok: benteng-tier1-derive-debug
#[derive(Debug, Clone)]
pub struct StoredSigningKey {
    pub id: String,
    pub wrapped_key: String,
}

// ok: benteng-tier1-derive-debug
#[derive(Debug, Clone)]
pub struct TenantName(String);

// ok: benteng-tier1-derive-debug
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Iso20022Config {
    pub name: String,
    pub iban: String,
}
