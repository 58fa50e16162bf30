//! Deterministic evaluation-set generator and scorer.
//!
//! Positives are variants of names of listed entries (typos, reordered tokens, dropped middle
//! names, Cyrillic transliteration, Indonesian/Arabic spelling variants, case/punctuation/legal
//! form noise). Negatives are synthetic names built from common Indonesian, Western, Chinese and
//! business-name pools; a negative whose normalised tokens equal a listed name is discarded (it
//! would be a true hit).
#![allow(dead_code)]

use std::collections::HashSet;

use benteng_screening::{
    BLOCK_THRESHOLD, EntityType, Entry, ListSource, Query, REVIEW_THRESHOLD, SanctionsList,
    Screener, normalize_name,
};

/// One evaluation case.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub positive: bool,
    pub variant: String,
    pub query: String,
    pub expected: Option<(ListSource, String)>,
}

/// splitmix64: tiny deterministic PRNG.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const VARIANTS: &[&[&str]] = &[
    &[
        "muhammad", "mohamed", "mohammad", "mohammed", "muhamad", "mohd",
    ],
    &["ahmad", "ahmed", "achmad"],
    &["abdul", "abd al", "abdel"],
    &["nur", "noor", "nour"],
    &["husain", "hussein", "hussain", "husein"],
    &["hasan", "hassan"],
    &["yusuf", "yousef", "youssef", "jusuf"],
    &["usama", "osama"],
    &["umar", "omar"],
    &["ibrahim", "ebrahim"],
    &["abu", "abou"],
    &["bin", "ibn", "ben"],
    &["said", "saeed", "sayed"],
    &["khalid", "khaled"],
    &["mahmud", "mahmoud"],
    &["mustafa", "mostafa", "moustafa"],
    &["sulaiman", "suleiman", "sulayman"],
];

/// Indonesian / Arabic spelling variant of one token, if a rule applies.
fn spelling_variant(tok: &str, rng: &mut Rng) -> Option<String> {
    let lower = tok.to_lowercase();
    for group in VARIANTS {
        if group.contains(&lower.as_str()) {
            let others: Vec<&&str> = group.iter().filter(|v| **v != lower).collect();
            return Some((**rng.pick(&others)).to_string());
        }
    }
    // Old Indonesian spelling and common transliteration alternations.
    let rules: &[(&str, &str)] = &[
        ("sy", "s"),
        ("kh", "h"),
        ("u", "oe"),
        ("j", "dj"),
        ("c", "tj"),
        ("ee", "i"),
        ("ou", "u"),
        ("oo", "u"),
        ("i", "ee"),
    ];
    for (from, to) in rules {
        if lower.len() >= 4 && lower[1..].contains(from) {
            return Some(format!(
                "{}{}",
                &lower[..1],
                lower[1..].replacen(from, to, 1)
            ));
        }
    }
    if lower.starts_with('s') && lower.len() >= 4 && !lower.starts_with("sy") {
        return Some(format!("sy{}", &lower[1..]));
    }
    None
}

pub fn cyrillic(s: &str) -> String {
    let lower = s.to_lowercase();
    let b: Vec<char> = lower.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let two: String = b[i..(i + 2).min(b.len())].iter().collect();
        let m2 = match two.as_str() {
            "sh" => Some("ш"),
            "ch" => Some("ч"),
            "kh" => Some("х"),
            "zh" => Some("ж"),
            "ya" => Some("я"),
            "yu" => Some("ю"),
            _ => None,
        };
        if let Some(m) = m2 {
            out.push_str(m);
            i += 2;
            continue;
        }
        let m = match b[i] {
            'a' => "а",
            'b' => "б",
            'v' | 'w' => "в",
            'g' => "г",
            'd' => "д",
            'e' => "е",
            'z' => "з",
            'i' => "и",
            'y' => "й",
            'k' | 'q' => "к",
            'l' => "л",
            'm' => "м",
            'n' => "н",
            'o' => "о",
            'p' => "п",
            'r' => "р",
            's' => "с",
            't' => "т",
            'u' => "у",
            'f' => "ф",
            'h' => "х",
            'c' if matches!(b.get(i + 1), Some('e' | 'i' | 'y')) => "с",
            'c' => "к",
            'j' => "дж",
            'x' => "кс",
            ' ' => " ",
            _ => "",
        };
        out.push_str(m);
        i += 1;
    }
    out
}

pub fn typo(tok: &str, rng: &mut Rng) -> String {
    let mut c: Vec<char> = tok.chars().collect();
    if c.len() < 4 {
        return tok.to_string();
    }
    let i = 1 + rng.below(c.len() - 2);
    match rng.below(4) {
        0 => {
            c.remove(i);
        }
        1 => c.swap(i, i + 1),
        2 => c[i] = (b'a' + rng.below(26) as u8) as char,
        _ => c.insert(i, c[i]),
    }
    c.into_iter().collect()
}

/// Words of a name in reading order ("SURNAME, Given" reordered), punctuation removed.
pub fn words(name: &str) -> Vec<String> {
    let reordered = match name.split_once(',') {
        Some((a, b)) if !b.contains(',') => format!("{} {}", b.trim(), a.trim()),
        _ => name.to_string(),
    };
    reordered
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn title(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Generate the variants of one entry (at most one of each kind that applies).
fn variants_of(e: &Entry, rng: &mut Rng) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let w = words(&e.name);
    if w.is_empty() || w.iter().all(|x| x.chars().count() <= 2) {
        return out;
    }
    let ascii = w.iter().all(|x| x.is_ascii());
    // Reordered tokens (surname first, no comma) in mixed case.
    if w.len() >= 2 {
        let mut r = w.clone();
        r.rotate_right(1);
        out.push((
            "reordered".into(),
            r.iter().map(|x| title(x)).collect::<Vec<_>>().join(" "),
        ));
    }
    // One typo in the longest token.
    if ascii {
        let mut t = w.clone();
        if let Some((i, _)) = t
            .iter()
            .enumerate()
            .filter(|(_, x)| x.len() >= 5)
            .max_by_key(|(i, x)| (x.len(), *i))
        {
            t[i] = typo(&t[i], rng);
            out.push(("typo".into(), t.join(" ")));
        }
    }
    // Two typos for long names.
    if ascii && w.len() >= 2 {
        let mut t = w.clone();
        let long: Vec<usize> = (0..t.len()).filter(|&i| t[i].len() >= 6).collect();
        if long.len() >= 2 {
            let (a, b) = (long[0], long[long.len() - 1]);
            t[a] = typo(&t[a], rng);
            t[b] = typo(&t[b], rng);
            out.push(("two_typos".into(), t.join(" ")));
        }
    }
    // Dropped middle name(s) for persons with 3+ tokens.
    if e.entity_type == EntityType::Person && w.len() >= 3 {
        let d = [w[0].clone(), w[w.len() - 1].clone()];
        out.push(("dropped_middle".into(), d.join(" ")));
    }
    // Cyrillic transliteration of a Latin person name.
    if ascii && e.entity_type == EntityType::Person {
        out.push(("cyrillic".into(), title(&cyrillic(&w.join(" ")))));
    }
    // Indonesian / Arabic spelling variant in one token.
    if ascii {
        let mut t = w.clone();
        let mut done = false;
        for tok in t.iter_mut() {
            if let Some(v) = spelling_variant(tok, rng) {
                *tok = v;
                done = true;
                break;
            }
        }
        if done {
            out.push(("spelling_variant".into(), t.join(" ")));
        }
    }
    // Organisations: lower case, punctuation stripped, Indonesian legal form added.
    if e.entity_type == EntityType::Organisation && w.len() >= 2 {
        out.push((
            "legal_form_noise".into(),
            format!("PT {} Tbk", w.join(" ").to_lowercase()),
        ));
    }
    out
}

const ID_GIVEN: &[&str] = &[
    "Budi", "Siti", "Agus", "Dewi", "Sri", "Wahyu", "Putri", "Rina", "Joko", "Andi", "Rudi",
    "Yuliana", "Eko", "Bambang", "Indah", "Fitri", "Hendra", "Lestari", "Yohanes", "Maria",
    "Kadek", "Wayan", "Ketut", "Nyoman", "Ratna", "Slamet", "Tri", "Dian", "Rizky", "Ayu", "Bayu",
    "Gita", "Lukas", "Stefanus", "Yosef", "Anisa",
];
const ID_FAMILY: &[&str] = &[
    "Santoso",
    "Wijaya",
    "Susanto",
    "Hartono",
    "Kusuma",
    "Pratama",
    "Setiawan",
    "Nugroho",
    "Saputra",
    "Gunawan",
    "Halim",
    "Tanoto",
    "Sinaga",
    "Simanjuntak",
    "Siregar",
    "Nasution",
    "Lubis",
    "Pangaribuan",
    "Manurung",
    "Wibowo",
    "Purnomo",
    "Hidayat",
    "Kurniawan",
    "Suryadi",
    "Tanjung",
    "Harahap",
    "Sitompul",
    "Tambunan",
];
const WEST_GIVEN: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "William",
    "Linda",
    "David",
    "Elizabeth",
    "Thomas",
    "Susan",
    "Charles",
    "Jessica",
    "Daniel",
    "Sarah",
    "Matthew",
    "Karen",
    "Emma",
    "Oliver",
    "Sophie",
    "Lucas",
    "Hannah",
    "Felix",
    "Clara",
    "Pierre",
    "Giulia",
    "Lars",
    "Ingrid",
    "Sean",
];
const WEST_FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Schneider",
    "Fischer",
    "Weber",
    "Dubois",
    "Moreau",
    "Rossi",
    "Bianchi",
    "Jensen",
    "Nielsen",
    "O'Connor",
];
const CN_FAMILY: &[&str] = &[
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Tan", "Lim",
    "Goh",
];
const CN_GIVEN: &[&str] = &[
    "Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Hui", "Qiang", "Xiu Ying", "Jian Guo", "Mei Ling",
    "Hong",
];
const BIZ: &[&str] = &[
    "Maju",
    "Jaya",
    "Sentosa",
    "Abadi",
    "Makmur",
    "Sejahtera",
    "Mandiri",
    "Nusantara",
    "Sinar",
    "Mas",
    "Karya",
    "Utama",
    "Bersama",
    "Sukses",
    "Cahaya",
    "Indah",
    "Lestari",
    "Prima",
    "Global",
    "Teknologi",
    "Logistik",
    "Niaga",
    "Pangan",
    "Agro",
    "Energi",
    "Digital",
    "Solusi",
    "Kreasi",
];

fn negative(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 | 1 => format!("{} {}", rng.pick(ID_GIVEN), rng.pick(ID_FAMILY)),
        2 => format!(
            "{} {} {}",
            rng.pick(ID_GIVEN),
            rng.pick(ID_GIVEN),
            rng.pick(ID_FAMILY)
        ),
        3 => format!("{} {}", rng.pick(WEST_GIVEN), rng.pick(WEST_FAMILY)),
        4 => format!("{} {}", rng.pick(CN_FAMILY), rng.pick(CN_GIVEN)),
        _ => format!("PT {} {} {}", rng.pick(BIZ), rng.pick(BIZ), rng.pick(BIZ)),
    }
}

fn token_set(name: &str) -> Vec<String> {
    let mut t = normalize_name(name).canonical;
    t.sort();
    t.dedup();
    t
}

/// Generate cases from `lists`: `per_list` sampled entries per list (every k-th entry, so the
/// sample is spread over the file), all their applicable variants, and `negatives` negatives.
pub fn generate(
    lists: &[&SanctionsList],
    per_list: usize,
    negatives: usize,
    seed: u64,
) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::new();
    let mut listed: HashSet<Vec<String>> = HashSet::new();
    for l in lists {
        for e in &l.entries {
            for n in e.all_names() {
                listed.insert(token_set(n));
            }
        }
    }
    for l in lists {
        let step = (l.entries.len() / per_list.max(1)).max(1);
        for e in l.entries.iter().step_by(step).take(per_list) {
            for (variant, query) in variants_of(e, &mut rng) {
                if normalize_name(&query).tokens.is_empty() {
                    continue;
                }
                cases.push(Case {
                    id: format!("p{:05}", cases.len()),
                    positive: true,
                    variant,
                    query,
                    expected: Some((l.source.clone(), e.id.clone())),
                });
            }
        }
    }
    let mut seen = HashSet::new();
    let mut made = 0;
    let mut guard = 0;
    while made < negatives && guard < negatives * 20 {
        guard += 1;
        let q = negative(&mut rng);
        if !seen.insert(q.clone()) || listed.contains(&token_set(&q)) {
            continue;
        }
        cases.push(Case {
            id: format!("n{made:05}"),
            positive: false,
            variant: "negative".into(),
            query: q,
            expected: None,
        });
        made += 1;
    }
    cases
}

/// Tab-separated file: `id  kind  variant  query  expected_source  expected_id`.
pub fn to_tsv(cases: &[Case]) -> String {
    let mut s = String::from("id\tkind\tvariant\tquery\texpected_source\texpected_id\n");
    for c in cases {
        let (src, id) = match &c.expected {
            Some((s, i)) => (s.to_string(), i.clone()),
            None => (String::new(), String::new()),
        };
        let q = c.query.replace(['\t', '\n'], " ");
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            c.id,
            if c.positive { "pos" } else { "neg" },
            c.variant,
            q,
            src,
            id
        ));
    }
    s
}

pub fn from_tsv(text: &str) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 6 {
            return Err(format!("line {}: {} fields", n + 1, f.len()));
        }
        let positive = f[1] == "pos";
        let expected = if positive {
            Some((
                f[4].parse::<ListSource>().map_err(|e| e.to_string())?,
                f[5].to_string(),
            ))
        } else {
            None
        };
        out.push(Case {
            id: f[0].into(),
            positive,
            variant: f[2].into(),
            query: f[3].into(),
            expected,
        });
    }
    Ok(out)
}

/// Precision/recall at one threshold.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pr {
    pub tp: usize,
    pub fp: usize,
    pub positives: usize,
}
impl Pr {
    pub fn recall(&self) -> f64 {
        if self.positives == 0 {
            1.0
        } else {
            self.tp as f64 / self.positives as f64
        }
    }
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
}

/// Evaluation result.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub review: Pr,
    pub block: Pr,
    pub negatives: usize,
    /// (variant, positives, recall@review hits, recall@block hits)
    pub by_variant: Vec<(String, usize, usize, usize)>,
    /// Case ids missed at review (positives) or flagged at block (negatives).
    pub misses: Vec<String>,
}

fn meets(score: u8, t: u8, block: bool) -> bool {
    if block { score > t } else { score >= t }
}

/// Run every case through the screener. A positive counts as a true positive at a threshold
/// when its expected entry is among the results at or above the threshold; a query whose top
/// result meets the threshold without the expected entry (or any negative that does) is a
/// false positive.
pub fn evaluate(screener: &Screener, cases: &[Case]) -> Report {
    let mut r = Report::default();
    let mut by: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    for c in cases {
        let mut q = Query::new(c.query.clone());
        q.min_score = 0;
        q.limit = 10;
        let res = screener.search(&q).unwrap_or_default();
        let top = res.first().map_or(0, |m| m.score);
        for (pr, t, block) in [
            (&mut r.review, REVIEW_THRESHOLD, false),
            (&mut r.block, BLOCK_THRESHOLD, true),
        ] {
            let hit = c.expected.as_ref().is_some_and(|(s, id)| {
                res.iter()
                    .any(|m| &m.source == s && &m.entry_id == id && meets(m.score, t, block))
            });
            if c.positive {
                pr.positives += 1;
            }
            if hit {
                pr.tp += 1;
            } else if meets(top, t, block) {
                pr.fp += 1;
            }
        }
        if c.positive {
            let e = by.entry(c.variant.clone()).or_default();
            e.0 += 1;
            let (s, id) = c
                .expected
                .clone()
                .unwrap_or((ListSource::Un, String::new()));
            let best = res
                .iter()
                .filter(|m| m.source == s && m.entry_id == id)
                .map(|m| m.score)
                .max()
                .unwrap_or(0);
            if best >= REVIEW_THRESHOLD {
                e.1 += 1;
            } else {
                r.misses.push(c.id.clone());
            }
            if best > BLOCK_THRESHOLD {
                e.2 += 1;
            }
        } else {
            r.negatives += 1;
            if top > BLOCK_THRESHOLD {
                r.misses.push(c.id.clone());
            }
        }
    }
    r.by_variant = by.into_iter().map(|(k, (n, a, b))| (k, n, a, b)).collect();
    r
}
