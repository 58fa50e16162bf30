//! Time-based one-time passwords: HOTP (RFC 4226) over a time step counter (RFC 6238), with
//! aws-lc-rs HMAC.
//!
//! Replay is the caller's half of the contract: `Totp::verify` answers with the time step the
//! code belongs to, and the caller accepts it only if it is later than the last step accepted for
//! that person (and stores it), so each code logs in once.

use std::fmt;

use aws_lc_rs::hmac;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use zeroize::{Zeroize, Zeroizing};

use crate::{CryptoError, base32, constant_time_eq, random_bytes};

/// RFC 4226 asks for at least 128 bits of shared secret.
pub const MIN_SECRET_LEN: usize = 16;
/// The longest seed the RFCs use (SHA-512's output); longer buys nothing.
pub const MAX_SECRET_LEN: usize = 64;

const MIN_DIGITS: u32 = 6;
const MAX_DIGITS: u32 = 8;
/// Bounds the HMACs one `verify` computes (2 × skew + 1).
const MAX_SKEW_STEPS: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl TotpAlgorithm {
    /// The name provisioning URIs use.
    pub fn as_str(&self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }

    fn hmac(&self) -> hmac::Algorithm {
        match self {
            // SHA-1 is what nearly every authenticator app implements; HMAC-SHA-1 has no known
            // weakness of the kind SHA-1's collisions are.
            TotpAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            TotpAlgorithm::Sha256 => hmac::HMAC_SHA256,
            TotpAlgorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }

    /// The secret length RFC 6238's test seeds use: the hash's output length.
    fn secret_len(&self) -> usize {
        match self {
            TotpAlgorithm::Sha1 => 20,
            TotpAlgorithm::Sha256 => 32,
            TotpAlgorithm::Sha512 => 64,
        }
    }
}

/// A shared TOTP secret. Its bytes are wiped on drop and never printed.
pub struct TotpSecret(SecretSlice<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// 20 random bytes: the length for SHA-1, which is what `Totp::STANDARD` uses.
    pub fn generate() -> Result<Self, CryptoError> {
        Self::generate_for(TotpAlgorithm::Sha1)
    }

    /// As many random bytes as the algorithm's output.
    pub fn generate_for(algorithm: TotpAlgorithm) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(random_bytes::<MAX_SECRET_LEN>()?);
        Self::from_bytes(bytes[..algorithm.secret_len()].to_vec())
    }

    /// A stored secret (unsealed by the caller). 16 to 64 bytes.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<Self, CryptoError> {
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            let got = bytes.len();
            bytes.zeroize();
            return Err(CryptoError::TotpSecretLength {
                min: MIN_SECRET_LEN,
                max: MAX_SECRET_LEN,
                got,
            });
        }
        Ok(Self(SecretSlice::from(bytes)))
    }

    /// A secret as authenticator apps show it: base32, case and spaces ignored, padding
    /// optional.
    pub fn from_base32(encoded: &SecretString) -> Result<Self, CryptoError> {
        let canonical: Zeroizing<String> = Zeroizing::new(
            encoded
                .expose_secret()
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let bytes = base32::decode(canonical.trim_end_matches('='))
            .ok_or(CryptoError::TotpSecretNotBase32)?;
        Self::from_bytes(bytes.to_vec())
    }

    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// Upper-case base32 without padding, for the person to type into an app.
    pub fn to_base32(&self) -> SecretString {
        SecretString::from(base32::encode(self.expose_bytes()).as_str())
    }
}

/// TOTP settings. Fields outside the ranges `Totp::new` accepts (6–8 digits, a period of at least
/// a second, a skew of at most 10 steps) are clamped into them, so no value panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totp {
    pub algorithm: TotpAlgorithm,
    pub digits: u32,
    pub period_secs: u64,
    pub skew_steps: u64,
}

impl Totp {
    /// What every authenticator app does by default: HMAC-SHA-1, 6 digits, 30 s steps; one step
    /// either side is accepted for clock drift and typing time.
    pub const STANDARD: Totp = Totp {
        algorithm: TotpAlgorithm::Sha1,
        digits: 6,
        period_secs: 30,
        skew_steps: 1,
    };

    /// Checked construction, for settings that come from configuration.
    pub fn new(
        algorithm: TotpAlgorithm,
        digits: u32,
        period_secs: u64,
        skew_steps: u64,
    ) -> Result<Self, CryptoError> {
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(CryptoError::TotpSettings("digits must be 6 to 8"));
        }
        if period_secs == 0 {
            return Err(CryptoError::TotpSettings(
                "period must be at least 1 second",
            ));
        }
        if skew_steps > MAX_SKEW_STEPS {
            return Err(CryptoError::TotpSettings("skew must be at most 10 steps"));
        }
        Ok(Self {
            algorithm,
            digits,
            period_secs,
            skew_steps,
        })
    }

    fn digits(&self) -> u32 {
        self.digits.clamp(MIN_DIGITS, MAX_DIGITS)
    }

    fn period(&self) -> u64 {
        self.period_secs.max(1)
    }

    /// The time step `unix_time` falls in.
    pub fn step_at(&self, unix_time: u64) -> u64 {
        unix_time / self.period()
    }

    /// The code for `unix_time`.
    pub fn code_at(&self, secret: &TotpSecret, unix_time: u64) -> String {
        self.code_for_step(secret, self.step_at(unix_time))
    }

    /// The HOTP code for a counter (RFC 4226), with this algorithm and number of digits.
    pub fn code_for_step(&self, secret: &TotpSecret, step: u64) -> String {
        let digits = self.digits();
        let key = hmac::Key::new(self.algorithm.hmac(), secret.expose_bytes());
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let tag = tag.as_ref();
        // Dynamic truncation (RFC 4226 5.3): the low nibble of the last byte picks 4 bytes. The
        // offset is at most 15 and every tag here is at least 20 bytes, so the range is inside.
        let offset = usize::from(tag[tag.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            tag[offset] & 0x7f,
            tag[offset + 1],
            tag[offset + 2],
            tag[offset + 3],
        ]);
        let code = binary % 10u32.pow(digits);
        format!("{code:0width$}", width = digits as usize)
    }

    /// The time step whose code `code` is, within `skew_steps` of `unix_time`'s step, or `None`.
    /// `code` must be exactly the configured number of ASCII digits; anything else is `None`.
    /// Every step in the window is computed and compared in constant time, and if two steps'
    /// codes both match (a coincidence), the later one is reported: recording it as used refuses
    /// the code at both.
    pub fn verify(&self, secret: &TotpSecret, code: &str, unix_time: u64) -> Option<u64> {
        let digits = self.digits() as usize;
        if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = self.step_at(unix_time);
        let skew = self.skew_steps.min(MAX_SKEW_STEPS);
        let mut matched = None;
        for step in now.saturating_sub(skew)..=now.saturating_add(skew) {
            let expected = self.code_for_step(secret, step);
            if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
                matched = Some(step);
            }
        }
        matched
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code (the Key URI format). It
    /// holds the secret, hence `SecretString`.
    pub fn provisioning_uri(
        &self,
        secret: &TotpSecret,
        issuer: &str,
        account: &str,
    ) -> SecretString {
        let issuer = percent_encode(issuer);
        let account = percent_encode(account);
        let secret = secret.to_base32();
        let uri = Zeroizing::new(format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm={}&digits={}&period={}",
            secret.expose_secret(),
            self.algorithm.as_str(),
            self.digits(),
            self.period(),
        ));
        SecretString::from(uri.as_str())
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so an issuer or account
/// cannot add a query parameter, a path segment or a second label separator.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn seed(algorithm: TotpAlgorithm) -> TotpSecret {
        // RFC 6238 Appendix A: the ASCII digits "1234567890" repeated to the hash's length.
        let bytes = b"1234567890"
            .iter()
            .copied()
            .cycle()
            .take(algorithm.secret_len())
            .collect();
        TotpSecret::from_bytes(bytes).unwrap()
    }

    fn eight_digits(algorithm: TotpAlgorithm) -> Totp {
        Totp {
            algorithm,
            digits: 8,
            ..Totp::STANDARD
        }
    }

    /// RFC 6238 Appendix B: time, then the SHA-1, SHA-256 and SHA-512 codes.
    const RFC_6238: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ];

    #[test]
    fn rfc_6238_appendix_b() {
        for (time, sha1, sha256, sha512) in RFC_6238 {
            for (algorithm, expected) in [
                (TotpAlgorithm::Sha1, sha1),
                (TotpAlgorithm::Sha256, sha256),
                (TotpAlgorithm::Sha512, sha512),
            ] {
                let totp = eight_digits(algorithm);
                let secret = seed(algorithm);
                assert_eq!(
                    totp.code_at(&secret, time),
                    expected,
                    "{algorithm:?} {time}"
                );
                assert_eq!(
                    totp.verify(&secret, expected, time),
                    Some(time / 30),
                    "{algorithm:?} {time}"
                );
            }
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0 to 9.
    #[test]
    fn rfc_4226_appendix_d() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let secret = seed(TotpAlgorithm::Sha1);
        for (counter, code) in (0u64..).zip(expected) {
            assert_eq!(Totp::STANDARD.code_for_step(&secret, counter), code);
        }
    }

    #[test]
    fn skew_window_accepts_neighbours_only() {
        let totp = Totp::STANDARD;
        let secret = TotpSecret::generate().unwrap();
        let now = 1_700_000_000u64;
        let step = now / 30;
        for offset in [-1i64, 0, 1] {
            let code = totp.code_for_step(&secret, step.checked_add_signed(offset).unwrap());
            assert_eq!(
                totp.verify(&secret, &code, now),
                Some(step.checked_add_signed(offset).unwrap())
            );
        }
        for offset in [-3i64, -2, 2, 3] {
            let code = totp.code_for_step(&secret, step.checked_add_signed(offset).unwrap());
            // A neighbour's code could coincide with an in-window code (1 in 10^6); only a
            // different answer than the far step matters.
            assert_ne!(
                totp.verify(&secret, &code, now),
                Some(step.checked_add_signed(offset).unwrap())
            );
        }
        let strict = Totp {
            skew_steps: 0,
            ..totp
        };
        let previous = totp.code_for_step(&secret, step - 1);
        assert_ne!(strict.verify(&secret, &previous, now), Some(step - 1));
    }

    #[test]
    fn wrong_and_malformed_codes_are_refused() {
        let totp = Totp::STANDARD;
        let secret = seed(TotpAlgorithm::Sha1);
        let now = 59;
        let right = totp.code_at(&secret, now);
        assert_eq!(right, "287082");
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert_eq!(totp.verify(&secret, wrong, now), None);
        for bad in [
            "",
            "28708",
            "2870822",
            "28708a",
            " 287082",
            "287082 ",
            "287 082",
            "+87082",
            "-87082",
            "２８７０８２",
            "287082\n",
            &"9".repeat(10_000),
        ] {
            assert_eq!(totp.verify(&secret, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn time_extremes_do_not_panic() {
        let secret = seed(TotpAlgorithm::Sha1);
        let totp = Totp::STANDARD;
        let first = totp.code_at(&secret, 0);
        assert_eq!(totp.verify(&secret, &first, 0), Some(0));
        let last = totp.code_at(&secret, u64::MAX);
        assert_eq!(totp.verify(&secret, &last, u64::MAX), Some(u64::MAX / 30));
    }

    #[test]
    fn hand_built_settings_out_of_range_are_clamped() {
        let secret = seed(TotpAlgorithm::Sha1);
        let odd = Totp {
            algorithm: TotpAlgorithm::Sha1,
            digits: 40,
            period_secs: 0,
            skew_steps: u64::MAX,
        };
        let code = odd.code_at(&secret, 1000);
        assert_eq!(code.len(), 8);
        assert!(odd.verify(&secret, &code, 1000).is_some());
        let short = Totp { digits: 0, ..odd };
        assert_eq!(short.code_at(&secret, 1000).len(), 6);
    }

    #[test]
    fn checked_construction() {
        assert!(Totp::new(TotpAlgorithm::Sha256, 8, 60, 2).is_ok());
        assert!(Totp::new(TotpAlgorithm::Sha1, 5, 30, 1).is_err());
        assert!(Totp::new(TotpAlgorithm::Sha1, 9, 30, 1).is_err());
        assert!(Totp::new(TotpAlgorithm::Sha1, 6, 0, 1).is_err());
        assert!(Totp::new(TotpAlgorithm::Sha1, 6, 30, 11).is_err());
    }

    #[test]
    fn secrets_generate_check_length_and_round_trip_base32() {
        let secret = TotpSecret::generate().unwrap();
        assert_eq!(secret.expose_bytes().len(), 20);
        assert_eq!(secret.to_base32().expose_secret().len(), 32);
        assert_ne!(
            secret.expose_bytes(),
            TotpSecret::generate().unwrap().expose_bytes()
        );
        assert_eq!(
            TotpSecret::generate_for(TotpAlgorithm::Sha512)
                .unwrap()
                .expose_bytes()
                .len(),
            64
        );

        let again = TotpSecret::from_base32(&secret.to_base32()).unwrap();
        assert_eq!(again.expose_bytes(), secret.expose_bytes());
        // As people copy it from an app: lower case, in groups, padded.
        let rfc = seed(TotpAlgorithm::Sha1);
        assert_eq!(
            rfc.to_base32().expose_secret(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let typed = SecretString::from("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
        assert_eq!(
            TotpSecret::from_base32(&typed).unwrap().expose_bytes(),
            rfc.expose_bytes()
        );
        let padded = SecretString::from("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGE======");
        assert_eq!(
            TotpSecret::from_base32(&padded)
                .unwrap()
                .expose_bytes()
                .len(),
            21
        );

        assert!(matches!(
            TotpSecret::from_bytes(vec![1; 15]),
            Err(CryptoError::TotpSecretLength { got: 15, .. })
        ));
        assert!(TotpSecret::from_bytes(vec![1; 65]).is_err());
        assert!(TotpSecret::from_base32(&SecretString::from("not base32!")).is_err());
        assert!(TotpSecret::from_base32(&SecretString::from("GEZDGNBV")).is_err());
    }

    #[test]
    fn provisioning_uri_is_encoded() {
        let secret = seed(TotpAlgorithm::Sha1);
        let uri = Totp::STANDARD.provisioning_uri(&secret, "benteng", "ana@example.com");
        assert_eq!(
            uri.expose_secret(),
            "otpauth://totp/benteng:ana%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=benteng&algorithm=SHA1&digits=6&period=30"
        );
        let tricky = Totp {
            algorithm: TotpAlgorithm::Sha256,
            digits: 8,
            ..Totp::STANDARD
        }
        .provisioning_uri(&secret, "Bank A&B: ops", "x?secret=AAAA/é");
        assert_eq!(
            tricky.expose_secret(),
            "otpauth://totp/Bank%20A%26B%3A%20ops:x%3Fsecret%3DAAAA%2F%C3%A9\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bank%20A%26B%3A%20ops\
             &algorithm=SHA256&digits=8&period=30"
        );
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = seed(TotpAlgorithm::Sha1);
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
    }
}
