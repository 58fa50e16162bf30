//! Transaction monitoring: the rules every transfer is scored by after screening, in the same
//! decision. DECISIONS.md: the triggered rules' scores add up with screening's, capped at 100;
//! the bands turn the total into approve, review or block.
//!
//! Pure: the store supplies the tenant's rolling aggregates ([`Aggregates`], read and updated
//! in the transfer's own transaction), [`RuleSet::evaluate`] scores them and records every rule
//! with its inputs, and [`RuleSet::decide`] joins that with screening's decision.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::Duration;

use super::compliance::{ComplianceDecision, Verdict};
use crate::country::CountryCode;
use crate::currency::Currency;
use crate::kyc::KycStanding;

/// An amount in US cents: monitoring compares every amount in dollars, through the rate table
/// quotes use.
pub type UsdCents = i64;

/// What every rule carries: a stable id, a version bumped on each change, what it looks for,
/// and the score it adds when it hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub version: u32,
    pub description: String,
    pub score: u8,
}

/// An inclusive range of amounts, in US cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsdBand {
    pub low: UsdCents,
    pub high: UsdCents,
}

impl UsdBand {
    pub fn contains(&self, amount: UsdCents) -> bool {
        (self.low..=self.high).contains(&amount)
    }
}

/// What a rule looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// More than `over` sent within `window`, this transfer included.
    Velocity { window: Duration, over: UsdCents },
    /// `min_count` or more transfers with an amount in `band` within `window`, this one
    /// included (amounts kept just under a reporting threshold).
    Structuring {
        window: Duration,
        band: UsdBand,
        min_count: u32,
    },
    /// The recipient's country or its bank's is on the list.
    HighRiskCountry { countries: BTreeSet<CountryCode> },
    /// The tenant's first transfer to this country in this currency.
    FirstCorridor,
}

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Velocity { .. } => "velocity",
            Check::Structuring { .. } => "structuring",
            Check::HighRiskCountry { .. } => "high_risk_country",
            Check::FirstCorridor => "first_corridor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub info: RuleInfo,
    pub check: Check,
}

/// The verdict bands: scores below `review_from` approve, `review_from..block_from` review,
/// `block_from` and above block. The spec's: 50 and 81 (> 80 blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bands {
    review_from: u8,
    block_from: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleSetError {
    #[error("the bands must run 0 ≤ approve < review < block ≤ 100 without overlap or gap")]
    Bands,
    #[error("rule id {0:?} is used twice")]
    DuplicateId(String),
    #[error("a rule set holds at most one {0} rule")]
    DuplicateCheck(&'static str),
    #[error("rule {id:?}: {problem}")]
    Rule { id: String, problem: String },
}

impl Bands {
    pub const SPEC: Bands = Bands {
        review_from: 50,
        block_from: 81,
    };

    pub fn new(review_from: u8, block_from: u8) -> Result<Self, RuleSetError> {
        if review_from == 0 || review_from >= block_from || block_from > 100 {
            return Err(RuleSetError::Bands);
        }
        Ok(Self {
            review_from,
            block_from,
        })
    }

    pub fn review_from(&self) -> u8 {
        self.review_from
    }

    pub fn block_from(&self) -> u8 {
        self.block_from
    }

    pub fn verdict(&self, score: u8) -> Verdict {
        if score >= self.block_from {
            Verdict::Block
        } else if score >= self.review_from {
            Verdict::Review
        } else {
            Verdict::Approve
        }
    }
}

/// Where a transfer goes: the destination country and the currency paid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Corridor {
    pub country: CountryCode,
    pub currency: Currency,
}

/// What the store must sum for a rule set: the rolling windows it looks back over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookback {
    pub velocity: Option<Duration>,
    pub structuring: Option<Duration>,
}

/// The tenant's history as the rules need it, read in the transfer's transaction (so two
/// instances never both see the same "before"). Amounts exclude the transfer being decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Aggregates {
    /// Sent within the velocity window.
    pub velocity_sum: UsdCents,
    /// Transfers in the structuring band within the structuring window.
    pub near_threshold: u32,
    /// Sent within the last 30 days (the KYC ceiling's window).
    pub volume_30d: UsdCents,
    /// Whether the tenant has paid into this corridor before.
    pub corridor_seen: bool,
    /// The tenant's KYC level and verified items.
    pub kyc: KycStanding,
}

/// One transfer as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub amount: UsdCents,
    pub recipient_country: CountryCode,
    /// The country of the recipient's bank (an IBAN's prefix; Indonesia for local accounts).
    pub bank_country: Option<CountryCode>,
    pub corridor: Corridor,
    pub aggregates: Aggregates,
}

/// One rule as evaluated for one transfer: hit or not, the score it added, and the inputs it
/// looked at, so an analyst sees why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    pub id: String,
    pub version: u32,
    pub hit: bool,
    pub score: u8,
    pub inputs: serde_json::Value,
}

/// What monitoring adds to a transfer's decision: the rule set that scored it and each rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringRecord {
    /// The rule set's version (a digest of its source).
    pub rule_set: String,
    pub rules: Vec<RuleResult>,
}

/// The rules in force, validated: unique ids, at most one rule per check, bands in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
    bands: Bands,
    version: String,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>, bands: Bands, version: String) -> Result<Self, RuleSetError> {
        let mut ids = BTreeSet::new();
        let mut kinds = BTreeSet::new();
        for rule in &rules {
            if !ids.insert(rule.info.id.clone()) {
                return Err(RuleSetError::DuplicateId(rule.info.id.clone()));
            }
            if !kinds.insert(rule.check.kind()) {
                return Err(RuleSetError::DuplicateCheck(rule.check.kind()));
            }
            let problem = |problem: &str| RuleSetError::Rule {
                id: rule.info.id.clone(),
                problem: problem.to_owned(),
            };
            if rule.info.score > 100 {
                return Err(problem("a score is 0 to 100"));
            }
            match &rule.check {
                Check::Velocity { window, over } => {
                    if !window.is_positive() || *window > crate::kyc::VOLUME_WINDOW {
                        return Err(problem("the window must be positive and at most 30 days"));
                    }
                    if *over < 0 {
                        return Err(problem("the amount must not be negative"));
                    }
                }
                Check::Structuring {
                    window,
                    band,
                    min_count,
                } => {
                    if !window.is_positive() || *window > crate::kyc::VOLUME_WINDOW {
                        return Err(problem("the window must be positive and at most 30 days"));
                    }
                    if band.low <= 0 || band.low > band.high {
                        return Err(problem("the band must run from a positive low to a high"));
                    }
                    if *min_count < 2 {
                        return Err(problem("the count must be at least 2"));
                    }
                }
                Check::HighRiskCountry { countries } => {
                    if countries.is_empty() {
                        return Err(problem("the country list is empty"));
                    }
                }
                Check::FirstCorridor => {}
            }
        }
        Ok(Self {
            rules,
            bands,
            version,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn bands(&self) -> Bands {
        self.bands
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The windows the store must sum over.
    pub fn lookback(&self) -> Lookback {
        let mut lookback = Lookback {
            velocity: None,
            structuring: None,
        };
        for rule in &self.rules {
            match &rule.check {
                Check::Velocity { window, .. } => lookback.velocity = Some(*window),
                Check::Structuring { window, .. } => lookback.structuring = Some(*window),
                _ => {}
            }
        }
        lookback
    }

    /// Whether an amount counts as "near the threshold" for the structuring rule.
    pub fn near_threshold(&self, amount: UsdCents) -> bool {
        self.rules.iter().any(|rule| match &rule.check {
            Check::Structuring { band, .. } => band.contains(amount),
            _ => false,
        })
    }

    /// Every rule, hit or not, with its inputs.
    pub fn evaluate(&self, facts: &Facts) -> MonitoringRecord {
        let rules = self
            .rules
            .iter()
            .map(|rule| {
                let (hit, inputs) = evaluate(&rule.check, facts);
                RuleResult {
                    id: rule.info.id.clone(),
                    version: rule.info.version,
                    hit,
                    score: if hit { rule.info.score } else { 0 },
                    inputs,
                }
            })
            .collect();
        MonitoringRecord {
            rule_set: self.version.clone(),
            rules,
        }
    }

    /// The transfer's one decision: screening's score counts when screening alone would not
    /// approve (below that it is no match), the hit rules' scores add to it, capped at 100,
    /// and the bands decide; never milder than screening's own verdict.
    pub fn decide(
        &self,
        screening: ComplianceDecision,
        monitoring: MonitoringRecord,
    ) -> ComplianceDecision {
        let screening_part = match screening.verdict {
            Verdict::Approve => 0,
            Verdict::Review | Verdict::Block => u32::from(screening.risk_score),
        };
        let rules_part: u32 = monitoring.rules.iter().map(|r| u32::from(r.score)).sum();
        let score = u8::try_from((screening_part + rules_part).min(100)).unwrap_or(100);
        let verdict = screening.verdict.max(self.bands.verdict(score));
        let mut reasons = screening.reasons;
        reasons.extend(monitoring.rules.iter().filter(|rule| rule.hit).map(|rule| {
            format!(
                "monitoring rule {} v{} (+{})",
                rule.id, rule.version, rule.score
            )
        }));
        ComplianceDecision {
            verdict,
            risk_score: score,
            reasons,
            screenings: screening.screenings,
            monitoring: Some(monitoring),
        }
    }
}

fn dollars(cents: UsdCents) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

fn evaluate(check: &Check, facts: &Facts) -> (bool, serde_json::Value) {
    let history = &facts.aggregates;
    match check {
        Check::Velocity { window, over } => {
            let sum = history.velocity_sum.saturating_add(facts.amount);
            (
                sum > *over,
                serde_json::json!({
                    "window_hours": window.whole_hours(),
                    "sum_usd": dollars(sum),
                    "over_usd": dollars(*over),
                }),
            )
        }
        Check::Structuring {
            window,
            band,
            min_count,
        } => {
            let this = band.contains(facts.amount);
            let count = history.near_threshold.saturating_add(u32::from(this));
            (
                this && count >= *min_count,
                serde_json::json!({
                    "window_hours": window.whole_hours(),
                    "band_usd": [dollars(band.low), dollars(band.high)],
                    "amount_usd": dollars(facts.amount),
                    "count_in_band": count,
                    "min_count": min_count,
                }),
            )
        }
        Check::HighRiskCountry { countries } => {
            let recipient = countries.contains(&facts.recipient_country);
            let bank = facts
                .bank_country
                .is_some_and(|country| countries.contains(&country));
            (
                recipient || bank,
                serde_json::json!({
                    "recipient_country": facts.recipient_country.as_str(),
                    "bank_country": facts.bank_country.map(|c| c.as_str()),
                    "listed": recipient || bank,
                }),
            )
        }
        Check::FirstCorridor => (
            !history.corridor_seen,
            serde_json::json!({
                "country": facts.corridor.country.as_str(),
                "currency": facts.corridor.currency.code(),
                "seen_before": history.corridor_seen,
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn info(id: &str, score: u8) -> RuleInfo {
        RuleInfo {
            id: id.to_owned(),
            version: 1,
            description: String::new(),
            score,
        }
    }

    fn spec_rules() -> RuleSet {
        RuleSet::new(
            vec![
                Rule {
                    info: info("velocity", 60),
                    check: Check::Velocity {
                        window: Duration::hours(24),
                        over: 5_000_000,
                    },
                },
                Rule {
                    info: info("structuring", 85),
                    check: Check::Structuring {
                        window: Duration::hours(24),
                        band: UsdBand {
                            low: 900_000,
                            high: 999_999,
                        },
                        min_count: 3,
                    },
                },
                Rule {
                    info: info("high_risk_country", 50),
                    check: Check::HighRiskCountry {
                        countries: [CountryCode::parse("IR").expect("IR")].into(),
                    },
                },
                Rule {
                    info: info("first_corridor", 30),
                    check: Check::FirstCorridor,
                },
            ],
            Bands::SPEC,
            "test".to_owned(),
        )
        .expect("rules")
    }

    fn facts(amount: UsdCents, aggregates: Aggregates) -> Facts {
        Facts {
            amount,
            recipient_country: CountryCode::DE,
            bank_country: Some(CountryCode::DE),
            corridor: Corridor {
                country: CountryCode::DE,
                currency: Currency::EUR,
            },
            aggregates,
        }
    }

    fn seen() -> Aggregates {
        Aggregates {
            corridor_seen: true,
            ..Aggregates::default()
        }
    }

    fn score(rules: &RuleSet, facts: &Facts) -> (u8, Verdict) {
        let decision = rules.decide(ComplianceDecision::approve(), rules.evaluate(facts));
        (decision.risk_score, decision.verdict)
    }

    #[test]
    fn the_third_near_threshold_transfer_is_structuring_and_blocks() {
        let rules = spec_rules();
        for (before, expected) in [(0, (0, Verdict::Approve)), (1, (0, Verdict::Approve))] {
            let aggregates = Aggregates {
                near_threshold: before,
                ..seen()
            };
            assert_eq!(score(&rules, &facts(990_000, aggregates)), expected);
        }
        let third = Aggregates {
            near_threshold: 2,
            ..seen()
        };
        assert_eq!(score(&rules, &facts(990_000, third)), (85, Verdict::Block));
        // Outside the band the count does not matter.
        let third_out_of_band = Aggregates {
            near_threshold: 2,
            ..seen()
        };
        assert_eq!(
            score(&rules, &facts(1_000_000, third_out_of_band)),
            (0, Verdict::Approve)
        );
    }

    #[test]
    fn velocity_is_over_fifty_thousand_dollars_this_transfer_included() {
        let rules = spec_rules();
        let at = |before| Aggregates {
            velocity_sum: before,
            ..seen()
        };
        assert_eq!(
            score(&rules, &facts(100_000, at(4_900_000))),
            (0, Verdict::Approve)
        );
        assert_eq!(
            score(&rules, &facts(100_001, at(4_900_000))),
            (60, Verdict::Review)
        );
    }

    #[test]
    fn scores_add_up_and_cap_at_one_hundred() {
        let rules = spec_rules();
        let mut first = facts(990_000, Aggregates::default());
        first.recipient_country = CountryCode::parse("IR").expect("IR");
        // High-risk country 50 + first corridor 30 = 80: review, not block.
        assert_eq!(score(&rules, &first), (80, Verdict::Review));
        first.aggregates.near_threshold = 2;
        assert_eq!(score(&rules, &first), (100, Verdict::Block));
    }

    #[test]
    fn the_bank_country_counts_as_much_as_the_recipients() {
        let rules = spec_rules();
        let mut transfer = facts(1_000, seen());
        transfer.bank_country = Some(CountryCode::parse("IR").expect("IR"));
        assert_eq!(score(&rules, &transfer), (50, Verdict::Review));
    }

    #[test]
    fn screening_counts_only_when_it_would_not_approve_alone() {
        let rules = spec_rules();
        let mut weak = ComplianceDecision::approve();
        weak.risk_score = 40;
        let decision = rules.decide(weak, rules.evaluate(&facts(1_000, Aggregates::default())));
        assert_eq!(
            (decision.risk_score, decision.verdict),
            (30, Verdict::Approve)
        );
        let mut held = ComplianceDecision::approve();
        held.risk_score = 60;
        held.verdict = Verdict::Review;
        let decision = rules.decide(held, rules.evaluate(&facts(1_000, Aggregates::default())));
        assert_eq!(
            (decision.risk_score, decision.verdict),
            (90, Verdict::Block)
        );
        let mut blocked = ComplianceDecision::approve();
        blocked.risk_score = 100;
        blocked.verdict = Verdict::Block;
        let decision = rules.decide(blocked, rules.evaluate(&facts(1_000, seen())));
        assert_eq!(
            (decision.risk_score, decision.verdict),
            (100, Verdict::Block)
        );
    }

    #[test]
    fn every_rule_is_recorded_with_its_inputs_hit_or_not() {
        let rules = spec_rules();
        let record = rules.evaluate(&facts(990_000, seen()));
        let ids: Vec<_> = record.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "velocity",
                "structuring",
                "high_risk_country",
                "first_corridor"
            ]
        );
        assert!(record.rules.iter().all(|r| !r.hit && r.score == 0));
        assert_eq!(record.rules[1].inputs["count_in_band"], 1);
    }

    #[test]
    fn invalid_rule_sets_are_refused() {
        assert_eq!(Bands::new(50, 50), Err(RuleSetError::Bands));
        assert_eq!(Bands::new(0, 81), Err(RuleSetError::Bands));
        assert_eq!(Bands::new(50, 101), Err(RuleSetError::Bands));
        let twice = vec![
            Rule {
                info: info("a", 30),
                check: Check::FirstCorridor,
            },
            Rule {
                info: info("b", 30),
                check: Check::FirstCorridor,
            },
        ];
        assert_eq!(
            RuleSet::new(twice, Bands::SPEC, String::new()),
            Err(RuleSetError::DuplicateCheck("first_corridor"))
        );
        let inverted = vec![Rule {
            info: info("s", 85),
            check: Check::Structuring {
                window: Duration::hours(24),
                band: UsdBand {
                    low: 1_000_000,
                    high: 900_000,
                },
                min_count: 3,
            },
        }];
        assert!(matches!(
            RuleSet::new(inverted, Bands::SPEC, String::new()),
            Err(RuleSetError::Rule { .. })
        ));
    }
}
