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
pub const MAX_TOKEN_LEN: usize = 64;

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
    /// Written in an abjad (Arabic, Hebrew): its transliteration lacks the short vowels.
    pub abjad: bool,
}

/// A normalised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NormName {
    /// Tokens in reading order (after `SURNAME, Given` reordering), legal forms and articles removed.
    pub tokens: Vec<Token>,
    /// The input contained letters of a non-Latin script (Arabic, Cyrillic, Han…).
    pub non_latin: bool,
    /// Tokens concatenated without separators, in canonical form (glued/split names).
    pub concat: String,
    /// Every word concatenated, articles and legal forms included (`ALZAWAHIRI`, `NAMEAG`).
    pub concat_raw: String,
    /// Legal forms of the name, abbreviated (`Aktiengesellschaft` -> `ag`).
    pub forms: Vec<&'static str>,
    /// Han, Kana and Hangul characters of the name as written (homophones differ here).
    pub cjk: String,
    /// Initials of names of three words or more, with and without the legal forms.
    pub acronyms: Vec<String>,
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
    let cjk: String = nfkc.chars().filter(|&c| is_cjk(c)).collect();

    // 2. "SURNAME, Given" -> "Given SURNAME" when there is exactly one comma.
    let reordered = match nfkc.split_once(',') {
        Some((a, b)) if !b.contains(',') && !a.trim().is_empty() && !b.trim().is_empty() => {
            format!("{} {}", b.trim(), a.trim())
        }
        _ => nfkc,
    };
    let reordered = split_glued_forms(&reordered);

    // 3. Transliterate and fold to ASCII, remembering which characters came from an abjad
    // (Arabic, Hebrew: consonants only, short vowels unwritten).
    let mut ascii: Vec<(char, bool)> = Vec::with_capacity(reordered.len() + 8);
    for c in reordered.chars() {
        let abjad = is_abjad(c);
        if c.is_ascii() {
            ascii.push((c, false));
        } else if matches!(
            c,
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{02BB}' | '\u{02BF}' | '\u{02BE}'
        ) {
            ascii.push(('\'', false));
        } else if matches!(c, '\u{2010}'..='\u{2015}') {
            ascii.push(('-', false));
        } else if matches!(
            c,
            '\u{0639}' | '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0627}' | '\u{0671}'
        ) {
            // Arabic ain and the alifs: written as a vowel (or an apostrophe) in Latin (`Ali`,
            // `Umar`, `Abd`, `Ahmad`, `Ismail`).
            ascii.push(('a', true));
        } else if is_cjk(c) {
            ascii.push((' ', false));
            ascii.extend(any_ascii::any_ascii_char(c).chars().map(|a| (a, false)));
            ascii.push((' ', false));
        } else {
            ascii.extend(any_ascii::any_ascii_char(c).chars().map(|a| (a, abjad)));
        }
    }
    let raw_tokens = tokenize(&ascii);

    // 4. Arabic articles, Abd al- compounds, legal forms, fillers, number words.
    let mut words: Vec<(String, bool)> = Vec::new(); // (word, from an abjad)
    let mut all_words: Vec<String> = Vec::new(); // with articles and legal forms, for `concat_raw`
    let mut forms: Vec<&'static str> = Vec::new();
    let mut i = 0;
    while i < raw_tokens.len() {
        let rt = &raw_tokens[i];
        let t = rt.text.as_str();
        let has_next = i + 1 < raw_tokens.len();
        if let Some((len, form)) = legal_form_at(&raw_tokens[i..]) {
            forms.push(form);
            all_words.extend(raw_tokens[i..i + len].iter().map(|t| t.text.clone()));
            i += len;
            continue;
        }
        if t == "abd" && has_next && ARTICLES_HYPHEN.contains(&raw_tokens[i + 1].text.as_str()) {
            words.push(("abdul".into(), rt.abjad));
            all_words.push("abdul".into());
            i += 2;
            continue;
        }
        all_words.push(t.to_string());
        if has_next && ((rt.hyphen && ARTICLES_HYPHEN.contains(&t)) || ARTICLES_FREE.contains(&t)) {
            i += 1;
            continue;
        }
        for w in split_abdul(t) {
            let w = number_word(&w).map_or(w, str::to_string);
            words.push((w, rt.abjad));
        }
        i += 1;
    }
    let meaningful = words
        .iter()
        .filter(|(w, _)| !FILLERS.contains(&w.as_str()))
        .count();
    if meaningful > 0 {
        words.retain(|(w, _)| !FILLERS.contains(&w.as_str()));
    } else if words.is_empty() {
        // Only a legal form: keep it as the name.
        words.extend(forms.drain(..).map(|f| (f.to_string(), false)));
    }
    words.truncate(MAX_TOKENS);

    let tokens: Vec<Token> = words
        .into_iter()
        .map(|(mut w, abjad)| {
            w.truncate(MAX_TOKEN_LEN);
            make_token(w, abjad)
        })
        .collect();
    let concat = canonical(&tokens.iter().map(|t| t.text.as_str()).collect::<String>());
    let concat_raw = canonical(&all_words.concat());
    let mut acronyms = Vec::new();
    for words in [
        tokens.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
        all_words
            .iter()
            .map(String::as_str)
            .filter(|w| !FILLERS.contains(w) && !ARTICLES_FREE.contains(w))
            .collect(),
    ] {
        if words.len() >= 3 && words.iter().all(|w| w.as_bytes()[0].is_ascii_alphabetic()) {
            let a: String = words.iter().map(|w| &w[..1]).collect();
            if !acronyms.contains(&a) {
                acronyms.push(a);
            }
        }
    }
    NormName {
        tokens,
        non_latin,
        concat,
        concat_raw,
        forms,
        cjk,
        acronyms,
    }
}

/// A word of the folded text, before articles and legal forms are handled.
struct RawToken {
    text: String,
    /// Followed by a hyphen (`al-`).
    hyphen: bool,
    /// Written in an abjad.
    abjad: bool,
}

/// Characters that, between two letters or digits, glue them rather than separate words
/// (`Zawa*hiri`, `I.R.G.C.`): obfuscation and dotted acronyms.
fn is_joiner(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '-' | ',' | '/' | '(' | ')' | '&' | ';' | ':' | '+')
}

/// Split folded text into words, undoing obfuscation: `$`/`@` used as letters, punctuation
/// inside a word, letters spaced or dotted apart (a run of three or more single letters is one
/// word), digits inserted into a word or standing for letters, letters repeated three times or
/// more.
fn tokenize(ascii: &[(char, bool)]) -> Vec<RawToken> {
    let alnum = |i: usize| ascii.get(i).is_some_and(|(c, _)| c.is_ascii_alphanumeric());
    // Pass 1: characters and separators.
    let mut chars: Vec<(char, bool)> = Vec::with_capacity(ascii.len());
    for (i, &(c, abjad)) in ascii.iter().enumerate() {
        let near_alnum = (i > 0 && alnum(i - 1)) || alnum(i + 1);
        match c {
            '\'' | '`' => {}
            '$' if near_alnum => chars.push(('s', abjad)),
            '@' if near_alnum => chars.push(('a', abjad)),
            _ => chars.push((c, abjad)),
        }
    }
    // Pass 2: segments (letters/digits) and the separators between them.
    struct Seg {
        text: String,
        abjad: bool,
        /// The separator after it: hyphen, and whether it is one plain space.
        hyphen: bool,
        narrow: bool,
        /// Built from single characters joined by dots (`I.R.G.C.`).
        dotted_letters: bool,
    }
    let mut segs: Vec<Seg> = Vec::new();
    let mut cur = String::new();
    let mut cur_abjad = false;
    let mut parts: Vec<usize> = Vec::new(); // lengths of the pieces joined into `cur`
    let mut piece = 0usize;
    let mut i = 0;
    while i < chars.len() && segs.len() < MAX_TOKENS * 4 {
        let (c, abjad) = chars[i];
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
            cur_abjad |= abjad;
            piece += 1;
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && !chars[j].0.is_ascii_alphanumeric() {
            j += 1;
        }
        let run: Vec<char> = chars[i..j].iter().map(|(c, _)| *c).collect();
        if run.len() == 1 && is_joiner(run[0]) && !cur.is_empty() && j < chars.len() {
            parts.push(piece);
            piece = 0;
            i = j;
            continue;
        }
        if !cur.is_empty() {
            parts.push(piece);
            segs.push(Seg {
                text: std::mem::take(&mut cur),
                abjad: cur_abjad,
                hyphen: run.contains(&'-'),
                narrow: run == [' '],
                dotted_letters: parts.len() > 1 && parts.iter().all(|&p| p == 1),
            });
        }
        parts.clear();
        piece = 0;
        cur_abjad = false;
        i = j;
    }
    if !cur.is_empty() && segs.len() < MAX_TOKENS * 4 {
        parts.push(piece);
        segs.push(Seg {
            text: cur,
            abjad: cur_abjad,
            hyphen: false,
            narrow: false,
            dotted_letters: parts.len() > 1 && parts.iter().all(|&p| p == 1),
        });
    }
    // Pass 3: join runs of 3+ single letters spaced apart (and of 2 in a name written that
    // way: `I S   B A N K`); split two dotted initials (`V.V.`).
    let single = |s: &Seg| s.text.len() == 1 && s.text.as_bytes()[0].is_ascii_alphabetic();
    let run_end = |k: usize| {
        let mut end = k;
        while end < segs.len() && single(&segs[end]) && (end == k || segs[end - 1].narrow) {
            end += 1;
        }
        end
    };
    let spaced = (0..segs.len()).any(|k| run_end(k) - k >= 3);
    let min_run = if spaced { 2 } else { 3 };
    let mut out: Vec<RawToken> = Vec::new();
    let mut k = 0;
    while k < segs.len() && out.len() < MAX_TOKENS * 2 {
        let end = run_end(k);
        if end - k >= min_run {
            let text: String = segs[k..end].iter().map(|s| s.text.as_str()).collect();
            out.push(RawToken {
                text: deobfuscate(&text),
                hyphen: segs[end - 1].hyphen,
                abjad: segs[k..end].iter().any(|s| s.abjad),
            });
            k = end;
            continue;
        }
        let s = &segs[k];
        if s.dotted_letters && s.text.len() <= 2 {
            for c in s.text.chars() {
                out.push(RawToken {
                    text: c.to_string(),
                    hyphen: s.hyphen,
                    abjad: s.abjad,
                });
            }
        } else {
            out.push(RawToken {
                text: deobfuscate(&s.text),
                hyphen: s.hyphen,
                abjad: s.abjad,
            });
        }
        k += 1;
    }
    out
}

/// Undo digits in a word and letters repeated three times or more: `0m4r` -> `omar` (digits
/// standing for letters), `Kha8lid` -> `khalid` (a digit inserted between letters), `Ayyyman`
/// -> `ayman`. Numbers (`1`, `300`) and codes with a single letter (`S300`) are left alone.
fn deobfuscate(t: &str) -> String {
    let letters = t.bytes().filter(u8::is_ascii_alphabetic).count();
    let digits = t.len() - letters;
    let mut s = t.to_string();
    // A single letter with one or two digits (`J1`) may be a code, but is read as letters too:
    // both sides of a comparison are read the same way.
    if digits > 0
        && (letters >= 2 || (letters == 1 && t.len() <= 3 && t.as_bytes()[0].is_ascii_alphabetic()))
    {
        let leet = |b: u8| match b {
            b'0' => Some('o'),
            b'1' => Some('i'),
            b'3' => Some('e'),
            b'4' => Some('a'),
            b'5' => Some('s'),
            b'7' => Some('t'),
            _ => None,
        };
        if t.bytes()
            .all(|b| b.is_ascii_alphabetic() || leet(b).is_some())
        {
            s = t.bytes().map(|b| leet(b).unwrap_or(b as char)).collect();
        } else {
            let bytes = t.as_bytes();
            let first = bytes.iter().position(u8::is_ascii_alphabetic);
            let last = bytes.iter().rposition(u8::is_ascii_alphabetic);
            if let (Some(f), Some(l)) = (first, last) {
                s = bytes
                    .iter()
                    .enumerate()
                    .filter(|(i, b)| !(b.is_ascii_digit() && *i > f && *i < l))
                    .map(|(_, b)| *b as char)
                    .collect();
            }
        }
    }
    // Letters repeated three times or more: no name writes a letter thrice.
    let b: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let mut j = i;
        while j < b.len() && b[j] == c {
            j += 1;
        }
        let n = if c.is_ascii_alphabetic() && j - i >= 3 {
            1
        } else {
            j - i
        };
        out.extend(std::iter::repeat_n(c, n));
        i = j;
    }
    out
}

/// Arabic, Hebrew, Syriac and Thaana letters (scripts that leave short vowels unwritten).
fn is_abjad(c: char) -> bool {
    let u = c as u32;
    (0x0590..=0x08FF).contains(&u)
        || (0xFB1D..=0xFDFF).contains(&u)
        || (0xFE70..=0xFEFF).contains(&u)
}

/// Legal forms spelled out, mapped to their usual abbreviation (folded to ASCII, lowercase).
const LEGAL_PHRASES: &[(&[&str], &str)] = &[
    (
        &["obshchestvo", "s", "ogranichennoy", "otvetstvennostyu"],
        "ooo",
    ),
    (
        &["obshchestvo", "s", "ogranichennoi", "otvetstvennostiu"],
        "ooo",
    ),
    (
        &["tovarystvo", "z", "obmezhenoyu", "vidpovidalnistyu"],
        "tov",
    ),
    (&["gesellschaft", "mit", "beschrankter", "haftung"], "gmbh"),
    (&["societe", "a", "responsabilite", "limitee"], "sarl"),
    (&["societa", "a", "responsabilita", "limitata"], "srl"),
    (&["sociedad", "de", "responsabilidad", "limitada"], "srl"),
    (&["zakrytoe", "aktsionernoe", "obshchestvo"], "zao"),
    (&["otkrytoe", "aktsionernoe", "obshchestvo"], "oao"),
    (&["publichnoe", "aktsionernoe", "obshchestvo"], "pao"),
    (&["open", "joint", "stock", "company"], "ojsc"),
    (&["public", "joint", "stock", "company"], "pjsc"),
    (&["closed", "joint", "stock", "company"], "cjsc"),
    (&["limited", "liability", "company"], "llc"),
    (&["limited", "liability", "partnership"], "llp"),
    (&["public", "limited", "company"], "plc"),
    (&["joint", "stock", "company"], "jsc"),
    (&["free", "zone", "establishment"], "fze"),
    (&["free", "zone", "company"], "fzco"),
    (&["societa", "per", "azioni"], "spa"),
    (&["aktsionernoe", "obshchestvo"], "ao"),
    (&["societe", "anonyme"], "sa"),
    (&["sociedad", "anonima"], "sa"),
    (&["sociedade", "anonima"], "sa"),
    (&["compania", "anonima"], "sa"),
    (&["perseroan", "terbatas"], "pt"),
    (&["besloten", "vennootschap"], "bv"),
    (&["naamloze", "vennootschap"], "nv"),
    (&["sendirian", "berhad"], "sdnbhd"),
    (&["sdn", "bhd"], "sdnbhd"),
    (&["private", "limited"], "ltd"),
    (&["pvt", "ltd"], "ltd"),
    (&["pte", "ltd"], "ltd"),
    (&["co", "ltd"], "ltd"),
    (&["company", "limited"], "ltd"),
    (&["limited", "partnership"], "lp"),
    (&["aktiengesellschaft"], "ag"),
    (&["limited"], "ltd"),
    (&["incorporated"], "inc"),
    (&["corporation"], "corp"),
    (&["company"], "co"),
];

/// Legal-form abbreviations, with the family each belongs to: `l` limited liability, `s` joint
/// stock, `n` neutral (says nothing about the kind of company).
const LEGAL_FORMS: &[(&str, char)] = &[
    ("llc", 'l'),
    ("ltd", 'l'),
    ("gmbh", 'l'),
    ("ooo", 'l'),
    ("tov", 'l'),
    ("sarl", 'l'),
    ("srl", 'l'),
    ("bv", 'l'),
    ("pt", 'l'),
    ("sdnbhd", 'l'),
    ("pvt", 'l'),
    ("pte", 'l'),
    ("kft", 'l'),
    ("sro", 'l'),
    ("doo", 'l'),
    ("fze", 'l'),
    ("fzco", 'l'),
    ("fzc", 'l'),
    ("ltda", 'l'),
    ("ag", 's'),
    ("sa", 's'),
    ("jsc", 's'),
    ("ojsc", 's'),
    ("pjsc", 's'),
    ("cjsc", 's'),
    ("zao", 's'),
    ("oao", 's'),
    ("pao", 's'),
    ("plc", 's'),
    ("nv", 's'),
    ("spa", 's'),
    ("tbk", 's'),
    ("sas", 's'),
    ("co", 'n'),
    ("corp", 'n'),
    ("inc", 'n'),
    ("persero", 'n'),
    ("cv", 'n'),
    ("ud", 'n'),
    ("llp", 'n'),
    ("lp", 'n'),
    ("kg", 'n'),
    ("cia", 'n'),
    ("sac", 'n'),
];

/// Words dropped from names (as long as something else remains): articles of company names and
/// honorifics.
const FILLERS: &[&str] = &[
    "the", "of", "and", "dr", "mr", "mrs", "ms", "prof", "haji", "hajji", "hj",
];

fn legal_family(form: &str) -> char {
    LEGAL_FORMS
        .iter()
        .find(|(f, _)| *f == form)
        .map_or('n', |(_, fam)| *fam)
}

/// Do two names' legal forms contradict (a limited-liability form against a joint-stock one)?
pub(crate) fn forms_conflict(a: &[&str], b: &[&str]) -> bool {
    let fams = |v: &[&str]| -> Vec<char> {
        v.iter()
            .map(|f| legal_family(f))
            .filter(|&f| f != 'n')
            .collect()
    };
    let (fa, fb) = (fams(a), fams(b));
    !fa.is_empty() && !fb.is_empty() && !fa.iter().any(|f| fb.contains(f))
}

/// The legal form starting at `tokens[0]`, spelled out or abbreviated: (words used, form).
fn legal_form_at(tokens: &[RawToken]) -> Option<(usize, &'static str)> {
    for (phrase, form) in LEGAL_PHRASES {
        if tokens.len() >= phrase.len() && phrase.iter().zip(tokens).all(|(p, t)| *p == t.text) {
            return Some((phrase.len(), form));
        }
    }
    let first = tokens.first()?;
    LEGAL_FORMS
        .iter()
        .find(|(f, _)| *f == first.text)
        .map(|(f, _)| (1, *f))
}

/// Legal forms no word ends with by chance: split off even when written in the same case.
const GLUED_FORMS: &[&str] = &[
    "llc", "ltd", "gmbh", "jsc", "ojsc", "pjsc", "cjsc", "plc", "ooo",
];

/// `RosneftAG`, `Acme GroupLTD`: a legal form glued to the word before it, told apart by its
/// capitals after a lower-case letter, or by a glued form of three letters or more at the end.
fn split_glued_forms(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (wi, word) in s.split(' ').enumerate() {
        if wi > 0 {
            out.push(' ');
        }
        let mut split_at = None;
        for (f, _) in LEGAL_FORMS {
            let n = f.len();
            if word.len() < n + 2 || !word.is_char_boundary(word.len() - n) {
                continue;
            }
            let (head, tail) = word.split_at(word.len() - n);
            if !tail.eq_ignore_ascii_case(f) || !head.chars().all(|c| c.is_alphabetic()) {
                continue;
            }
            let camel = tail.chars().all(|c| c.is_ascii_uppercase())
                && head.chars().last().is_some_and(char::is_lowercase);
            let long_form = GLUED_FORMS.contains(f);
            if camel || long_form {
                split_at = Some(word.len() - n);
                break;
            }
        }
        match split_at {
            Some(i) => {
                out.push_str(&word[..i]);
                out.push(' ');
                out.push_str(&word[i..]);
            }
            None => out.push_str(word),
        }
    }
    out
}

/// English number words as digits (`Seven Seas` = `7 Seas`).
fn number_word(w: &str) -> Option<&'static str> {
    const WORDS: &[(&str, &str)] = &[
        ("zero", "0"),
        ("one", "1"),
        ("two", "2"),
        ("three", "3"),
        ("four", "4"),
        ("five", "5"),
        ("six", "6"),
        ("seven", "7"),
        ("eight", "8"),
        ("nine", "9"),
        ("ten", "10"),
        ("eleven", "11"),
        ("twelve", "12"),
        ("thirteen", "13"),
        ("fourteen", "14"),
        ("fifteen", "15"),
        ("sixteen", "16"),
        ("seventeen", "17"),
        ("eighteen", "18"),
        ("nineteen", "19"),
        ("twenty", "20"),
    ];
    WORDS.iter().find(|(n, _)| *n == w).map(|(_, d)| *d)
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

fn make_token(text: String, abjad: bool) -> Token {
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
        abjad,
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

    #[test]
    fn obfuscation_is_undone() {
        let plain = toks("Vladimir Putin");
        for obfuscated in [
            "V.L.A.D.I.M.I.R. P.U.T.I.N",
            "V L A D I M I R   P U T I N",
            "Vla*dimir Pu_tin",
            "Vladi~mir Pu|tin",
            "Vl4d1m1r Put1n",
            "Vla2dimir Pu8tin",
            "Vladdddimir Puuuutin",
            "VLADIMIR, PUTIN",
        ] {
            let got = toks(obfuscated);
            assert!(
                got == plain || got == vec!["putin", "vladimir"],
                "{obfuscated}: {got:?}"
            );
        }
        // Glued and split names meet the plain one on the glued form.
        let concat = normalize("Vladimir Putin").concat;
        for form in [
            "VLADIMIRPUTIN",
            "Vladi mir Pu tin",
            "V L A D I M I R P U T I N",
        ] {
            assert_eq!(normalize(form).concat, concat, "{form}");
        }
        // Another name stays another name.
        assert_ne!(toks("V.L.A.D.I.S.L.A.V P.U.T.I.N"), plain);
        // What is not obfuscation is left alone: initials, codes, numbers, hyphens.
        assert_eq!(toks("J R Smith"), vec!["j", "r", "smith"]);
        assert_eq!(toks("V.V. Putin"), vec!["v", "v", "putin"]);
        assert_eq!(toks("S300 Boeing 737"), vec!["s300", "boeing", "737"]);
        assert_eq!(toks("Anna-Maria Hassan"), vec!["anna", "maria", "hassan"]);
        assert_eq!(toks("I.R.G.C."), vec!["irgc"]);
        assert_eq!(toks("Seven Seas"), toks("7 Seas"));
    }

    #[test]
    fn legal_forms_are_normalised_not_deleted() {
        let forms = |s: &str| normalize(s).forms;
        assert_eq!(toks("Rosneft Aktiengesellschaft"), vec!["rosneft"]);
        assert_eq!(forms("Rosneft Aktiengesellschaft"), vec!["ag"]);
        assert_eq!(forms("RosneftAG"), vec!["ag"]);
        assert_eq!(forms("ROSNEFTLLC"), vec!["llc"]);
        assert_eq!(forms("Acme Limited Liability Company"), vec!["llc"]);
        assert_eq!(
            forms("Acme Gesellschaft mit beschränkter Haftung"),
            vec!["gmbh"]
        );
        assert_eq!(forms("PT Maju Jaya Tbk"), vec!["pt", "tbk"]);
        assert!(forms_conflict(&["ag"], &["gmbh"]));
        assert!(!forms_conflict(&["llc"], &["ltd"]));
        assert!(!forms_conflict(&["co"], &["ag"]));
        assert!(!forms_conflict(&[], &["ag"]));
        // A word that merely ends like a form is not split.
        assert!(forms("Mossag").is_empty());
    }

    #[test]
    fn hostile_input_never_panics_and_stays_bounded() {
        let bytes: &[u8] = b"Bu\xffdi \xc3\x28 \xe2\x82 Santoso";
        let lossy = String::from_utf8_lossy(bytes).into_owned();
        let inputs = [
            String::new(),
            " \t\n ".into(),
            "!!! --- ... $$$ @@@ *** ~~~".into(),
            ". ".repeat(10_000),
            "a.".repeat(10_000),
            "a ".repeat(10_000),
            "1".repeat(5_000),
            "4".repeat(50) + "a",
            "$a$ @b@ $ @".into(),
            "Ivan Иван محمد 王 김 \u{202E}evil\u{202C} V\u{200B}l\u{200B}a".into(),
            "\u{0301}\u{0301}\u{0639}\u{0639}\u{0639}".into(),
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                .into(),
            "Gesellschaft mit beschränkter".into(),
            "Limited Liability Company".into(),
            "X bin".into(),
            lossy,
        ];
        for input in &inputs {
            let n = normalize(input);
            assert!(n.tokens.len() <= MAX_TOKENS, "{input:?}");
            assert!(
                n.tokens
                    .iter()
                    .all(|t| t.text.len() <= MAX_TOKEN_LEN && !t.text.is_empty())
            );
            assert!(n.concat.len() <= MAX_TOKENS * MAX_TOKEN_LEN);
        }
        assert!(normalize("!!! --- ... $$$ @@@").tokens.is_empty());
        assert_eq!(toks("Limited Liability Company"), vec!["llc"]);
        assert_eq!(
            toks(&String::from_utf8_lossy(bytes)),
            vec!["budi", "santoso"]
        );
    }
}
