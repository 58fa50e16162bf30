//! The labelled accuracy set of issue 23: true and false pairs for each weakness class of the
//! matcher, with the decision a compliance analyst would expect (`block`, `review`, `approve`).
//!
//! Every case is generated here, deterministically, from the public lists (OFAC SDN, OFAC
//! non-SDN, UN; never DTTOT, which holds personal data), from name pools written for this file
//! (Indonesian given names, surnames and one-word Javanese names, Arabic-derived names, the
//! registered names of large Indonesian banks) and from a small synthetic list of invented
//! entries ([`synthetic_list`]) for what the public lists lack (names in Han and Hangul script).
//!
//! Counting: a case with a target entry "fires" at a threshold when that entry scores at or above
//! it (review: `>= 50`, block: `> 80`); a case without a target fires when any entry does. At the
//! review threshold the positives are the `block` and `review` cases, at the block threshold only
//! the `block` cases; a negative that fires is a false positive.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};

use benteng_screening::{
    BLOCK_THRESHOLD, EntityType, Entry, Identifier, ListSource, PartialDate, Query,
    REVIEW_THRESHOLD, SanctionsList, Screener, normalize_name,
};

use super::evalset::{Rng, cyrillic, title, typo, words};

/// Seed of the committed set.
pub const SEED: u64 = 0x0023_ACC0;

/// The decision a case should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Block,
    Review,
    Approve,
}

impl Expect {
    fn as_str(self) -> &'static str {
        match self {
            Expect::Block => "block",
            Expect::Review => "review",
            Expect::Approve => "approve",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "block" => Some(Expect::Block),
            "review" => Some(Expect::Review),
            "approve" => Some(Expect::Approve),
            _ => None,
        }
    }
}

/// The weakness classes of issue 23 (0: plain variants, the baseline).
pub const CLASSES: [&str; 9] = [
    "baseline",
    "short_edit",
    "legal_form",
    "word_order",
    "initials_acronyms",
    "scripts",
    "common_names",
    "obfuscation",
    "secondary_evidence",
];

/// One labelled case.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub class: usize,
    pub tag: String,
    /// `person`, `company`, `organisation` or `vessel`.
    pub kind: String,
    /// `latin`, `cyrillic`, `arabic`, `han` or `hangul`.
    pub script: String,
    pub expect: Expect,
    pub query: String,
    pub entity_type: Option<EntityType>,
    pub dob: Option<String>,
    pub identifier: Option<String>,
    pub target: Option<(ListSource, String)>,
}

impl Case {
    /// The screening query of the case.
    pub fn query(&self) -> Query {
        let mut q = Query::new(self.query.clone());
        q.min_score = 1;
        q.limit = 100;
        q.entity_type = self.entity_type;
        q.dob = self
            .dob
            .as_deref()
            .and_then(|d| d.parse::<PartialDate>().ok());
        q.identifiers = self.identifier.iter().cloned().collect();
        q
    }
}

const HEADER: &str = "id\tclass\ttag\tkind\tscript\texpect\tquery\tentity_type\tdob\tidentifier\ttarget_source\ttarget_id";

/// Tab-separated file, one case a line, with a header.
pub fn to_tsv(cases: &[Case]) -> String {
    let mut s = format!("{HEADER}\n");
    for c in cases {
        let (src, id) = match &c.target {
            Some((s, i)) => (s.to_string(), i.clone()),
            None => (String::new(), String::new()),
        };
        let et = match c.entity_type {
            Some(EntityType::Person) => "person",
            Some(EntityType::Organisation) => "organisation",
            Some(EntityType::Vessel) => "vessel",
            Some(_) | None => "",
        };
        let fields = [
            c.id.as_str(),
            CLASSES[c.class],
            &c.tag,
            &c.kind,
            &c.script,
            c.expect.as_str(),
            &c.query.replace(['\t', '\n'], " "),
            et,
            c.dob.as_deref().unwrap_or(""),
            c.identifier.as_deref().unwrap_or(""),
            &src,
            &id,
        ];
        s.push_str(&fields.join("\t"));
        s.push('\n');
    }
    s
}

pub fn from_tsv(text: &str) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        if f.len() != 12 {
            return Err(bad("expected 12 fields"));
        }
        let class = CLASSES
            .iter()
            .position(|c| *c == f[1])
            .ok_or_else(|| bad("unknown class"))?;
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let target = if f[10].is_empty() {
            None
        } else {
            Some((
                f[10]
                    .parse::<ListSource>()
                    .map_err(|e| bad(&e.to_string()))?,
                f[11].to_string(),
            ))
        };
        out.push(Case {
            id: f[0].into(),
            class,
            tag: f[2].into(),
            kind: f[3].into(),
            script: f[4].into(),
            expect: Expect::parse(f[5]).ok_or_else(|| bad("unknown expectation"))?,
            query: f[6].into(),
            entity_type: opt(f[7]).and_then(|s| s.parse().ok()),
            dob: opt(f[8]),
            identifier: opt(f[9]),
            target,
        });
    }
    Ok(out)
}

/// Invented entries for what the public lists lack: names written in Han and Hangul script.
/// None of them is a real listed party.
pub fn synthetic_list() -> Result<SanctionsList, benteng_screening::ListError> {
    let source = ListSource::Generic {
        name: "eval-synthetic".into(),
    };
    let rows: &[(&str, &str, &str)] = &[
        ("S1", "WANG Jianguo", "王建国"),
        ("S2", "ZHANG Xiaoming", "张晓明"),
        ("S3", "LIU Guoqiang", "刘国强"),
        ("S4", "CHEN Zhiyuan", "陈志远"),
        ("S5", "HUANG Haitao", "黄海涛"),
        ("S6", "ZHAO Lihua", "赵丽华"),
        ("S7", "SUN Weidong", "孙卫东"),
        ("S8", "ZHOU Xinhua Trading Company", "周新华贸易公司"),
        ("S9", "PAK Yong Chol", "박영철"),
        ("S10", "RI Song Hun", "리성훈"),
    ];
    let entries = rows
        .iter()
        .map(|(id, latin, native)| {
            let mut e = Entry::new(source.clone(), *id, *latin);
            e.aliases.push((*native).to_string());
            e.entity_type = if latin.contains("Company") {
                EntityType::Organisation
            } else {
                EntityType::Person
            };
            e
        })
        .collect();
    SanctionsList::from_entries(source, entries)
}

/// Han queries for the synthetic list: (target id, query, tag, expectation). The homophones
/// replace one character by another with the same pinyin: another name, not the listed one.
const HAN_QUERIES: &[(&str, &str, &str, Expect)] = &[
    ("S1", "王建国", "han_exact", Expect::Block),
    ("S2", "张晓明", "han_exact", Expect::Block),
    ("S3", "刘国强", "han_exact", Expect::Block),
    ("S1", "汪建国", "han_homophone", Expect::Review),
    ("S2", "章晓明", "han_homophone", Expect::Review),
    ("S4", "陈志源", "han_homophone", Expect::Review),
    ("S5", "黄海滔", "han_homophone", Expect::Review),
    ("S6", "赵立华", "han_homophone", Expect::Review),
    ("S7", "孙为东", "han_homophone", Expect::Review),
    ("S9", "박영철", "hangul_exact", Expect::Block),
    ("S10", "리성훈", "hangul_exact", Expect::Block),
];

/// Latin queries in Han script for the synthetic list's Latin names (the entry also has the
/// Han name; these check that a Han query reaches a Latin-only spelling of it too).
const HAN_FOR_LATIN: &[(&str, &str)] = &[("S5", "黄海涛"), ("S6", "赵丽华"), ("S7", "孙卫东")];

const ID_GIVEN: &[&str] = &[
    "Ahmad", "Muhammad", "Mohammad", "Siti", "Budi", "Agus", "Dewi", "Sri", "Nur", "Abdul",
    "Rizky", "Putri", "Eko", "Wahyu", "Joko", "Bambang", "Hendra", "Yusuf", "Dian", "Indah",
    "Fitri", "Rina", "Andi", "Hadi", "Teguh", "Ali", "Hasan", "Umar", "Ratna", "Ayu", "Fajar",
    "Irfan", "Arif", "Yuni", "Rahmat", "Taufik", "Dedi", "Nurul", "Lia", "Iwan",
];
const ID_SURNAME: &[&str] = &[
    "Santoso",
    "Hidayat",
    "Saputra",
    "Wijaya",
    "Kurniawan",
    "Setiawan",
    "Pratama",
    "Susanto",
    "Gunawan",
    "Hartono",
    "Nugroho",
    "Siregar",
    "Lubis",
    "Nasution",
    "Harahap",
    "Hasibuan",
    "Sihombing",
    "Rahman",
    "Hakim",
    "Syahputra",
    "Ramadhan",
    "Firmansyah",
    "Maulana",
    "Permana",
    "Purnomo",
    "Wibowo",
    "Prasetyo",
    "Hidayatullah",
    "Kusnadi",
    "Suryadi",
    "Simanjuntak",
    "Panjaitan",
    "Putra",
    "Utomo",
    "Rahayu",
    "Lestari",
    "Sari",
    "Handayani",
    "Anwar",
    "Basri",
];
/// One-word Javanese names.
const JAVANESE: &[&str] = &[
    "Sutrisno", "Wagiman", "Paijo", "Sugiyono", "Mulyono", "Sumarni", "Tukiyem", "Parman",
    "Sarmin", "Ngatini", "Sukardi", "Slamet", "Darmo", "Sutarno", "Marsono", "Suparmi", "Tumini",
    "Karyono", "Sumadi", "Wartini", "Rusdi", "Sukirman", "Paiman", "Suwarno", "Jumadi", "Sarijo",
    "Tarmuji", "Sri", "Yatmi", "Warsito",
];
/// Arabic-derived Indonesian names.
const ARABIC_DERIVED: &[&str] = &[
    "Abdul Rahman Hakim",
    "Muhammad Rizki Ramadhan",
    "Nurul Huda",
    "Fauzan Azhima",
    "Zainal Abidin",
    "Ahmad Fauzi",
    "Ali Akbar",
    "Umar Faruq",
    "Hasan Basri",
    "Luthfi Hakim",
    "Imam Syafii",
    "Muhammad Iqbal",
    "Ahmad Syaifullah",
    "Abdul Aziz Nasution",
    "Siti Aisyah",
    "Siti Fatimah",
    "Nur Hidayah",
    "Muhammad Ilham",
    "Ahmad Zaki",
    "Abdullah Said Harahap",
    "Rahmat Hidayat",
    "Muhammad Yusuf Lubis",
    "Siti Khadijah",
    "Muhammad Arifin",
    "Ahmad Mubarok",
    "Hasanuddin",
    "Syamsul Bahri",
    "Fathurrahman",
    "Nurhayati",
    "Ahmad Husaini",
];
/// Registered names of large Indonesian banks.
const BANKS: &[&str] = &[
    "PT Bank Rakyat Indonesia (Persero) Tbk",
    "PT Bank Mandiri (Persero) Tbk",
    "PT Bank Central Asia Tbk",
    "PT Bank Negara Indonesia (Persero) Tbk",
    "PT Bank Tabungan Negara (Persero) Tbk",
    "PT Bank Syariah Indonesia Tbk",
    "PT Bank CIMB Niaga Tbk",
    "PT Bank Danamon Indonesia Tbk",
    "PT Bank Permata Tbk",
    "PT Bank Maybank Indonesia Tbk",
    "PT Bank OCBC NISP Tbk",
    "PT Bank Pan Indonesia Tbk",
    "PT Bank Mega Tbk",
    "PT Bank Jago Tbk",
    "PT Bank Muamalat Indonesia Tbk",
];
const WESTERN_SURNAME: &[&str] = &[
    "Miller", "Becker", "Hughes", "Porter", "Walsh", "Dunne", "Lange", "Moreau", "Bianchi",
    "Novak", "Larsen", "Fischer", "Graham", "Fowler",
];
const BIZ: &[&str] = &[
    "Sinar",
    "Abadi",
    "Makmur",
    "Sejahtera",
    "Cahaya",
    "Prima",
    "Sentosa",
    "Karya",
    "Mulia",
    "Lautan",
    "Samudra",
    "Pelangi",
    "Harapan",
    "Gemilang",
];

/// Short legal forms and their long forms (facts about company law).
const LEGAL_LONG: &[(&str, &str)] = &[
    ("LLC", "Limited Liability Company"),
    ("LTD", "Limited"),
    ("JSC", "Joint Stock Company"),
    ("OJSC", "Open Joint Stock Company"),
    ("PJSC", "Public Joint Stock Company"),
    ("CJSC", "Closed Joint Stock Company"),
    ("OOO", "Obshchestvo s Ogranichennoy Otvetstvennostyu"),
    ("AG", "Aktiengesellschaft"),
    ("GMBH", "Gesellschaft mit beschränkter Haftung"),
    ("SA", "Société Anonyme"),
    ("SARL", "Société à Responsabilité Limitée"),
    ("PT", "Perseroan Terbatas"),
    ("INC", "Incorporated"),
    ("CORP", "Corporation"),
    ("PLC", "Public Limited Company"),
    ("SRL", "Società a Responsabilità Limitata"),
    ("BV", "Besloten Vennootschap"),
    ("FZE", "Free Zone Establishment"),
    ("CO", "Company"),
];
/// A legal form of the other family (limited liability vs joint stock) for each short form.
fn other_form(f: &str) -> &'static str {
    match f {
        "LLC" | "LTD" | "OOO" | "GMBH" | "SARL" | "SRL" | "BV" | "FZE" | "PT" | "CO" => "AG",
        _ => "GmbH",
    }
}

const CONNECTORS: &[&str] = &["bin", "ibn", "binti", "bint", "ben", "ould", "walad"];

/// Given names with their common nicknames (facts about naming).
const NICKNAMES: &[(&str, &str)] = &[
    ("alexander", "Alex"),
    ("aleksandr", "Sasha"),
    ("aleksandar", "Sasha"),
    ("william", "Bill"),
    ("robert", "Bob"),
    ("richard", "Rick"),
    ("theodore", "Ted"),
    ("edward", "Ed"),
    ("james", "Jim"),
    ("joseph", "Joe"),
    ("michael", "Mike"),
    ("mikhail", "Misha"),
    ("dmitry", "Dima"),
    ("dmitriy", "Dima"),
    ("dmitri", "Dima"),
    ("vladimir", "Volodya"),
    ("yevgeniy", "Zhenya"),
    ("evgeny", "Zhenya"),
    ("nikolay", "Kolya"),
    ("nikolai", "Kolya"),
    ("ivan", "Vanya"),
    ("sergey", "Seryozha"),
    ("sergei", "Seryozha"),
    ("anatoliy", "Tolya"),
    ("viktor", "Vitya"),
    ("andrey", "Andryusha"),
    ("aleksey", "Alyosha"),
    ("alexey", "Alyosha"),
    ("pavel", "Pasha"),
    ("yuriy", "Yura"),
    ("konstantin", "Kostya"),
    ("daniel", "Dan"),
    ("thomas", "Tom"),
    ("charles", "Charlie"),
    ("anthony", "Tony"),
    ("francisco", "Paco"),
    ("jose", "Pepe"),
    ("manuel", "Manolo"),
];

const NUMBER_WORDS: &[(&str, &str)] = &[
    ("1", "One"),
    ("2", "Two"),
    ("3", "Three"),
    ("4", "Four"),
    ("5", "Five"),
    ("6", "Six"),
    ("7", "Seven"),
    ("8", "Eight"),
    ("9", "Nine"),
    ("10", "Ten"),
];

/// Arabic spellings of frequent name words (facts about Arabic orthography).
const ARABIC_WORDS: &[(&str, &str)] = &[
    ("muhammad", "محمد"),
    ("mohammed", "محمد"),
    ("mohammad", "محمد"),
    ("mohamed", "محمد"),
    ("ahmad", "أحمد"),
    ("ahmed", "أحمد"),
    ("ali", "علي"),
    ("hasan", "حسن"),
    ("hassan", "حسن"),
    ("husayn", "حسين"),
    ("hussein", "حسين"),
    ("husain", "حسين"),
    ("abdallah", "عبدالله"),
    ("abdullah", "عبدالله"),
    ("abd", "عبد"),
    ("abdul", "عبد"),
    ("umar", "عمر"),
    ("omar", "عمر"),
    ("usama", "أسامة"),
    ("yusuf", "يوسف"),
    ("ibrahim", "إبراهيم"),
    ("khalid", "خالد"),
    ("sa'id", "سعيد"),
    ("said", "سعيد"),
    ("mahmud", "محمود"),
    ("mahmoud", "محمود"),
    ("mustafa", "مصطفى"),
    ("abu", "أبو"),
    ("bin", "بن"),
    ("ibn", "ابن"),
    ("al", "ال"),
    ("salim", "سالم"),
    ("jamal", "جمال"),
    ("nasir", "ناصر"),
    ("aziz", "عزيز"),
    ("rahman", "رحمن"),
    ("karim", "كريم"),
    ("hamid", "حامد"),
    ("ismail", "إسماعيل"),
    ("salih", "صالح"),
    ("saleh", "صالح"),
    ("hamza", "حمزة"),
    ("zubaydi", "زبيدي"),
    ("yahya", "يحيى"),
    ("musa", "موسى"),
    ("isa", "عيسى"),
    ("mansur", "منصور"),
    ("faisal", "فيصل"),
];

/// A Latin name word written in Arabic script: a known spelling, or letter by letter with short
/// vowels left out, as Arabic writes them.
fn arabic_word(w: &str) -> String {
    let lower = w.to_lowercase();
    if let Some((_, a)) = ARABIC_WORDS.iter().find(|(l, _)| *l == lower) {
        return (*a).to_string();
    }
    let (article, rest) = match lower.strip_prefix("al-") {
        Some(r) => ("ال", r.to_string()),
        None => ("", lower.clone()),
    };
    if let Some((_, a)) = ARABIC_WORDS.iter().find(|(l, _)| *l == rest) {
        return format!("{article}{a}");
    }
    let c: Vec<char> = rest.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    let mut out = String::from(article);
    let mut i = 0;
    while i < c.len() {
        let two: String = c[i..(i + 2).min(c.len())].iter().collect();
        let d = match two.as_str() {
            "sh" => Some("ش"),
            "kh" => Some("خ"),
            "th" => Some("ث"),
            "dh" => Some("ذ"),
            "gh" => Some("غ"),
            "ou" | "oo" | "uu" => Some("و"),
            "ee" | "ii" => Some("ي"),
            "aa" => Some("ا"),
            _ => None,
        };
        if let Some(d) = d {
            out.push_str(d);
            i += 2;
            continue;
        }
        let first = i == 0;
        let last = i + 1 == c.len();
        let s = match c[i] {
            'a' if first => "ا",
            'a' if last => "ا",
            'e' | 'i' if first => "إ",
            'o' | 'u' if first => "أ",
            'a' | 'e' => "",
            'i' => "ي",
            'o' | 'u' => "و",
            'b' | 'p' => "ب",
            't' => "ت",
            'j' | 'g' => "ج",
            'h' if last => "ه",
            'h' => "ح",
            'd' => "د",
            'r' => "ر",
            'z' => "ز",
            's' => "س",
            'f' | 'v' => "ف",
            'q' => "ق",
            'k' | 'c' => "ك",
            'l' => "ل",
            'm' => "م",
            'n' => "ن",
            'w' => "و",
            'y' => "ي",
            'x' => "كس",
            _ => "",
        };
        if !out.ends_with(s) {
            out.push_str(s);
        }
        i += 1;
    }
    out
}

fn is_arabic_origin(w: &[String]) -> bool {
    w.iter().any(|t| {
        let l = t.to_lowercase();
        ARABIC_WORDS.iter().any(|(a, _)| *a == l) || l.starts_with("al-") || l.starts_with("abd")
    })
}

fn canon_set(name: &str) -> Vec<String> {
    let mut t = normalize_name(name).canonical;
    t.sort();
    t.dedup();
    t
}

fn ascii_words(e: &Entry) -> Option<Vec<String>> {
    // Only a person's name is written "SURNAME, Given"; a comma in a company name is not that.
    let w = if e.entity_type == EntityType::Person {
        words(&e.name)
    } else {
        words(&e.name.replace(',', " "))
    };
    (!w.is_empty()
        && w.iter()
            .all(|x| x.chars().all(|c| c.is_ascii_alphanumeric() || c == '\'')))
    .then_some(w)
}

fn titled(w: &[String]) -> String {
    w.iter().map(|x| title(x)).collect::<Vec<_>>().join(" ")
}

fn has_legal_form(w: &[String]) -> Option<usize> {
    let last = w.last()?.to_uppercase();
    LEGAL_LONG.iter().position(|(s, _)| *s == last)
}

fn kind_of(e: &Entry, w: &[String]) -> &'static str {
    match e.entity_type {
        EntityType::Person => "person",
        EntityType::Vessel => "vessel",
        _ if has_legal_form(w).is_some()
            || w.iter().any(|t| {
                let t = t.to_lowercase();
                [
                    "company",
                    "trading",
                    "shipping",
                    "bank",
                    "industries",
                    "group",
                    "international",
                ]
                .contains(&t.as_str())
            }) =>
        {
            "company"
        }
        _ => "organisation",
    }
}

/// Obfuscations a screening system is attacked with. Each keeps every letter of the name.
pub const OBFUSCATIONS: &[&str] = &[
    "dotted",
    "spaced",
    "glued",
    "split",
    "digits",
    "punctuation",
    "repeated",
    "leet",
];

/// Obfuscate `name` (words in reading order) one way.
pub fn obfuscate(kind: &str, w: &[String], rng: &mut Rng) -> String {
    let letters = |t: &str, sep: &str| {
        t.chars()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(sep)
    };
    match kind {
        "dotted" => w
            .iter()
            .map(|t| letters(&t.to_uppercase(), "."))
            .collect::<Vec<_>>()
            .join(". "),
        "spaced" => w
            .iter()
            .map(|t| letters(&t.to_uppercase(), " "))
            .collect::<Vec<_>>()
            .join("   "),
        "glued" => w.iter().map(|t| t.to_uppercase()).collect::<String>(),
        "split" => w
            .iter()
            .map(|t| {
                let c: Vec<char> = t.chars().collect();
                if c.len() >= 6 {
                    let m = c.len() / 2;
                    format!(
                        "{} {}",
                        c[..m].iter().collect::<String>(),
                        c[m..].iter().collect::<String>()
                    )
                } else {
                    t.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        "digits" => w
            .iter()
            .map(|t| {
                let c: Vec<char> = t.chars().collect();
                if c.len() >= 4 {
                    let i = 1 + rng.below(c.len() - 2);
                    let d = (b'0' + rng.below(10) as u8) as char;
                    let mut c = c;
                    c.insert(i, d);
                    c.into_iter().collect()
                } else {
                    t.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        "punctuation" => {
            let p = *rng.pick(&["*", "_", "~", "|", "#", "."]);
            w.iter()
                .map(|t| {
                    let c: Vec<char> = t.chars().collect();
                    if c.len() >= 4 {
                        let m = c.len() / 2;
                        format!(
                            "{}{p}{}",
                            c[..m].iter().collect::<String>(),
                            c[m..].iter().collect::<String>()
                        )
                    } else {
                        t.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
        "repeated" => w
            .iter()
            .map(|t| {
                t.chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if i % 3 == 1 {
                            c.to_string().repeat(3)
                        } else {
                            c.to_string()
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => w
            .iter()
            .map(|t| {
                t.to_lowercase()
                    .chars()
                    .map(|c| match c {
                        'a' => '4',
                        'e' => '3',
                        'i' => '1',
                        'o' => '0',
                        's' => '$',
                        c => c,
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

struct Builder {
    cases: Vec<Case>,
    listed: HashSet<Vec<String>>,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        class: usize,
        tag: &str,
        kind: &str,
        script: &str,
        expect: Expect,
        query: String,
        target: Option<(&ListSource, &str)>,
    ) -> Option<&mut Case> {
        // Recipient names are at most 140 characters.
        if query.chars().count() > 140 || normalize_name(&query).tokens.is_empty() {
            return None;
        }
        // A negative equal to a listed name would be a true hit.
        if target.is_none() && self.listed.contains(&canon_set(&query)) {
            return None;
        }
        let id = format!("c{:04}", self.cases.len());
        self.cases.push(Case {
            id,
            class,
            tag: tag.into(),
            kind: kind.into(),
            script: script.into(),
            expect,
            query,
            entity_type: None,
            dob: None,
            identifier: None,
            target: target.map(|(s, i)| (s.clone(), i.to_string())),
        });
        self.cases.last_mut()
    }
}

/// Every `step`-th element, up to `n`.
fn spread<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    let step = (v.len() / n.max(1)).max(1);
    v.iter().step_by(step).take(n).cloned().collect()
}

/// Generate the set. `public` are the lists whose entries may be named in the committed file;
/// `all` every loaded list (a negative equal to any listed name is dropped).
pub fn generate(public: &[&SanctionsList], all: &[&SanctionsList], seed: u64) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut b = Builder {
        cases: Vec::new(),
        listed: HashSet::new(),
    };
    for l in all {
        for e in &l.entries {
            for n in e.all_names() {
                b.listed.insert(canon_set(n));
            }
        }
    }
    let entries: Vec<&Entry> = public.iter().flat_map(|l| l.entries.iter()).collect();
    let with_words = |pred: &dyn Fn(&Entry, &[String]) -> bool| -> Vec<(&Entry, Vec<String>)> {
        entries
            .iter()
            .filter_map(|e| ascii_words(e).map(|w| (*e, w)))
            .filter(|(e, w)| pred(e, w))
            .collect()
    };
    let persons = with_words(&|e, w| {
        e.entity_type == EntityType::Person
            && (2..=4).contains(&w.len())
            && w.iter().all(|t| t.len() >= 2)
    });
    let orgs = with_words(&|e, w| e.entity_type == EntityType::Organisation && w.len() >= 2);
    let vessels = with_words(&|e, w| e.entity_type == EntityType::Vessel && !w.is_empty());
    let tgt = |e: &Entry| (e.source.clone(), e.id.clone());
    macro_rules! pos {
        ($class:expr, $tag:expr, $e:expr, $w:expr, $script:expr, $expect:expr, $q:expr) => {{
            let (s, i) = tgt($e);
            b.push(
                $class,
                $tag,
                kind_of($e, $w),
                $script,
                $expect,
                $q,
                Some((&s, &i)),
            )
        }};
    }

    // 0. Baseline: reordered/case-folded names and one typo in a long token.
    for (e, w) in spread(&persons, 40).iter().chain(spread(&orgs, 20).iter()) {
        let mut r = w.clone();
        r.rotate_right(1);
        pos!(0, "reordered", e, w, "latin", Expect::Block, titled(&r));
        let mut t = w.clone();
        if let Some(i) = (0..t.len())
            .filter(|&i| t[i].len() >= 7)
            .max_by_key(|&i| t[i].len())
        {
            t[i] = typo(&t[i], &mut rng);
            pos!(0, "typo_long", e, w, "latin", Expect::Block, titled(&t));
        }
    }

    // 1. Short tokens with one or two edits.
    let short: Vec<_> = persons
        .iter()
        .filter(|(_, w)| w.len() <= 3 && w.iter().any(|t| (4..=6).contains(&t.len())))
        .cloned()
        .collect();
    for (k, (e, w)) in spread(&short, 60).iter().enumerate() {
        let i = (0..w.len())
            .rev()
            .find(|&i| (4..=6).contains(&w[i].len()))
            .unwrap_or(0);
        let mut t = w.clone();
        let mut c: Vec<char> = t[i].to_lowercase().chars().collect();
        let vowels = ['a', 'e', 'i', 'o', 'u'];
        match k % 3 {
            0 => {
                // A vowel changed.
                if let Some(p) = (1..c.len()).find(|&p| vowels.contains(&c[p])) {
                    c[p] = **rng.pick(&vowels.iter().filter(|v| **v != c[p]).collect::<Vec<_>>());
                } else {
                    c.swap(1, 2);
                }
            }
            1 => c.swap(1, 2),
            _ => {
                c.remove(c.len() - 2);
            }
        }
        t[i] = c.into_iter().collect();
        if k % 4 == 3 && w.len() >= 2 {
            // Two tokens with an edit each: still the same name.
            let j = (i + 1) % w.len();
            if w[j].len() >= 4 {
                t[j] = typo(&t[j], &mut rng);
                pos!(
                    1,
                    "two_tokens_edited",
                    e,
                    w,
                    "latin",
                    Expect::Block,
                    titled(&t)
                );
                continue;
            }
        }
        pos!(
            1,
            "one_edit_short_token",
            e,
            w,
            "latin",
            Expect::Block,
            titled(&t)
        );
    }
    // Same given name, another surname: a different person.
    for (e, w) in spread(&short, 90) {
        if w.len() != 2 {
            continue;
        }
        let other = rng.pick(WESTERN_SURNAME).to_string();
        if strsim::levenshtein(&other.to_lowercase(), &w[1].to_lowercase()) < 3 {
            continue;
        }
        let q = format!("{} {other}", title(&w[0]));
        pos!(1, "other_surname", e, &w, "latin", Expect::Approve, q);
    }

    // 2. Legal forms.
    let formed: Vec<_> = orgs
        .iter()
        .filter(|(_, w)| w.len() >= 3 && has_legal_form(w).is_some())
        .cloned()
        .collect();
    for (k, (e, w)) in spread(&formed, 60).iter().enumerate() {
        let Some(f) = has_legal_form(w) else { continue };
        let (short_form, long) = LEGAL_LONG[f];
        let core = &w[..w.len() - 1];
        match k % 4 {
            0 | 1 => {
                let q = format!("{} {long}", titled(core));
                pos!(2, "long_form", e, w, "latin", Expect::Block, q);
            }
            2 => {
                let q = format!("{}{}", titled(core), short_form);
                pos!(2, "form_glued", e, w, "latin", Expect::Block, q);
            }
            _ if !["CO", "CORP", "INC"].contains(&short_form) => {
                let q = format!("{} {}", titled(core), other_form(short_form));
                pos!(2, "other_form", e, w, "latin", Expect::Review, q);
            }
            _ => {}
        }
    }
    let is_article = |t: &String| ["al", "el"].contains(&t.to_lowercase().as_str());
    let articled: Vec<_> = persons
        .iter()
        .chain(orgs.iter())
        .filter(|(_, w)| w.len() >= 3 && w[..w.len() - 1].iter().any(is_article))
        .cloned()
        .collect();
    for (e, w) in spread(&articled, 15) {
        let mut q: Vec<String> = Vec::new();
        let mut glue = false;
        for t in &w {
            if glue {
                if let Some(last) = q.last_mut() {
                    last.push_str(&t.to_uppercase());
                }
            } else {
                q.push(t.to_uppercase());
            }
            glue = is_article(t);
        }
        pos!(
            2,
            "article_glued",
            e,
            &w,
            "latin",
            Expect::Block,
            q.join(" ")
        );
    }
    for k in 0..20 {
        let (s, _) = LEGAL_LONG[k % LEGAL_LONG.len()];
        let q = format!("{} {} {s}", rng.pick(BIZ), rng.pick(BIZ));
        b.push(
            2,
            "unrelated_same_form",
            "company",
            "latin",
            Expect::Approve,
            q,
            None,
        );
    }

    // 3. Word order.
    for (e, w) in spread(&persons, 30) {
        let q = if w.len() == 2 {
            format!("{}, {}", w[1].to_uppercase(), title(&w[0]))
        } else {
            let mut r = w.clone();
            r.rotate_left(1);
            titled(&r)
        };
        pos!(3, "reordered", e, &w, "latin", Expect::Block, q);
    }
    let chains: Vec<_> = with_words(&|e, w| {
        e.entity_type == EntityType::Person
            && w.len() >= 3
            && w[1..w.len() - 1]
                .iter()
                .any(|t| CONNECTORS.contains(&t.to_lowercase().as_str()))
    });
    for (e, w) in spread(&chains, 30) {
        let Some(c) =
            (1..w.len() - 1).find(|&i| CONNECTORS.contains(&w[i].to_lowercase().as_str()))
        else {
            continue;
        };
        let mut q: Vec<String> = w[c + 1..].to_vec();
        q.push(w[c].clone());
        q.extend_from_slice(&w[..c]);
        pos!(
            3,
            "patronymic_swapped",
            e,
            &w,
            "latin",
            Expect::Review,
            titled(&q)
        );
        pos!(
            3,
            "patronymic_same",
            e,
            &w,
            "latin",
            Expect::Block,
            titled(&w)
        );
    }

    // 4. Initials, acronyms, nicknames, number words.
    for (k, (e, w)) in spread(&persons, 75).iter().enumerate() {
        let given = &w[0];
        if given.len() < 4 {
            continue;
        }
        match k % 3 {
            0 => {
                // An initial and a surname: a reviewer must look; with more names, it is them.
                let q = format!("{}. {}", &given[..1].to_uppercase(), titled(&w[1..]));
                let expect = if w.len() == 2 {
                    Expect::Review
                } else {
                    Expect::Block
                };
                pos!(4, "initial_given", e, w, "latin", expect, q);
            }
            1 if w.len() >= 3 && w[1].len() >= 3 => {
                let mut t = w.clone();
                t[1] = format!("{}.", &w[1][..1].to_uppercase());
                pos!(
                    4,
                    "initial_middle",
                    e,
                    w,
                    "latin",
                    Expect::Block,
                    titled(&t)
                );
            }
            _ => {
                let first = given.chars().next().unwrap_or('a').to_ascii_uppercase();
                let other = if first == 'K' { 'P' } else { 'K' };
                let q = format!("{other}. {}", titled(&w[1..]));
                let expect = if w.len() == 2 {
                    Expect::Approve
                } else {
                    Expect::Review
                };
                pos!(4, "initial_conflict", e, w, "latin", expect, q);
            }
        }
    }
    let acronyms: Vec<(&Entry, String)> = entries
        .iter()
        .filter(|e| e.entity_type == EntityType::Organisation)
        .filter_map(|e| {
            e.aliases
                .iter()
                .find(|a| (3..=6).contains(&a.len()) && a.chars().all(|c| c.is_ascii_uppercase()))
                .map(|a| (*e, a.clone()))
        })
        .collect();
    for (e, a) in spread(&acronyms, 15) {
        let dotted = a.chars().map(|c| format!("{c}.")).collect::<String>();
        let (s, i) = tgt(e);
        b.push(
            4,
            "acronym_dotted",
            "organisation",
            "latin",
            Expect::Block,
            dotted,
            Some((&s, &i)),
        );
    }
    let expandable: Vec<_> = orgs
        .iter()
        .filter(|(e, w)| {
            (3..=5).contains(&w.len())
                && w.iter()
                    .all(|t| t.len() >= 3 && t.chars().all(|c| c.is_ascii_alphabetic()))
                && has_legal_form(w).is_none()
                && e.aliases.iter().all(|a| a.len() > 6)
        })
        .cloned()
        .collect();
    for (e, w) in spread(&expandable, 15) {
        let q: String = w
            .iter()
            .filter(|t| !["of", "the", "and", "for"].contains(&t.to_lowercase().as_str()))
            .map(|t| t[..1].to_uppercase())
            .collect();
        if q.len() >= 3 {
            pos!(4, "acronym_of_expansion", e, &w, "latin", Expect::Review, q);
        }
    }
    let nicknamed: Vec<_> = persons
        .iter()
        .filter(|(_, w)| NICKNAMES.iter().any(|(g, _)| *g == w[0].to_lowercase()))
        .cloned()
        .collect();
    for (e, w) in spread(&nicknamed, 15) {
        let Some((_, nick)) = NICKNAMES.iter().find(|(g, _)| *g == w[0].to_lowercase()) else {
            continue;
        };
        let q = format!("{nick} {}", titled(&w[1..]));
        pos!(4, "nickname", e, &w, "latin", Expect::Block, q);
    }
    let numbered: Vec<_> = orgs
        .iter()
        .chain(vessels.iter())
        .filter(|(_, w)| {
            w.len() >= 2
                && w.iter().any(|t| {
                    NUMBER_WORDS
                        .iter()
                        .any(|(d, n)| t == d || t.eq_ignore_ascii_case(n))
                })
        })
        .cloned()
        .collect();
    for (e, w) in spread(&numbered, 20) {
        let q: Vec<String> = w
            .iter()
            .map(|t| {
                NUMBER_WORDS
                    .iter()
                    .find_map(|(d, n)| {
                        if t == d {
                            Some(n.to_string())
                        } else if t.eq_ignore_ascii_case(n) {
                            Some(d.to_string())
                        } else {
                            None
                        }
                    })
                    .unwrap_or_else(|| t.clone())
            })
            .collect();
        pos!(
            4,
            "number_words",
            e,
            &w,
            "latin",
            Expect::Block,
            q.join(" ")
        );
    }

    // 5. Scripts.
    for (e, w) in spread(&persons, 25) {
        let q = title(&cyrillic(&w.join(" ")));
        pos!(5, "cyrillic", e, &w, "cyrillic", Expect::Block, q);
    }
    let arabic: Vec<_> = persons
        .iter()
        .filter(|(_, w)| is_arabic_origin(w) && w.iter().all(|t| t.len() >= 3))
        .cloned()
        .collect();
    for (e, w) in spread(&arabic, 30) {
        let q = w
            .iter()
            .map(|t| arabic_word(t))
            .collect::<Vec<_>>()
            .join(" ");
        pos!(5, "arabic", e, &w, "arabic", Expect::Block, q);
    }
    let synthetic = ListSource::Generic {
        name: "eval-synthetic".into(),
    };
    for (id, q, tag, expect) in HAN_QUERIES {
        let script = if tag.starts_with("hangul") {
            "hangul"
        } else {
            "han"
        };
        b.push(
            5,
            tag,
            "person",
            script,
            *expect,
            (*q).into(),
            Some((&synthetic, id)),
        );
    }
    for (id, q) in HAN_FOR_LATIN {
        b.push(
            5,
            "han_vs_latin",
            "person",
            "han",
            Expect::Block,
            (*q).into(),
            Some((&synthetic, id)),
        );
    }

    // 6. Common names: Indonesian negatives, and listed names with a common given name spelled
    // another way.
    for _ in 0..120 {
        let q = match rng.below(3) {
            0 => format!(
                "{} {} {}",
                rng.pick(ID_GIVEN),
                rng.pick(ID_GIVEN),
                rng.pick(ID_SURNAME)
            ),
            _ => format!("{} {}", rng.pick(ID_GIVEN), rng.pick(ID_SURNAME)),
        };
        if b.cases.iter().any(|c| c.query == q) {
            continue;
        }
        if let Some(c) = b.push(
            6,
            "indonesian_full_name",
            "person",
            "latin",
            Expect::Approve,
            q,
            None,
        ) {
            c.entity_type = Some(EntityType::Person);
        }
    }
    for q in JAVANESE {
        if let Some(c) = b.push(
            6,
            "javanese_one_word",
            "person",
            "latin",
            Expect::Approve,
            (*q).into(),
            None,
        ) {
            c.entity_type = Some(EntityType::Person);
        }
    }
    for q in ARABIC_DERIVED {
        if let Some(c) = b.push(
            6,
            "arabic_derived",
            "person",
            "latin",
            Expect::Approve,
            (*q).into(),
            None,
        ) {
            c.entity_type = Some(EntityType::Person);
        }
    }
    for q in BANKS {
        if let Some(c) = b.push(
            6,
            "indonesian_bank",
            "company",
            "latin",
            Expect::Approve,
            (*q).into(),
            None,
        ) {
            c.entity_type = Some(EntityType::Organisation);
        }
    }
    let common_given: Vec<_> = persons
        .iter()
        .filter(|(_, w)| {
            w.len() >= 2
                && [
                    "muhammad", "mohammed", "mohammad", "mohamed", "ahmad", "ahmed",
                ]
                .contains(&w[0].to_lowercase().as_str())
        })
        .cloned()
        .collect();
    for (e, w) in spread(&common_given, 25) {
        let g = w[0].to_lowercase();
        let other = if g.starts_with('a') {
            "Achmad"
        } else {
            "Muhamad"
        };
        let q = format!("{other} {}", titled(&w[1..]));
        pos!(6, "common_given_variant", e, &w, "latin", Expect::Block, q);
    }

    // 7. Obfuscation, for persons, organisations and vessels.
    let mixed: Vec<_> = spread(&persons, 40)
        .into_iter()
        .chain(spread(&orgs, 24))
        .chain(spread(&vessels, 16))
        .filter(|(_, w)| w.iter().map(String::len).sum::<usize>() >= 6 && w.len() <= 4)
        .collect();
    for (k, (e, w)) in mixed.iter().enumerate() {
        let how = OBFUSCATIONS[k % OBFUSCATIONS.len()];
        let q = obfuscate(how, w, &mut rng);
        pos!(7, how, e, w, "latin", Expect::Block, q);
    }
    for k in 0..32 {
        let how = OBFUSCATIONS[k % OBFUSCATIONS.len()];
        let w = vec![
            rng.pick(ID_GIVEN).to_string(),
            rng.pick(ID_SURNAME).to_string(),
        ];
        let q = obfuscate(how, &w, &mut rng);
        let tag = format!("{how}_indonesian");
        b.push(7, &tag, "person", "latin", Expect::Approve, q, None);
    }

    // 8. Secondary evidence.
    let documented: Vec<_> = persons
        .iter()
        .chain(vessels.iter())
        .filter(|(e, _)| e.identifiers.iter().any(|i| i.value.len() >= 6))
        .cloned()
        .collect();
    for (e, w) in spread(&documented, 20) {
        let Some(Identifier { value, .. }) = e.identifiers.iter().find(|i| i.value.len() >= 6)
        else {
            continue;
        };
        // A partial name (a token dropped or misspelt) plus the listed document number.
        let q = if w.len() >= 3 {
            titled(&[w[0].clone(), w[w.len() - 1].clone()])
        } else {
            let mut t = w.clone();
            let i = (0..t.len()).max_by_key(|&i| t[i].len()).unwrap_or(0);
            t[i] = typo(&t[i], &mut rng);
            t[i] = typo(&t[i], &mut rng);
            titled(&t)
        };
        let value = value.clone();
        if let Some(c) = pos!(8, "identifier_matches", e, &w, "latin", Expect::Block, q) {
            c.identifier = Some(value);
        }
    }
    let dated: Vec<_> = persons
        .iter()
        .filter(|(e, _)| {
            e.dates_of_birth
                .iter()
                .any(|d| d.day.is_some() && d.year_to.is_none())
        })
        .cloned()
        .collect();
    for (k, (e, w)) in spread(&dated, 45).iter().enumerate() {
        let Some(d) = e.dates_of_birth.first() else {
            continue;
        };
        let other = format!(
            "{:04}-{:02}-{:02}",
            d.year.saturating_sub(17),
            1 + (k % 12),
            1 + (k % 28)
        );
        if k % 3 == 2 && w.len() >= 3 {
            let q = titled(&[w[0].clone(), w[w.len() - 1].clone()]);
            if let Some(c) = pos!(
                8,
                "partial_name_dob_conflict",
                e,
                w,
                "latin",
                Expect::Review,
                q
            ) {
                c.dob = Some(other);
            }
        } else if let Some(c) = pos!(
            8,
            "exact_name_dob_conflict",
            e,
            w,
            "latin",
            Expect::Review,
            titled(w)
        ) {
            c.dob = Some(other);
        }
    }
    for (e, w) in spread(&vessels, 10) {
        if let Some(c) = pos!(
            8,
            "entity_type_conflict",
            e,
            &w,
            "latin",
            Expect::Review,
            titled(&w)
        ) {
            c.entity_type = Some(EntityType::Person);
        }
    }
    b.cases
}

/// Counts at one threshold.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    fn add(&mut self, positive: bool, fired: bool) {
        match (positive, fired) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }
}

/// One case's outcome: the score of its target (or the best score when it has none).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub score: u8,
    /// Best other entry: (score, source, entry id).
    pub best_other: Option<(u8, ListSource, String)>,
}

pub fn run(screener: &Screener, c: &Case) -> Outcome {
    let res = screener.search(&c.query()).unwrap_or_default();
    match &c.target {
        Some((s, id)) => Outcome {
            score: res
                .iter()
                .filter(|m| &m.source == s && &m.entry_id == id)
                .map(|m| m.score)
                .max()
                .unwrap_or(0),
            best_other: res
                .iter()
                .find(|m| !(&m.source == s && &m.entry_id == id))
                .map(|m| (m.score, m.source.clone(), m.entry_id.clone())),
        },
        None => Outcome {
            score: res.first().map_or(0, |m| m.score),
            best_other: res
                .first()
                .map(|m| (m.score, m.source.clone(), m.entry_id.clone())),
        },
    }
}

/// Review and block counts per group.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Per class (index into [`CLASSES`]).
    pub classes: BTreeMap<usize, (Counts, Counts)>,
    /// Latin-script cases of every class.
    pub latin: (Counts, Counts),
    /// Every case.
    pub all: (Counts, Counts),
    /// Common-name negatives (class 6, expected approve) that reach block.
    pub common_blocked: usize,
    pub common_total: usize,
    /// (case id, score) of every case whose decision differs from its expectation.
    pub wrong: Vec<(String, u8)>,
}

pub fn evaluate(screener: &Screener, cases: &[Case]) -> Report {
    let mut r = Report::default();
    for c in cases {
        let o = run(screener, c);
        let review = o.score >= REVIEW_THRESHOLD;
        let block = o.score > BLOCK_THRESHOLD;
        let pos_review = c.expect != Expect::Approve;
        let pos_block = c.expect == Expect::Block;
        let add = |g: &mut (Counts, Counts)| {
            g.0.add(pos_review, review);
            g.1.add(pos_block, block);
        };
        add(r.classes.entry(c.class).or_default());
        add(&mut r.all);
        if c.script == "latin" {
            add(&mut r.latin);
        }
        if c.class == 6 && c.expect == Expect::Approve {
            r.common_total += 1;
            if block {
                r.common_blocked += 1;
            }
        }
        let got = if block {
            Expect::Block
        } else if review {
            Expect::Review
        } else {
            Expect::Approve
        };
        if got != c.expect {
            r.wrong.push((c.id.clone(), o.score));
        }
    }
    r
}
