//! Name comparison: exact, spelling-variant/phonetic, fuzzy (budgeted Levenshtein and
//! Jaro-Winkler) and transliterated comparisons combined into one name score with evidence.

use serde::{Deserialize, Serialize};

use crate::normalize::{NormName, Token};

/// How a name (or one token) matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// Same normalised text (case, accents, punctuation, word order and legal forms ignored).
    Exact,
    /// Typo-level difference (Levenshtein within a length-scaled budget, or Jaro-Winkler).
    Fuzzy,
    /// Known spelling variant (Muhammad/Mohamed, Nur/Noor, Syaiful/Saiful, old Indonesian
    /// spelling) or equal Double Metaphone / consonant skeleton.
    Phonetic,
    /// One side was written in a non-Latin script and matched after transliteration.
    Transliterated,
}

/// Evidence for one query token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEvidence {
    /// Normalised query token.
    pub query_token: String,
    /// Normalised list-name token it was paired with (`None`: unmatched).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub matched_token: Option<String>,
    /// How the pair matched (`None`: unmatched).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method: Option<MatchMethod>,
    /// Pair similarity, 0–100.
    pub similarity: u8,
}

/// Result of comparing two names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NameScore {
    /// 0.0–1.0.
    pub score: f64,
    pub method: MatchMethod,
    pub tokens: Vec<TokenEvidence>,
}

/// Levenshtein edit budget for strings whose shorter length is `len`: min(4, ceil(0.2·len)).
pub(crate) fn edit_budget(len: usize) -> usize {
    (len.div_ceil(5)).min(4)
}

/// 1 − d/maxlen when the Levenshtein distance d is within the budget, else 0.
pub(crate) fn budget_levenshtein(a: &str, b: &str) -> f64 {
    let (la, lb) = (a.len(), b.len());
    let budget = edit_budget(la.min(lb));
    if la.abs_diff(lb) > budget || la.min(lb) < 3 {
        return 0.0;
    }
    let d = strsim::levenshtein(a, b);
    if d > budget {
        return 0.0;
    }
    1.0 - d as f64 / la.max(lb) as f64
}

/// Similarity of two tokens (0–1) and the method that produced it.
pub(crate) fn token_similarity(q: &Token, t: &Token) -> (f64, MatchMethod) {
    if q.text == t.text {
        return (1.0, MatchMethod::Exact);
    }
    if q.canon == t.canon {
        return (0.95, MatchMethod::Phonetic);
    }
    let (a, b) = (q.canon.as_str(), t.canon.as_str());
    let short = a.len().min(b.len());
    let mut best = budget_levenshtein(a, b);
    let lev_ok = best > 0.0;
    let mut method = MatchMethod::Fuzzy;
    let jw = if short >= 4 {
        strsim::jaro_winkler(a, b)
    } else {
        0.0
    };
    if jw >= 0.9 && jw * 0.95 > best {
        best = jw * 0.95;
    }
    if short >= 3 {
        let meta_eq = !q.metaphone[0].is_empty()
            && q.metaphone[0].len() >= 2
            && (q.metaphone[0] == t.metaphone[0]
                || q.metaphone[0] == t.metaphone[1]
                || q.metaphone[1] == t.metaphone[0]);
        let skel_eq = q
            .skeletons
            .iter()
            .any(|s| s.len() >= 3 && t.skeletons.contains(s));
        // Phonetic equality only counts when the spellings are not wildly different.
        let same_start = a.as_bytes().first() == b.as_bytes().first();
        let len_ok = a.len().abs_diff(b.len()) <= 2.max(a.len().max(b.len()) * 3 / 10);
        if (meta_eq || skel_eq) && len_ok && (jw >= 0.8 || (same_start && jw >= 0.6)) {
            let p = if meta_eq && skel_eq { 0.9 } else { 0.85 };
            if p > best {
                // Within the typo budget it is reported as fuzzy, beyond it as phonetic.
                if !lev_ok {
                    method = MatchMethod::Phonetic;
                }
                best = p;
            }
        }
    }
    if best < 0.7 {
        (0.0, MatchMethod::Fuzzy)
    } else {
        (best, method)
    }
}

/// Compare a query name with a list name. `weight` gives a token's importance (rarer tokens
/// weigh more). Unmatched query tokens count fully against the score; unmatched list-name
/// tokens (e.g. a dropped middle name) cost at most 50 %, weighted by rarity.
pub(crate) fn name_score(q: &NormName, e: &NormName, weight: &dyn Fn(&Token) -> f64) -> NameScore {
    let nq = q.tokens.len();
    let ne = e.tokens.len();
    if nq == 0 || ne == 0 {
        return NameScore {
            score: 0.0,
            method: MatchMethod::Fuzzy,
            tokens: Vec::new(),
        };
    }
    let wq: Vec<f64> = q.tokens.iter().map(weight).collect();
    let we: Vec<f64> = e.tokens.iter().map(weight).collect();
    // All pair similarities, then greedy best-pair assignment.
    let mut pairs: Vec<(f64, usize, usize, MatchMethod)> = Vec::with_capacity(nq * ne);
    for (i, qt) in q.tokens.iter().enumerate() {
        for (j, et) in e.tokens.iter().enumerate() {
            let (s, m) = token_similarity(qt, et);
            if s > 0.0 {
                pairs.push((s, i, j, m));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut q_used: Vec<Option<(usize, f64, MatchMethod)>> = vec![None; nq];
    let mut e_used = vec![false; ne];
    for (s, i, j, m) in pairs {
        if q_used[i].is_none() && !e_used[j] {
            q_used[i] = Some((j, s, m));
            e_used[j] = true;
        }
    }
    let mut num = 0.0;
    let mut den = 0.0;
    let mut matched_e_w = 0.0;
    for (i, u) in q_used.iter().enumerate() {
        den += wq[i];
        if let Some((j, s, _)) = u {
            num += s * (wq[i] + we[*j]);
            den += we[*j];
            matched_e_w += we[*j];
        } else {
            den += wq[i];
        }
    }
    let total_e_w: f64 = we.iter().sum();
    let coverage = if total_e_w > 0.0 {
        matched_e_w / total_e_w
    } else {
        0.0
    };
    let mut score = if den > 0.0 { num / den } else { 0.0 } * (1.0 - 0.5 * (1.0 - coverage));

    // Glued or split tokens ("Abdurrahman" / "Abdul Rahman", "XiJinping" / "Xi Jin Ping").
    let concat_sim = if nq + ne > 2 {
        budget_levenshtein(&q.concat, &e.concat)
    } else {
        0.0
    };
    let mut glued = false;
    if concat_sim >= 0.9 && concat_sim * 0.97 > score {
        score = concat_sim * 0.97;
        glued = concat_sim < 1.0;
    }

    let all_exact = q_used
        .iter()
        .all(|u| matches!(u, Some((_, _, MatchMethod::Exact))))
        && e_used.iter().all(|&x| x);
    if all_exact {
        score = 1.0;
    }
    let method = if q.non_latin != e.non_latin || (q.non_latin && !all_exact) {
        MatchMethod::Transliterated
    } else if all_exact {
        MatchMethod::Exact
    } else if glued
        || q_used
            .iter()
            .any(|u| matches!(u, Some((_, _, MatchMethod::Fuzzy))))
    {
        MatchMethod::Fuzzy
    } else if q_used
        .iter()
        .any(|u| matches!(u, Some((_, _, MatchMethod::Phonetic))))
    {
        MatchMethod::Phonetic
    } else {
        MatchMethod::Exact
    };
    let tokens = q
        .tokens
        .iter()
        .zip(&q_used)
        .map(|(t, u)| TokenEvidence {
            query_token: t.text.clone(),
            matched_token: u.map(|(j, _, _)| e.tokens[j].text.clone()),
            method: u.map(|(_, _, m)| m),
            similarity: u.map_or(0, |(_, s, _)| (s * 100.0).round() as u8),
        })
        .collect();
    NameScore {
        score: score.clamp(0.0, 1.0),
        method,
        tokens,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::normalize::normalize;

    fn s(a: &str, b: &str) -> (u8, MatchMethod) {
        let r = name_score(&normalize(a), &normalize(b), &|_| 1.0);
        ((r.score * 100.0).round() as u8, r.method)
    }

    #[test]
    fn budgets() {
        assert_eq!(edit_budget(3), 1);
        assert_eq!(edit_budget(10), 2);
        assert_eq!(edit_budget(40), 4);
        assert_eq!(budget_levenshtein("abc", "xyz"), 0.0);
    }

    #[test]
    fn methods() {
        assert_eq!(
            s("PUTIN, Vladimir", "Vladimir Putin"),
            (100, MatchMethod::Exact)
        );
        let (sc, m) = s("Vladimr Putin", "Vladimir Putin");
        assert!(sc >= 85 && m == MatchMethod::Fuzzy, "{sc} {m:?}");
        let (sc, m) = s("Mohamed Atta", "Muhammad Atta");
        assert!(sc >= 90 && m == MatchMethod::Phonetic, "{sc} {m:?}");
        let (sc, m) = s("Катиба ат-Таухид", "Khatiba al-Tawhid");
        assert!(sc >= 80 && m == MatchMethod::Transliterated, "{sc} {m:?}");
        let (sc, _) = s("Budi Santoso", "Vladimir Putin");
        assert_eq!(sc, 0);
        let (sc, _) = s("Putin", "Vladimir Vladimirovich Putin");
        assert!(sc < 80, "{sc}");
    }
}
