//! The monitoring rules file: TOML, read into a validated [`RuleSet`]. A file with an unknown
//! rule or field, a negative score, bands out of order or invalid TOML is refused with the line
//! it is on, and whoever reloads keeps the rules already in force.
//!
//! The default rules (the spec's four, with its scores) are compiled in from
//! `data/monitoring-rules.toml`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Range;

use benteng_core::country::CountryCode;
use benteng_core::payments::compliance::{ComplianceDecision, Verdict};
use benteng_core::payments::monitoring::{
    Aggregates, Bands, Check, Corridor, Facts, Rule, RuleInfo, RuleSet, RuleSetError, UsdBand,
    UsdCents,
};
use benteng_store::MonitoringRow;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use toml::Spanned;

/// The rules benteng runs with when no rules file is configured.
pub const DEFAULT_RULES: &str = include_str!("../data/monitoring-rules.toml");

/// Why a rules file was refused: the line (1-based) when one is known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct RulesFileError {
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    bands: Spanned<RawBands>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBands {
    review_from: i64,
    block_from: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    version: i64,
    description: String,
    check: String,
    score: i64,
    window_hours: Option<i64>,
    over_usd: Option<String>,
    band_usd: Option<[String; 2]>,
    min_count: Option<i64>,
    countries: Option<Vec<String>>,
}

/// Reads a rules file. The rule set's version is a digest of the text, so every decision
/// names exactly the rules that made it.
pub fn parse_rules(text: &str) -> Result<RuleSet, RulesFileError> {
    let file: RulesFile = toml::from_str(text).map_err(|error| RulesFileError {
        line: error.span().map(|span| line_of(text, span.start)),
        message: error.message().to_owned(),
    })?;
    let at = |span: Range<usize>, message: String| RulesFileError {
        line: Some(line_of(text, span.start)),
        message,
    };
    let bands_span = file.bands.span();
    let raw = file.bands.into_inner();
    let bands = match (u8::try_from(raw.review_from), u8::try_from(raw.block_from)) {
        (Ok(review), Ok(block)) => Bands::new(review, block).ok(),
        _ => None,
    }
    .ok_or_else(|| {
        at(
            bands_span.clone(),
            "bands: need 0 < review_from < block_from ≤ 100 (approve below review_from, \
             review up to block_from − 1, block from block_from)"
                .to_owned(),
        )
    })?;
    let mut rules = Vec::with_capacity(file.rules.len());
    for spanned in file.rules {
        let span = spanned.span();
        let rule = rule(spanned.into_inner()).map_err(|message| at(span.clone(), message))?;
        rules.push((span, rule));
    }
    let spans: Vec<_> = rules.iter().map(|(span, _)| span.clone()).collect();
    let rules: Vec<Rule> = rules.into_iter().map(|(_, rule)| rule).collect();
    let version = hex::encode(&Sha256::digest(text.as_bytes())[..6]);
    RuleSet::new(rules.clone(), bands, version).map_err(|error| {
        // Point at the rule the error is about: the later of two duplicates.
        let culprit = match &error {
            RuleSetError::DuplicateId(id) | RuleSetError::Rule { id, .. } => {
                rules.iter().rposition(|rule| &rule.info.id == id)
            }
            RuleSetError::DuplicateCheck(kind) => {
                rules.iter().rposition(|rule| rule.check.kind() == *kind)
            }
            RuleSetError::Bands => None,
        };
        RulesFileError {
            line: Some(culprit.map_or(line_of(text, bands_span.start), |index| {
                line_of(text, spans[index].start)
            })),
            message: error.to_string(),
        }
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

fn rule(raw: RawRule) -> Result<Rule, String> {
    let id = raw.id.trim().to_owned();
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err("a rule id is 1–64 characters of a–z, 0–9, _ and -".to_owned());
    }
    let problem = |message: &str| format!("rule {id:?}: {message}");
    let version = u32::try_from(raw.version)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| problem("version must be a positive integer"))?;
    let score = u8::try_from(raw.score)
        .ok()
        .filter(|s| *s <= 100)
        .ok_or_else(|| problem("score must be 0 to 100"))?;
    if raw.description.trim().is_empty() {
        return Err(problem("the description is empty"));
    }
    let window = || -> Result<time::Duration, String> {
        let hours = raw
            .window_hours
            .ok_or_else(|| problem("window_hours is required"))?;
        if !(1..=720).contains(&hours) {
            return Err(problem("window_hours must be 1 to 720 (30 days)"));
        }
        Ok(time::Duration::hours(hours))
    };
    let allowed: &[&str] = match raw.check.as_str() {
        "velocity" => &["window_hours", "over_usd"],
        "structuring" => &["window_hours", "band_usd", "min_count"],
        "high_risk_country" => &["countries"],
        "first_corridor" => &[],
        other => {
            return Err(problem(&format!(
                "unknown check {:?}: expected velocity, structuring, high_risk_country or \
                 first_corridor",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    let present = [
        ("window_hours", raw.window_hours.is_some()),
        ("over_usd", raw.over_usd.is_some()),
        ("band_usd", raw.band_usd.is_some()),
        ("min_count", raw.min_count.is_some()),
        ("countries", raw.countries.is_some()),
    ];
    if let Some((field, _)) = present
        .iter()
        .find(|(field, set)| *set && !allowed.contains(field))
    {
        return Err(problem(&format!(
            "{field} does not apply to a {} check",
            raw.check
        )));
    }
    let check = match raw.check.as_str() {
        "velocity" => Check::Velocity {
            window: window()?,
            over: usd(raw.over_usd.as_deref(), "over_usd").map_err(|m| problem(&m))?,
        },
        "structuring" => {
            let [low, high] = raw
                .band_usd
                .as_ref()
                .ok_or_else(|| problem("band_usd is required"))?;
            Check::Structuring {
                window: window()?,
                band: UsdBand {
                    low: usd(Some(low), "band_usd").map_err(|m| problem(&m))?,
                    high: usd(Some(high), "band_usd").map_err(|m| problem(&m))?,
                },
                min_count: raw
                    .min_count
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| problem("min_count must be a positive integer"))?,
            }
        }
        "high_risk_country" => {
            let mut countries = BTreeSet::new();
            for code in raw.countries.as_deref().unwrap_or_default() {
                let country = CountryCode::parse(code).map_err(|e| {
                    problem(&format!(
                        "{:?} {e}",
                        code.chars().take(8).collect::<String>()
                    ))
                })?;
                countries.insert(country);
            }
            Check::HighRiskCountry { countries }
        }
        _ => Check::FirstCorridor,
    };
    Ok(Rule {
        info: RuleInfo {
            id,
            version,
            description: raw.description.trim().to_owned(),
            score,
        },
        check,
    })
}

/// A US-dollar amount written as a decimal string with at most two decimals, in cents.
fn usd(text: Option<&str>, field: &str) -> Result<UsdCents, String> {
    let text = text.ok_or_else(|| format!("{field} is required"))?;
    let invalid = || format!("{field}: {text:?} is not a dollar amount like \"9999.99\"");
    let (whole, cents) = match text.split_once('.') {
        Some((whole, cents)) if (1..=2).contains(&cents.len()) => (whole, cents),
        Some(_) => return Err(invalid()),
        None => (text, "0"),
    };
    if whole.is_empty()
        || whole.len() > 12
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !cents.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| invalid())?;
    Ok(whole * 100 + cents)
}

/// A candidate rule set run over past decisions, oldest first, with the history each tenant
/// would have had under it (a transfer the candidate blocks moves no money, so it counts in no
/// later window). Reads only: nothing it computes is written.
pub struct Replay {
    rules: RuleSet,
    tenants: HashMap<(String, &'static str), TenantHistory>,
    seen: u64,
    changes: BTreeMap<(&'static str, &'static str), u64>,
    examples: Vec<String>,
}

#[derive(Default)]
struct TenantHistory {
    /// (time, US cents, near the structuring threshold), oldest first, pruned to the windows.
    recent: VecDeque<(OffsetDateTime, UsdCents, bool)>,
    corridors: BTreeSet<(String, String)>,
}

/// How many changed transfers a report names.
const REPLAY_EXAMPLES: usize = 20;

impl Replay {
    pub fn new(rules: RuleSet) -> Self {
        Self {
            rules,
            tenants: HashMap::new(),
            seen: 0,
            changes: BTreeMap::new(),
            examples: Vec::new(),
        }
    }

    /// Scores one past decision under the candidate rules.
    pub fn observe(&mut self, row: &MonitoringRow) {
        self.seen += 1;
        let lookback = self.rules.lookback();
        let longest = [lookback.velocity, lookback.structuring]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(time::Duration::ZERO);
        let history = self
            .tenants
            .entry((row.tenant.to_string(), row.environment.as_str()))
            .or_default();
        while history
            .recent
            .front()
            .is_some_and(|(at, _, _)| *at < row.created_at - longest)
        {
            history.recent.pop_front();
        }
        let within = |window: Option<time::Duration>| {
            let window = window.unwrap_or(time::Duration::ZERO);
            history
                .recent
                .iter()
                .filter(move |(at, _, _)| *at >= row.created_at - window)
        };
        let (Ok(country), Ok(currency)) = (
            CountryCode::parse(&row.country),
            benteng_core::currency::Currency::parse(&row.currency),
        ) else {
            return;
        };
        let corridor = (row.country.clone(), row.currency.clone());
        let facts = Facts {
            amount: row.amount_usd_cents,
            recipient_country: country,
            bank_country: row
                .bank_country
                .as_deref()
                .and_then(|c| CountryCode::parse(c).ok()),
            corridor: Corridor { country, currency },
            aggregates: Aggregates {
                velocity_sum: within(lookback.velocity).map(|(_, usd, _)| usd).sum(),
                near_threshold: u32::try_from(
                    within(lookback.structuring)
                        .filter(|(_, _, near)| *near)
                        .count(),
                )
                .unwrap_or(u32::MAX),
                volume_30d: 0,
                corridor_seen: history.corridors.contains(&corridor),
                kyc: Default::default(),
            },
        };
        let screening = ComplianceDecision {
            verdict: row.screening_verdict,
            risk_score: row.screening_score,
            reasons: Vec::new(),
            screenings: Vec::new(),
            monitoring: None,
        };
        let decision = self.rules.decide(screening, self.rules.evaluate(&facts));
        if decision.verdict != Verdict::Block {
            let near = self.rules.near_threshold(row.amount_usd_cents);
            history
                .recent
                .push_back((row.created_at, row.amount_usd_cents, near));
            history.corridors.insert(corridor);
        }
        if decision.verdict != row.verdict {
            *self
                .changes
                .entry((row.verdict.as_str(), decision.verdict.as_str()))
                .or_default() += 1;
            if self.examples.len() < REPLAY_EXAMPLES {
                self.examples.push(format!(
                    "{}  {} -> {}  (score {} -> {})",
                    row.transfer,
                    row.verdict.as_str(),
                    decision.verdict.as_str(),
                    row.risk_score,
                    decision.risk_score
                ));
            }
        }
    }

    /// How many verdicts the candidate would change: the totals, per change, and examples.
    pub fn report(&self) -> String {
        let changed: u64 = self.changes.values().sum();
        let mut out = format!(
            "replayed {} transfers under rule set {}: {} verdicts would change\n",
            self.seen,
            self.rules.version(),
            changed
        );
        for ((from, to), count) in &self.changes {
            out.push_str(&format!("  {from:<8} -> {to:<8} {count}\n"));
        }
        for example in &self.examples {
            out.push_str(&format!("  e.g. {example}\n"));
        }
        out
    }

    /// The number of changed verdicts.
    pub fn changed(&self) -> u64 {
        self.changes.values().sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_default_rules_are_the_specs_four() {
        let rules = parse_rules(DEFAULT_RULES).expect("default rules");
        let ids: Vec<_> = rules.rules().iter().map(|r| r.info.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "velocity",
                "structuring",
                "high_risk_country",
                "first_corridor"
            ]
        );
        let scores: Vec<_> = rules.rules().iter().map(|r| r.info.score).collect();
        assert_eq!(scores, [60, 85, 50, 30]);
        assert_eq!(rules.bands(), Bands::SPEC);
        assert!(rules.near_threshold(990_000));
        assert!(!rules.near_threshold(1_000_000));
        assert_eq!(rules.version().len(), 12);
    }

    fn refused(text: &str) -> RulesFileError {
        parse_rules(text).expect_err("refused")
    }

    const BANDS: &str = "[bands]\nreview_from = 50\nblock_from = 81\n";

    #[test]
    fn a_broken_file_is_refused_naming_the_line() {
        let unknown = refused(&format!(
            "{BANDS}\n[[rules]]\nid = \"x\"\nversion = 1\ndescription = \"d\"\n\
             check = \"moon_phase\"\nscore = 10\n"
        ));
        assert_eq!(unknown.line, Some(5), "{unknown}");
        assert!(unknown.message.contains("unknown check"), "{unknown}");

        let negative = refused(&format!(
            "{BANDS}\n[[rules]]\nid = \"fc\"\nversion = 1\ndescription = \"d\"\n\
             check = \"first_corridor\"\nscore = -5\n"
        ));
        assert_eq!(negative.line, Some(5));
        assert!(negative.message.contains("score"), "{negative}");

        let bands = refused("# comment\n[bands]\nreview_from = 81\nblock_from = 50\n");
        assert_eq!(bands.line, Some(2), "{bands}");

        let toml = refused("[bands]\nreview_from = = 50\n");
        assert_eq!(toml.line, Some(2), "{toml}");

        let field = refused(&format!(
            "{BANDS}[[rules]]\nid = \"fc\"\nversion = 1\ndescription = \"d\"\n\
             check = \"first_corridor\"\nscore = 30\ncolour = \"red\"\n"
        ));
        assert!(field.message.contains("colour"), "{field}");
        assert_eq!(field.line, Some(10), "{field}");

        let inverted = refused(&format!(
            "{BANDS}[[rules]]\nid = \"s\"\nversion = 1\ndescription = \"d\"\n\
             check = \"structuring\"\nscore = 85\nwindow_hours = 24\n\
             band_usd = [\"9999\", \"9000\"]\nmin_count = 3\n"
        ));
        assert_eq!(inverted.line, Some(4), "{inverted}");
    }

    #[test]
    fn duplicates_and_misplaced_fields_are_refused() {
        let rule = |id: &str| {
            format!(
                "[[rules]]\nid = \"{id}\"\nversion = 1\ndescription = \"d\"\n\
                 check = \"first_corridor\"\nscore = 30\n"
            )
        };
        let twice = refused(&format!("{BANDS}{}{}", rule("a"), rule("a")));
        assert_eq!(twice.line, Some(10), "{twice}");
        let misplaced = refused(&format!(
            "{BANDS}[[rules]]\nid = \"v\"\nversion = 1\ndescription = \"d\"\n\
             check = \"velocity\"\nscore = 60\nwindow_hours = 24\nover_usd = \"1\"\n\
             min_count = 3\n"
        ));
        assert!(misplaced.message.contains("min_count"), "{misplaced}");
    }

    #[test]
    fn dollar_amounts_are_exact() {
        assert_eq!(usd(Some("9999.99"), "x"), Ok(999_999));
        assert_eq!(usd(Some("9999.9"), "x"), Ok(999_990));
        assert_eq!(usd(Some("50000"), "x"), Ok(5_000_000));
        for bad in ["", "1.", ".5", "1.234", "-1", "1e3", "１"] {
            assert!(usd(Some(bad), "x").is_err(), "{bad}");
        }
    }
}
