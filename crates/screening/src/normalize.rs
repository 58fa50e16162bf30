//! Name normalisation: NFKC, transliteration to ASCII (any_ascii), case and accent folding,
//! punctuation, Arabic articles, legal forms, `SURNAME, Given` reordering, spelling-variant
//! canonicalisation (Muhammad/Mohamed, Abdul/Abd al-, Nur/Noor, Syaiful/Saiful, old Indonesian
//! spelling) and phonetic keys.

use std::sync::OnceLock;

use rphonetic::DoubleMetaphone;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// Input longer than this (in chars) is truncated before any work is done.
pub const MAX_NAME_CHARS: usize = 512;
/// At most this many tokens of a name are kept (the rest is ignored).
pub const MAX_TOKENS: usize = 10;
/// Tokens are cut to this many ASCII chars.
pub const MAX_TOKEN_LEN: usize = 40;

/// One normalised token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// Folded ASCII form (`mohammed`).
    pub text: String,
    /// Spelling-variant canonical form (`muhamad`), used for variant/fuzzy comparison.
    pub canon: String,
    /// Consonant skeletons of `canon` (one or two), used as phonetic index keys.
    pub skeletons: Vec<String>,
    /// Double Metaphone primary and alternate codes (empty for tokens with digits).
    pub metaphone: [String; 2],
}

/// A normalised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NormName {
    /// Tokens in reading order (after `SURNAME, Given` reordering), legal forms and articles removed.
    pub tokens: Vec<Token>,
    /// The input contained letters of a non-Latin script (Arabic, Cyrillic, Han…).
    pub non_latin: bool,
    /// Canonical tokens concatenated without separators (handles glued/split names).
    pub concat: String,
}

impl NormName {
    /// Folded tokens joined with spaces.
    pub fn text(&self) -> String {
        let v: Vec<&str> = self.tokens.iter().map(|t| t.text.as_str()).collect();
        v.join(" ")
    }
}

/// The normalised form of a name, as [`normalize_name`] returns it (for display and debugging).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Normalized {
    /// Folded ASCII tokens, e.g. `["vladimir", "putin"]`.
    pub tokens: Vec<String>,
    /// Spelling-variant canonical tokens, e.g. `["muhamad"]` for `Mohammed`.
    pub canonical: Vec<String>,
    /// Whether the input had non-Latin letters (it was transliterated).
    pub transliterated: bool,
}

/// Normalise a name the way the screener does. Returns empty token lists for names without
/// letters or digits.
pub fn normalize_name(name: &str) -> Normalized {
    let n = normalize(name);
    Normalized {
        tokens: n.tokens.iter().map(|t| t.text.clone()).collect(),
        canonical: n.tokens.iter().map(|t| t.canon.clone()).collect(),
        transliterated: n.non_latin,
    }
}

/// Legal-form and filler tokens dropped from names (as long as something else remains).
const LEGAL_FORMS: &[&str] = &[
    "pt",
    "cv",
    "tbk",
    "persero",
    "ud",
    "llc",
    "ltd",
    "limited",
    "gmbh",
    "inc",
    "incorporated",
    "co",
    "corp",
    "corporation",
    "company",
    "sa",
    "ag",
    "llp",
    "plc",
    "jsc",
    "ojsc",
    "pjsc",
    "cjsc",
    "ooo",
    "zao",
    "oao",
    "pao",
    "bv",
    "nv",
    "srl",
    "spa",
    "ltda",
    "sdn",
    "bhd",
    "fze",
    "fzco",
    "fzc",
    "kg",
    "sarl",
    "sas",
    "kft",
    "sro",
    "doo",
    "tov",
    "pvt",
    "pte",
    "lp",
    "cia",
    "sac",
    "the",
    "of",
    "and",
];

/// Arabic definite articles, dropped when written attached with a hyphen (`al-`, `ad-`, `ash-`…);
/// `al`/`el`/`ul` are dropped even when free-standing.
const ARTICLES_HYPHEN: &[&str] = &[
    "al", "el", "ul", "ad", "ar", "as", "ash", "at", "az", "an", "ath", "adh", "ed", "er", "es",
    "et", "ez", "en", "ud", "ur", "us", "ut", "uz",
];
const ARTICLES_FREE: &[&str] = &["al", "el", "ul"];

/// Spelling variants mapped to one canonical spelling before the orthographic rules run.
const VARIANTS: &[(&str, &[&str])] = &[
    (
        "muhammad",
        &[
            "mohammad",
            "mohammed",
            "mohamed",
            "muhammed",
            "mohamad",
            "muhamad",
            "muhamed",
            "mohd",
            "muhd",
            "mhd",
            "mukhammad",
            "mokhammad",
            "mouhamed",
            "mouhammad",
            "muhammet",
            "mehmet",
            "mehmed",
            "mohamud",
            "mohammod",
            "mahomed",
            "muhamadu",
            "mamadou",
            "mohammadou",
            "mohamet",
        ],
    ),
    (
        "ahmad",
        &[
            "ahmed", "achmad", "akhmad", "akhmed", "ahmet", "achmed", "ahamed",
        ],
    ),
    (
        "abdul",
        &[
            "abdel",
            "abdal",
            "abdol",
            "abdoul",
            "abdoel",
            "abdulla",
            "abdoulaye",
        ],
    ),
    ("abdullah", &["abdallah", "abdellah", "abdollah", "abdulah"]),
    ("nur", &["noor", "nour", "noer", "nuur"]),
    (
        "husain",
        &[
            "hussein", "hussain", "husein", "hossein", "hosain", "husayn", "hussayn", "houssein",
        ],
    ),
    ("hasan", &["hassan", "hassen", "hasen"]),
    ("usama", &["osama", "oussama", "usamah", "osamah"]),
    ("umar", &["omar", "omer", "umer", "oumar"]),
    ("ibrahim", &["ebrahim", "ibragim", "brahim", "ibraheem"]),
    (
        "yusuf",
        &[
            "yousef", "youssef", "yousuf", "yusef", "jusuf", "yussuf", "yousif", "youcef",
        ],
    ),
    ("abu", &["abou", "aboo"]),
    ("bin", &["ben", "ibn", "bn"]),
    ("ali", &["aly"]),
    (
        "said",
        &["saeed", "sayed", "sayid", "sayyid", "saiid", "saied"],
    ),
    (
        "abdurrahman",
        &[
            "abdurahman",
            "abdulrahman",
            "abdelrahman",
            "abderrahmane",
            "abdulrakhman",
        ],
    ),
    ("khalid", &["khaled", "chalid", "halid"]),
    ("mahmud", &["mahmoud", "makhmud"]),
    ("mustafa", &["mostafa", "moustafa", "mustapha", "mostapha"]),
    ("yahya", &["yehia", "yahia", "yahiya"]),
    (
        "zakaria",
        &["zakariya", "zakariyya", "zakaria", "zakariyah", "zacharia"],
    ),
    (
        "sulaiman",
        &["suleiman", "sulayman", "soleiman", "sulejman", "suleyman"],
    ),
    ("ismail", &["ismael", "esmail", "ismayil"]),
];

fn variant_of(t: &str) -> Option<&'static str> {
    static MAP: OnceLock<std::collections::HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for (canon, vs) in VARIANTS {
            for v in *vs {
                m.insert(*v, *canon);
            }
        }
        m
    })
    .get(t)
    .copied()
}

fn metaphone() -> &'static DoubleMetaphone {
    static DM: OnceLock<DoubleMetaphone> = OnceLock::new();
    DM.get_or_init(|| DoubleMetaphone::new(Some(6)))
}

/// Is `c` a letter from a script other than Latin (approximation by code-point blocks)?
fn is_non_latin_letter(c: char) -> bool {
    let u = c as u32;
    c.is_alphabetic()
        && u >= 0x0370
        && !(0x1E00..=0x1EFF).contains(&u)
        && !(0x2C60..=0x2C7F).contains(&u)
        && !(0xA720..=0xA7FF).contains(&u)
        && !(0xAB30..=0xAB6F).contains(&u)
}

fn is_cjk(c: char) -> bool {
    let u = c as u32;
    (0x3040..=0x30FF).contains(&u)
        || (0x3400..=0x4DBF).contains(&u)
        || (0x4E00..=0x9FFF).contains(&u)
        || (0xAC00..=0xD7AF).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
}

/// Normalise one name. Never panics; returns no tokens for names without letters or digits.
pub(crate) fn normalize(raw: &str) -> NormName {
    // 1. Cap the work, NFKC.
    let capped: String = raw.chars().take(MAX_NAME_CHARS).collect();
    let nfkc: String = capped.nfkc().collect();
    let non_latin = nfkc.chars().any(is_non_latin_letter);

    // 2. "SURNAME, Given" -> "Given SURNAME" when there is exactly one comma.
    let reordered = match nfkc.split_once(',') {
        Some((a, b)) if !b.contains(',') && !a.trim().is_empty() && !b.trim().is_empty() => {
            format!("{} {}", b.trim(), a.trim())
        }
        _ => nfkc,
    };

    // 3. Transliterate and fold to lowercase ASCII; split into raw tokens, remembering hyphens.
    let mut ascii = String::with_capacity(reordered.len() + 8);
    for c in reordered.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else if matches!(
            c,
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{02BB}' | '\u{02BF}' | '\u{02BE}'
        ) {
            ascii.push('\'');
        } else if matches!(c, '\u{2010}'..='\u{2015}') {
            ascii.push('-');
        } else if is_cjk(c) {
            ascii.push(' ');
            ascii.push_str(any_ascii::any_ascii_char(c));
            ascii.push(' ');
        } else {
            ascii.push_str(any_ascii::any_ascii_char(c));
        }
    }
    let mut raw_tokens: Vec<(String, bool)> = Vec::new(); // (token, followed by hyphen)
    let mut cur = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
        } else if matches!(c, '\'' | '`') {
            // O'Brien -> obrien, Ma'ruf -> maruf
        } else {
            if !cur.is_empty() {
                raw_tokens.push((std::mem::take(&mut cur), c == '-'));
                if raw_tokens.len() >= MAX_TOKENS * 2 {
                    break;
                }
            }
        }
    }
    if !cur.is_empty() && raw_tokens.len() < MAX_TOKENS * 2 {
        raw_tokens.push((cur, false));
    }

    // 4. Arabic articles, Abd al- compounds, legal forms.
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    while i < raw_tokens.len() {
        let (t, hyphen) = &raw_tokens[i];
        let t = t.as_str();
        let has_next = i + 1 < raw_tokens.len();
        if t == "abd" && has_next && ARTICLES_HYPHEN.contains(&raw_tokens[i + 1].0.as_str()) {
            words.push("abdul".into());
            i += 2;
            continue;
        }
        if has_next && ((*hyphen && ARTICLES_HYPHEN.contains(&t)) || ARTICLES_FREE.contains(&t)) {
            i += 1;
            continue;
        }
        // Glued articles: "alhaji" stays, but "al" + hyphen handled above.
        words.extend(split_abdul(t));
        i += 1;
    }
    let meaningful = words
        .iter()
        .filter(|w| !LEGAL_FORMS.contains(&w.as_str()))
        .count();
    if meaningful > 0 {
        words.retain(|w| !LEGAL_FORMS.contains(&w.as_str()));
    }
    words.truncate(MAX_TOKENS);

    let tokens: Vec<Token> = words
        .into_iter()
        .map(|mut w| {
            w.truncate(MAX_TOKEN_LEN);
            make_token(w)
        })
        .collect();
    let concat = tokens.iter().map(|t| t.canon.as_str()).collect::<String>();
    NormName {
        tokens,
        non_latin,
        concat,
    }
}

/// "abdulaziz" -> ["abdul", "aziz"], "abdurrahman" -> ["abdul", "rahman"]; keeps "abdullah".
fn split_abdul(t: &str) -> Vec<String> {
    for p in ["abdul", "abdel", "abdal", "abdoul", "abdol"] {
        if let Some(rest) = t.strip_prefix(p)
            && rest.len() >= 3
            && !rest.starts_with("lah")
            && !rest.starts_with("la")
        {
            return vec!["abdul".into(), rest.into()];
        }
    }
    if let Some(rest) = t.strip_prefix("abdu") {
        let b = rest.as_bytes();
        if b.len() >= 4 && b[0] == b[1] && !b"aeioul".contains(&b[0]) {
            return vec!["abdul".into(), rest[1..].into()];
        }
    }
    vec![t.to_string()]
}

fn make_token(text: String) -> Token {
    let canon = canonical(&text);
    let skeletons = skeletons(&canon);
    let metaphone = if canon.bytes().all(|b| b.is_ascii_lowercase()) && !canon.is_empty() {
        let r = metaphone().double_metaphone(&canon);
        [r.primary(), r.alternate()]
    } else {
        [String::new(), String::new()]
    };
    Token {
        text,
        canon,
        skeletons,
        metaphone,
    }
}

/// Spelling-variant canonical form: variant table, then orthographic rules (old Indonesian
/// spelling oe/dj/tj, sy/sh, ph, q, kh->h, double vowels) and doubled letters collapsed.
pub(crate) fn canonical(t: &str) -> String {
    if t.bytes().any(|b| b.is_ascii_digit()) {
        return t.to_string();
    }
    let base = variant_of(t).unwrap_or(t);
    let mut s = base.to_string();
    for (from, to) in [
        ("oe", "u"),
        ("dzh", "j"),
        ("dj", "j"),
        ("tj", "c"),
        ("sj", "s"),
        ("sy", "s"),
        ("sh", "s"),
        ("ph", "f"),
        ("kh", "h"),
        ("ck", "k"),
        ("q", "k"),
        ("ou", "u"),
        ("oo", "u"),
        ("ee", "i"),
        ("ie", "i"),
        ("ij", "i"),
        ("aw", "au"),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    // Hard c -> k ("Eric"/"Erik", "Victoria"/"Viktoria"); c before e/i/y/h is left alone.
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut prev = '\0';
    for (i, &b) in bytes.iter().enumerate() {
        let mut c = b as char;
        if c == 'c' && !matches!(bytes.get(i + 1), Some(b'e' | b'i' | b'y' | b'h')) {
            c = 'k';
        }
        if c != prev {
            out.push(c);
        }
        prev = c;
    }
    if out.is_empty() { t.to_string() } else { out }
}

/// Consonant skeletons: vowels, y, w dropped (a leading vowel kept as `a`), doubles collapsed;
/// one skeleton per reading of `kh` (as `h` and as `k`) when the raw token had it.
fn skeletons(canon: &str) -> Vec<String> {
    let one = |s: &str| {
        let mut out = String::new();
        let mut prev = '\0';
        for (i, c) in s.chars().enumerate() {
            let v = matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'w');
            let c2 = if v {
                if i == 0 { 'a' } else { continue }
            } else {
                c
            };
            if c2 != prev {
                out.push(c2);
            }
            prev = c2;
        }
        out
    };
    let mut v = vec![one(canon)];
    // canon already maps kh->h; a second key with h->k after a vowel-less start catches "Khatiba"/"Katiba".
    if let Some(rest) = canon.strip_prefix('h') {
        let alt = one(&format!("k{rest}"));
        if alt != v[0] {
            v.push(alt);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        normalize(s).tokens.into_iter().map(|t| t.text).collect()
    }
    fn canon(s: &str) -> Vec<String> {
        normalize(s).tokens.into_iter().map(|t| t.canon).collect()
    }

    #[test]
    fn folding_and_reordering() {
        assert_eq!(toks("PUTIN, Vladimir"), vec!["vladimir", "putin"]);
        assert_eq!(toks("José  Núñez-O'Brien"), vec!["jose", "nunez", "obrien"]);
        assert_eq!(toks("ＡＢＣ Ｃｏｒｐ"), vec!["abc"]); // NFKC fullwidth + legal form
        assert_eq!(toks("PT Maju Jaya Tbk"), vec!["maju", "jaya"]);
        assert_eq!(
            toks("ANGLO-CARIBBEAN CO., LTD."),
            vec!["anglo", "caribbean"]
        );
        assert_eq!(toks("Ltd"), vec!["ltd"]); // only a legal form: kept
        assert!(toks("!!! ---").is_empty());
        assert!(toks("").is_empty());
    }

    #[test]
    fn transliteration() {
        let n = normalize("Катиба ат-Таухид");
        assert!(n.non_latin);
        let (a, b) = (
            normalize("Катиба ат-Таухид"),
            normalize("Khatiba al-Tawhid"),
        );
        assert_eq!(a.tokens.len(), 2);
        assert_eq!(a.tokens[1].canon, b.tokens[1].canon);
        assert!(
            a.tokens[0]
                .skeletons
                .iter()
                .any(|k| b.tokens[0].skeletons.contains(k))
        );
        assert_eq!(toks("Владимир Путин"), vec!["vladimir", "putin"]);
        assert!(!toks("محمد").is_empty());
        assert!(!toks("习近平").is_empty());
    }

    #[test]
    fn variants_meet() {
        for (a, b) in [
            ("Muhammad", "Mohamed"),
            ("Muhammad", "Mohammad"),
            ("Mukhammad", "Muhammad"),
            ("Nur", "Noor"),
            ("Syaiful", "Saiful"),
            ("Abdul Rahman", "Abd al-Rahman"),
            ("Abdulaziz", "Abdul Aziz"),
            ("Abdurrahman Wahid", "Abdul Rahman Wahid"),
            ("Soekarno", "Sukarno"),
            ("Djoko", "Joko"),
        ] {
            assert_eq!(canon(a), canon(b), "{a} vs {b}");
        }
        assert_ne!(canon("Abdullah"), canon("Abdul Lah"));
    }

    #[test]
    fn caps_work() {
        let long = "a".repeat(10_000);
        let n = normalize(&long);
        assert_eq!(n.tokens.len(), 1);
        assert!(n.tokens[0].text.len() <= MAX_TOKEN_LEN);
        let many = "word ".repeat(5000);
        assert!(normalize(&many).tokens.len() <= MAX_TOKENS);
    }
}
