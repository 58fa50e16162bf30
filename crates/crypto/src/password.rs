//! Password hashing with Argon2id, stored as PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
//!
//! Hashing is deliberately slow (the default costs 0.1–0.25 s of one core and 64 MiB, see
//! BENCHMARKS.md): async callers run it on a blocking thread, never on the runtime's workers,
//! and bound how many run at once.
//!
//! The parameters travel inside every stored hash, so raising the settings never locks anyone
//! out: old hashes still verify under their own parameters, and `needs_rehash` says when to
//! store a fresh one (at the next successful login, the only moment the password is known).

use std::fmt;

use argon2::password_hash::phc;
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::{CryptoError, random_bytes};

/// Salt length of every hash this module makes: 128 bits, the PHC format's recommendation.
const SALT_LEN: usize = 16;
/// Output length of every hash this module makes.
const OUTPUT_LEN: usize = 32;

/// Upper bounds on what a stored hash may ask of `verify`. A row edited to claim, say, 4 TiB of
/// memory would otherwise abort the process when the allocation fails; no sensible setting comes
/// near these.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 16;

/// OWASP Password Storage Cheat Sheet, Argon2id: each (iterations, memory KiB) pair with
/// parallelism 1 is the minimum, and they are meant as equivalent (fewer passes need more
/// memory). Five passes or more may use the smallest memory.
const OWASP_MINIMUMS: [(u32, u32); 5] = [
    (1, 46 * 1024),
    (2, 19 * 1024),
    (3, 12 * 1024),
    (4, 9 * 1024),
    (5, 7 * 1024),
];

/// The smallest memory OWASP accepts for `iterations` passes (`None` for zero passes).
fn owasp_minimum_memory_kib(iterations: u32) -> Option<u32> {
    OWASP_MINIMUMS
        .iter()
        .rev()
        .find(|(passes, _)| iterations >= *passes)
        .map(|(_, memory)| *memory)
}

/// Argon2id parameters: memory in KiB, passes over it, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Argon2Settings {
    /// OWASP's first listed minimum (19 MiB, two passes, one lane). The floor `PasswordHasher`
    /// enforces is the family of pairs in `OWASP_MINIMUMS`, of which this is one.
    pub const OWASP_MINIMUM: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Checks the settings against OWASP's minimums and this module's upper bounds.
    pub fn validate(&self) -> Result<(), CryptoError> {
        let out_of_range = |reason| Err(CryptoError::PasswordSettingsOutOfRange(reason));
        let Some(minimum_kib) = owasp_minimum_memory_kib(self.iterations) else {
            return out_of_range("iterations must be at least 1");
        };
        if self.iterations > MAX_ITERATIONS {
            return out_of_range("iterations must be at most 64");
        }
        if !(1..=MAX_PARALLELISM).contains(&self.parallelism) {
            return out_of_range("parallelism must be 1 to 16");
        }
        if self.memory_kib > MAX_MEMORY_KIB {
            return out_of_range("memory must be at most 1 GiB");
        }
        if self.memory_kib < minimum_kib {
            return Err(CryptoError::PasswordSettingsTooWeak {
                memory_kib: self.memory_kib,
                iterations: self.iterations,
                minimum_kib,
            });
        }
        Ok(())
    }

    fn params(&self) -> Result<Params, CryptoError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|_| CryptoError::PasswordSettingsOutOfRange("not accepted by Argon2"))
    }
}

impl Default for Argon2Settings {
    /// 64 MiB, three passes, one lane: about 0.2 s per hash on this project's machines (measured
    /// with `cargo run --release -p benteng-crypto --example bench`, see BENCHMARKS.md), inside
    /// the 100–500 ms a login may take, and about five times OWASP's minimum in memory × passes.
    /// One lane because the servers have two shared cores: more lanes would let one login
    /// take both.
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

/// A stored Argon2id hash in PHC format. Parsing checks everything `verify` relies on, so a
/// malformed or foreign row is found when it is read, not at the next login.
#[derive(Clone)]
pub struct PasswordHash {
    phc: String,
    settings: Argon2Settings,
    salt_len: usize,
    output_len: usize,
}

impl PasswordHash {
    pub fn parse(phc: &str) -> Result<Self, CryptoError> {
        let invalid = CryptoError::PasswordHashInvalid;
        let parsed = phc::PasswordHash::new(phc).map_err(|_| invalid("not a PHC string"))?;
        if parsed.algorithm != argon2::ARGON2ID_IDENT {
            return Err(invalid("not Argon2id"));
        }
        // A missing version means 0x10 in the PHC rules; only 0x13 (19) is made today.
        if parsed.version != Some(u32::from(Version::V0x13)) {
            return Err(invalid("not Argon2 version 19"));
        }
        // Argon2's parser fills a missing parameter with its own default; a stored hash must
        // name all three, so the cost it records is the cost it was made with.
        if ["m", "t", "p"]
            .into_iter()
            .any(|name| parsed.params.get(name).is_none())
        {
            return Err(invalid("missing m, t or p"));
        }
        let params = Params::try_from(&parsed).map_err(|_| invalid("bad parameters"))?;
        if !params.keyid().is_empty() || !params.data().is_empty() {
            return Err(invalid("unexpected keyid or data parameter"));
        }
        let (Some(salt), Some(output)) = (&parsed.salt, &parsed.hash) else {
            return Err(invalid("no salt or no hash"));
        };
        let settings = Argon2Settings {
            memory_kib: params.m_cost(),
            iterations: params.t_cost(),
            parallelism: params.p_cost(),
        };
        if settings.memory_kib > MAX_MEMORY_KIB
            || settings.iterations > MAX_ITERATIONS
            || settings.parallelism > MAX_PARALLELISM
        {
            return Err(invalid("parameters above this server's bounds"));
        }
        Ok(Self {
            phc: phc.to_owned(),
            settings,
            salt_len: salt.len(),
            output_len: output.len(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.phc
    }

    /// The parameters this hash was made with.
    pub fn settings(&self) -> Argon2Settings {
        self.settings
    }
}

impl fmt::Debug for PasswordHash {
    /// The parameters only: salt and output are what an offline guesser needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Argon2Settings {
            memory_kib,
            iterations,
            parallelism,
        } = self.settings;
        write!(
            f,
            "PasswordHash($argon2id$v=19$m={memory_kib},t={iterations},p={parallelism}$<redacted>)"
        )
    }
}

/// Hashes and verifies passwords under one set of settings.
#[derive(Clone)]
pub struct PasswordHasher {
    settings: Argon2Settings,
    argon2: Argon2<'static>,
    /// A well-formed hash with these settings that no password matches (its output is random
    /// bytes, not the result of hashing anything): `verify_unknown` verifies against it.
    dummy: PasswordHash,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Refuses settings below OWASP's minimums or above this module's bounds.
    pub fn new(settings: Argon2Settings) -> Result<Self, CryptoError> {
        settings.validate()?;
        let params = settings.params()?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy = phc::PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: phc::ParamsString::try_from(&params)
                .map_err(|_| CryptoError::PasswordHashing)?,
            salt: Some(
                phc::Salt::new(&random_bytes::<SALT_LEN>()?)
                    .map_err(|_| CryptoError::PasswordHashing)?,
            ),
            hash: Some(
                phc::Output::new(&random_bytes::<OUTPUT_LEN>()?)
                    .map_err(|_| CryptoError::PasswordHashing)?,
            ),
        };
        let dummy = PasswordHash::parse(&dummy.to_string())?;
        Ok(Self {
            settings,
            argon2,
            dummy,
        })
    }

    pub fn settings(&self) -> Argon2Settings {
        self.settings
    }

    /// Hashes with a fresh random salt.
    pub fn hash(&self, password: &SecretString) -> Result<PasswordHash, CryptoError> {
        use argon2::PasswordHasher as _;
        let salt = Zeroizing::new(random_bytes::<SALT_LEN>()?);
        let hash = self
            .argon2
            .hash_password_with_salt(password.expose_secret().as_bytes(), salt.as_slice())
            .map_err(|_| CryptoError::PasswordHashing)?;
        PasswordHash::parse(&hash.to_string())
    }

    /// Verifies under the hash's own parameters (which may be older than these settings). The
    /// output comparison is constant-time.
    pub fn verify(&self, hash: &PasswordHash, password: &SecretString) -> bool {
        // `PasswordHash::parse` already accepted this string, so this cannot fail in practice;
        // if it did, the answer is the safe one.
        let Ok(parsed) = phc::PasswordHash::new(hash.as_str()) else {
            return false;
        };
        self.argon2
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
    }

    /// Does the work of a real `verify` (against a hash with these settings) and answers false,
    /// for a login name with no account: the answer then takes as long as a wrong password does.
    pub fn verify_unknown(&self, password: &SecretString) -> bool {
        let _ = std::hint::black_box(self.verify(&self.dummy, password));
        false
    }

    /// True when `hash` is cheaper to attack than one made now: less memory or fewer passes, or
    /// a shorter salt or output. A different lane count alone is not weaker (lanes split the same
    /// memory and passes), so it does not cause a rehash.
    pub fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let old = hash.settings;
        old.memory_kib < self.settings.memory_kib
            || old.iterations < self.settings.iterations
            || hash.salt_len < SALT_LEN
            || hash.output_len < OUTPUT_LEN
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Tests hash with OWASP's cheapest acceptable pair so they stay fast; the production
    /// default is exercised once in `default_settings_are_accepted`.
    const FAST: Argon2Settings = Argon2Settings {
        memory_kib: 7 * 1024,
        iterations: 5,
        parallelism: 1,
    };

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    #[test]
    fn hash_then_verify() {
        let hasher = PasswordHasher::new(FAST).unwrap();
        let hash = hasher
            .hash(&secret("correct horse battery staple"))
            .unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
        assert!(hasher.verify(&hash, &secret("correct horse battery staple")));
        assert!(!hasher.verify(&hash, &secret("correct horse battery stapl")));
        assert!(!hasher.verify(&hash, &secret("")));
    }

    #[test]
    fn salts_are_random() {
        let hasher = PasswordHasher::new(FAST).unwrap();
        let a = hasher.hash(&secret("same password")).unwrap();
        let b = hasher.hash(&secret("same password")).unwrap();
        assert_ne!(a.as_str(), b.as_str());
    }

    #[test]
    fn stored_hashes_round_trip_through_parse() {
        let hasher = PasswordHasher::new(FAST).unwrap();
        let hash = hasher.hash(&secret("a password")).unwrap();
        let stored = PasswordHash::parse(hash.as_str()).unwrap();
        assert!(hasher.verify(&stored, &secret("a password")));
        assert_eq!(stored.settings(), FAST);
    }

    #[test]
    fn a_known_hash_from_elsewhere_verifies() {
        // Made by the reference implementation's CLI (Debian's `argon2` package):
        // echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e
        let reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ\
                         $CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let hash = PasswordHash::parse(reference).unwrap();
        let hasher = PasswordHasher::new(FAST).unwrap();
        assert!(hasher.verify(&hash, &secret("password")));
        assert!(!hasher.verify(&hash, &secret("Password")));
    }

    #[test]
    fn verify_unknown_is_always_false() {
        let hasher = PasswordHasher::new(FAST).unwrap();
        assert!(!hasher.verify_unknown(&secret("anything at all")));
        assert!(!hasher.verify_unknown(&secret("")));
        // The dummy carries the hasher's settings, so it costs what a current hash costs.
        assert_eq!(hasher.dummy.settings(), FAST);
    }

    #[test]
    fn weak_settings_are_refused() {
        for (memory_kib, iterations) in [
            (46 * 1024 - 1, 1),
            (19 * 1024 - 1, 2),
            (12 * 1024 - 1, 3),
            (9 * 1024 - 1, 4),
            (7 * 1024 - 1, 5),
            (7 * 1024 - 1, 10),
        ] {
            let settings = Argon2Settings {
                memory_kib,
                iterations,
                parallelism: 1,
            };
            assert!(
                matches!(
                    PasswordHasher::new(settings),
                    Err(CryptoError::PasswordSettingsTooWeak { .. })
                ),
                "{settings:?}"
            );
        }
        for settings in [
            Argon2Settings {
                iterations: 0,
                ..Argon2Settings::OWASP_MINIMUM
            },
            Argon2Settings {
                parallelism: 0,
                ..Argon2Settings::OWASP_MINIMUM
            },
            Argon2Settings {
                parallelism: 17,
                ..Argon2Settings::OWASP_MINIMUM
            },
            Argon2Settings {
                memory_kib: MAX_MEMORY_KIB + 1,
                ..Argon2Settings::OWASP_MINIMUM
            },
            Argon2Settings {
                iterations: MAX_ITERATIONS + 1,
                ..Argon2Settings::OWASP_MINIMUM
            },
        ] {
            assert!(
                matches!(
                    PasswordHasher::new(settings),
                    Err(CryptoError::PasswordSettingsOutOfRange(_))
                ),
                "{settings:?}"
            );
        }
    }

    #[test]
    fn owasp_pairs_are_accepted() {
        for (iterations, memory_kib) in OWASP_MINIMUMS {
            let settings = Argon2Settings {
                memory_kib,
                iterations,
                parallelism: 1,
            };
            assert!(settings.validate().is_ok(), "{settings:?}");
        }
        assert!(Argon2Settings::OWASP_MINIMUM.validate().is_ok());
    }

    #[test]
    fn default_settings_are_accepted() {
        let hasher = PasswordHasher::new(Argon2Settings::default()).unwrap();
        let hash = hasher.hash(&secret("one real-cost hash")).unwrap();
        assert!(hasher.verify(&hash, &secret("one real-cost hash")));
        assert!(!hasher.needs_rehash(&hash));
    }

    #[test]
    fn settings_deserialize_with_defaults_for_missing_fields() {
        #[derive(serde::Deserialize)]
        struct Wrapper {
            argon2: Argon2Settings,
        }
        let wrapper: Wrapper =
            serde_json::from_str(r#"{"argon2": {"memory_kib": 131072}}"#).unwrap();
        assert_eq!(wrapper.argon2.memory_kib, 131072);
        assert_eq!(
            wrapper.argon2.iterations,
            Argon2Settings::default().iterations
        );
        assert!(serde_json::from_str::<Wrapper>(r#"{"argon2": {"memory": 1}}"#).is_err());
    }

    #[test]
    fn needs_rehash_when_weaker() {
        let old = PasswordHasher::new(FAST).unwrap();
        let hash = old.hash(&secret("pw")).unwrap();
        assert!(!old.needs_rehash(&hash));

        let more_memory = PasswordHasher::new(Argon2Settings {
            memory_kib: 8 * 1024,
            ..FAST
        })
        .unwrap();
        assert!(more_memory.needs_rehash(&hash));
        // Still verifies under its own parameters: raising the settings locks nobody out.
        assert!(more_memory.verify(&hash, &secret("pw")));

        let more_passes = PasswordHasher::new(Argon2Settings {
            iterations: 6,
            ..FAST
        })
        .unwrap();
        assert!(more_passes.needs_rehash(&hash));

        let more_lanes = PasswordHasher::new(Argon2Settings {
            parallelism: 2,
            ..FAST
        })
        .unwrap();
        assert!(!more_lanes.needs_rehash(&hash));

        // A stronger stored hash is not downgraded.
        let strong = more_memory.hash(&secret("pw")).unwrap();
        assert!(!old.needs_rehash(&strong));
    }

    #[test]
    fn short_salt_or_output_needs_rehash() {
        // Same parameters as FAST, 8-byte salt and 16-byte output (valid Argon2, not ours).
        let short = "$argon2id$v=19$m=7168,t=5,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA";
        let hash = PasswordHash::parse(short).unwrap();
        assert!(PasswordHasher::new(FAST).unwrap().needs_rehash(&hash));
    }

    #[test]
    fn foreign_or_malformed_hashes_are_refused() {
        let salt_and_hash = "c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        for bad in [
            String::new(),
            "not a hash".to_owned(),
            "$argon2id$".to_owned(),
            format!("$argon2i$v=19$m=65536,t=2,p=1${salt_and_hash}"),
            format!("$argon2d$v=19$m=65536,t=2,p=1${salt_and_hash}"),
            format!("$argon2id$v=16$m=65536,t=2,p=1${salt_and_hash}"),
            format!("$argon2id$m=65536,t=2,p=1${salt_and_hash}"),
            format!("$argon2id$v=19$m=65536,t=2${salt_and_hash}"),
            format!("$argon2id$v=19$m=65536,t=2,p=1,x=1${salt_and_hash}"),
            format!("$argon2id$v=19$m=4294967295,t=2,p=1${salt_and_hash}"),
            format!("$argon2id$v=19$m=65536,t=1000,p=1${salt_and_hash}"),
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA".to_owned(),
            "$argon2id$v=19$m=65536,t=2,p=1".to_owned(),
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
            format!("$argon2id$v=19$m=65536,t=2,p=1${salt_and_hash}$extra"),
        ] {
            assert!(
                matches!(
                    PasswordHash::parse(&bad),
                    Err(CryptoError::PasswordHashInvalid(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_salt_and_output() {
        let hasher = PasswordHasher::new(FAST).unwrap();
        let hash = hasher.hash(&secret("pw")).unwrap();
        let shown = format!("{hash:?}");
        assert_eq!(
            shown,
            "PasswordHash($argon2id$v=19$m=7168,t=5,p=1$<redacted>)"
        );
        let salt = hash.as_str().rsplit('$').nth(1).unwrap();
        assert!(!shown.contains(salt));
        assert!(!format!("{hasher:?}").contains('$'));
    }
}
