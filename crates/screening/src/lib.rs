//! Sanctions / PEP screening engine for benteng (pure library: no I/O beyond the optional
//! `load_list` helper, no global mutable state).
//!
//! * **Ingestion** – [`parse_list`] / [`parse_ofac_csv`] / [`load_list`] turn official list files
//!   (OFAC SDN and non-SDN CSV or XML, UN XML, EU FSF XML, UK FCDO XML, Indonesia PPATK DTTOT
//!   CSV, and a [generic CSV](GENERIC_CSV_HEADER)) into a [`SanctionsList`], or fail with a typed
//!   [`ListError`] — never a partial list. [`diff`] compares two versions of a list.
//! * **Normalisation** – NFKC, transliteration of any script to ASCII, case/accent folding,
//!   obfuscation undone (letters dotted or spaced apart, punctuation or digits inside words,
//!   digits for letters, repeated letters), legal forms abbreviated and kept aside, Arabic
//!   articles, number words, `SURNAME, Given` reordering, spelling variants ([`normalize_name`]).
//! * **Matching** – exact, spelling-variant/phonetic (Double Metaphone and consonant skeletons),
//!   fuzzy (budgeted edit distance, Jaro-Winkler), transliterated (abjad consonants), initials,
//!   nicknames and acronyms, combined into one 0–100 score weighted by token rarity, with
//!   per-token [`Evidence`]. Name rules move it (contradicting legal forms, a patronymic chain in
//!   another order, a match carried only by common name parts, a one-word name that is another
//!   word), and so do document numbers, date of birth, nationality and entity type; each is an
//!   [`Adjustment`] of the match.
//! * **Screening** – [`Screener`] keeps an inverted index over every loaded list and swaps it
//!   atomically on reload; readers never block.
//!
//! ```
//! use benteng_screening::{parse_list, ListSource, Query, Screener, Decision};
//!
//! let csv = "id,name,type,aliases\nBI-1,Budi Santoso,person,Budi S.\n";
//! let list = parse_list(&"generic:bi-blacklist".parse().unwrap(), csv.as_bytes()).unwrap();
//! let screener = Screener::new();
//! screener.replace_list(list);
//! let hits = screener.search(&Query::new("SANTOSO, Budi")).unwrap();
//! assert_eq!(hits[0].entry_id, "BI-1");
//! assert_eq!(Decision::from_default_thresholds(hits[0].score), Decision::Block);
//! ```
//!
//! Scores: a full normalised-name match is 100 even without supporting data (a name-only exact
//! hit must block). Defaults: [`REVIEW_THRESHOLD`] = 50, [`BLOCK_THRESHOLD`] = 80
//! (`> 80` block, `50..=80` review, `< 50` approve), see [`Decision`].

mod common;
mod country;
mod diff;
mod matching;
mod model;
mod normalize;
mod parse;
mod screener;

pub use diff::{ListDiff, diff};
pub use matching::{MatchMethod, TokenEvidence};
pub use model::{
    Address, EntityType, Entry, Identifier, InvalidDate, ListSource, PartialDate, SanctionsList,
    UnknownListSource,
};
pub use normalize::{MAX_NAME_CHARS, MAX_TOKENS, Normalized, normalize_name};
pub use parse::{
    GENERIC_CSV_HEADER, ListError, MAX_INPUT_BYTES, OfacCsvFiles, load_list, parse_list,
    parse_ofac_csv,
};
pub use screener::{
    Adjustment, BLOCK_THRESHOLD, DEFAULT_LIMIT, DEFAULT_MIN_SCORE, Decision, Evidence, IndexStats,
    ListInfo, MAX_LIMIT, Match, Query, QueryError, REVIEW_THRESHOLD, Screener,
};
