//! Incident response without I/O: severities and their clocks, an incident's states, and the
//! detections file (TOML, validated at load: an unknown field or kind, a zero threshold or
//! window, a duplicate id or invalid TOML is refused with its line, like the monitoring rules).

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// The detections benteng runs with when no detections file is configured.
pub const DEFAULT_DETECTIONS: &str = include_str!("../data/detections.toml");

/// The spec's incident levels, P1 the most severe (so `P1 < P4` in `Ord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    P1,
    P2,
    P3,
    P4,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
            Severity::P4 => "P4",
        }
    }

    /// The spec's response time: an incident must be acknowledged within it.
    pub const fn acknowledge_within(self) -> Duration {
        Duration::from_secs(match self {
            Severity::P1 => 15 * 60,
            Severity::P2 => 60 * 60,
            Severity::P3 => 4 * 60 * 60,
            Severity::P4 => 24 * 60 * 60,
        })
    }

    /// benteng's containment clock (the spec names none): four response times.
    pub const fn contain_within(self) -> Duration {
        Duration::from_secs(self.acknowledge_within().as_secs() * 4)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity (expected P1, P2, P3 or P4)")]
pub struct UnknownSeverity;

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "P1" => Ok(Severity::P1),
            "P2" => Ok(Severity::P2),
            "P3" => Ok(Severity::P3),
            "P4" => Ok(Severity::P4),
            _ => Err(UnknownSeverity),
        }
    }
}

/// Where an incident is in its cycle. It only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IncidentState {
    Open,
    Acknowledged,
    Contained,
    Resolved,
}

impl IncidentState {
    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Contained => "contained",
            IncidentState::Resolved => "resolved",
        }
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown incident state")]
pub struct UnknownState;

impl FromStr for IncidentState {
    type Err = UnknownState;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "open" => Ok(IncidentState::Open),
            "acknowledged" => Ok(IncidentState::Acknowledged),
            "contained" => Ok(IncidentState::Contained),
            "resolved" => Ok(IncidentState::Resolved),
            _ => Err(UnknownState),
        }
    }
}

/// What a detection counts per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    /// Every refused authentication.
    Failures,
    /// Refused authentications with a credential not seen before in the window.
    DistinctCredentials,
}

/// One detection: fires when its count for one address reaches `threshold` within `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub id: String,
    pub description: String,
    pub counts: Counts,
    pub threshold: u32,
    pub window: Duration,
    pub severity: Severity,
}

/// A validated detections file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detections(Vec<Detection>);

impl Detections {
    pub fn iter(&self) -> impl Iterator<Item = &Detection> {
        self.0.iter()
    }

    /// The detections compiled in (`data/detections.toml`).
    pub fn defaults() -> Self {
        // The compiled-in file is checked by a unit test; an empty set is the fallback that
        // can never be reached in a tested build.
        Self::parse(DEFAULT_DETECTIONS).unwrap_or(Self(Vec::new()))
    }

    /// Reads a detections file, refusing it whole with the line of its first problem.
    pub fn parse(text: &str) -> Result<Self, DetectionsFileError> {
        let file: RawFile = toml::from_str(text).map_err(|error| DetectionsFileError {
            line: error.span().map(|span| line_of(text, span.start)),
            message: error.message().to_owned(),
        })?;
        let at = |span: Range<usize>, message: String| DetectionsFileError {
            line: Some(line_of(text, span.start)),
            message,
        };
        let mut seen = BTreeSet::new();
        let mut detections = Vec::new();
        for spanned in file.detections {
            let span = spanned.span();
            let raw = spanned.into_inner();
            let id_ok = !raw.id.is_empty()
                && raw.id.len() <= 64
                && raw
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !id_ok {
                return Err(at(
                    span,
                    "a detection id is 1 to 64 of a-z, 0-9 and _".to_owned(),
                ));
            }
            if !seen.insert(raw.id.clone()) {
                return Err(at(span, format!("detection {} is defined twice", raw.id)));
            }
            let counts = match raw.counts.as_str() {
                "failures" => Counts::Failures,
                "distinct_credentials" => Counts::DistinctCredentials,
                _ => {
                    return Err(at(
                        span,
                        format!(
                            "detection {}: counts must be failures or distinct_credentials",
                            raw.id
                        ),
                    ));
                }
            };
            let threshold = u32::try_from(raw.threshold)
                .ok()
                .filter(|t| (1..=1_000_000).contains(t))
                .ok_or_else(|| {
                    at(
                        span.clone(),
                        format!("detection {}: threshold must be 1 to 1000000", raw.id),
                    )
                })?;
            let window_secs = u64::try_from(raw.window_secs)
                .ok()
                .filter(|w| (1..=86_400).contains(w))
                .ok_or_else(|| {
                    at(
                        span.clone(),
                        format!(
                            "detection {}: window_secs must be 1 to 86400 (a day)",
                            raw.id
                        ),
                    )
                })?;
            let severity = raw.severity.parse().map_err(|_| {
                at(
                    span.clone(),
                    format!("detection {}: severity must be P1, P2, P3 or P4", raw.id),
                )
            })?;
            if raw.description.trim().is_empty() || raw.description.len() > 200 {
                return Err(at(
                    span,
                    format!("detection {}: description must be 1 to 200 bytes", raw.id),
                ));
            }
            detections.push(Detection {
                id: raw.id,
                description: raw.description,
                counts,
                threshold,
                window: Duration::from_secs(window_secs),
                severity,
            });
        }
        Ok(Self(detections))
    }
}

/// Why a detections file was refused: the line (1-based) when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct DetectionsFileError {
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    detections: Vec<toml::Spanned<RawDetection>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetection {
    id: String,
    description: String,
    counts: String,
    threshold: i64,
    window_secs: i64,
    severity: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.bytes().filter(|b| *b == b'\n').count())
        + 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_compiled_in_detections_are_the_issue_s_two() {
        let detections = Detections::parse(DEFAULT_DETECTIONS).unwrap();
        let all: Vec<_> = detections.iter().collect();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (
                all[0].id.as_str(),
                all[0].threshold,
                all[0].window.as_secs(),
                all[0].severity
            ),
            ("failed_auth_burst", 25, 300, Severity::P4)
        );
        assert_eq!(
            (
                all[1].id.as_str(),
                all[1].threshold,
                all[1].window.as_secs(),
                all[1].severity
            ),
            ("credential_stuffing", 15, 900, Severity::P3)
        );
        assert_eq!(Detections::defaults(), detections);
    }

    #[test]
    fn a_bad_file_is_refused_with_its_line() {
        let base = "[[detections]]\nid = \"x\"\ndescription = \"d\"\ncounts = \"failures\"\n";
        let refused = |rest: &str| Detections::parse(&format!("{base}{rest}")).unwrap_err();
        let zero = refused("threshold = 0\nwindow_secs = 60\nseverity = \"P4\"\n");
        assert_eq!(zero.line, Some(1));
        assert!(zero.message.contains("threshold"), "{zero}");
        let severity = refused("threshold = 3\nwindow_secs = 60\nseverity = \"P5\"\n");
        assert!(severity.message.contains("severity"), "{severity}");
        let window = refused("threshold = 3\nwindow_secs = 0\nseverity = \"P4\"\n");
        assert!(window.message.contains("window_secs"), "{window}");
        let unknown = refused("threshold = 3\nwindow_secs = 60\nseverity = \"P4\"\nscore = 1\n");
        assert_eq!(unknown.line, Some(8), "{unknown}");
        let ok = "threshold = 3\nwindow_secs = 60\nseverity = \"P4\"\n";
        let twice = Detections::parse(&format!("{base}{ok}\n{base}{ok}")).unwrap_err();
        assert!(twice.message.contains("twice"), "{twice}");
        assert_eq!(twice.line, Some(9));
        assert!(Detections::parse(&format!("{base}{ok}")).is_ok());
    }

    #[test]
    fn clocks_follow_the_spec_and_severity_orders_most_severe_first() {
        assert_eq!(Severity::P1.acknowledge_within().as_secs(), 15 * 60);
        assert_eq!(Severity::P3.acknowledge_within().as_secs(), 4 * 3600);
        assert_eq!(Severity::P4.contain_within().as_secs(), 96 * 3600);
        assert!(Severity::P1 < Severity::P4);
        assert_eq!(Severity::P1.min(Severity::P3), Severity::P1);
    }
}
