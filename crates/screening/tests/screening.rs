//! Screener behaviour through the public API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use benteng_screening::{
    Decision, EntityType, ListSource, MatchMethod, PartialDate, Query, QueryError, SanctionsList,
    Screener, parse_list,
};

fn generic(csv: &str) -> SanctionsList {
    parse_list(&"generic:test".parse().unwrap(), csv.as_bytes()).unwrap()
}

fn screener_with(csv: &str) -> Screener {
    let s = Screener::new();
    s.replace_list(generic(csv));
    s
}

fn top(s: &Screener, name: &str) -> Option<benteng_screening::Match> {
    s.search(&Query::new(name)).unwrap().into_iter().next()
}

#[test]
fn indonesian_and_arabic_variants_meet() {
    let s = screener_with(
        "id,name,type\n1,Muhammad Rizal Hakim,person\n2,Abdul Rahman Yusuf,person\n3,Nur Aisyah Putri,person\n\
         4,Syaiful Anwar,person\n5,Khatiba al-Tawhid wal-Jihad,organisation\n6,Vladimir Putin,person\n",
    );
    for (q, id) in [
        ("Mohamed Rizal Hakim", "1"),
        ("Mohammad Rizal Hakim", "1"),
        ("Abd al-Rahman Yusuf", "2"),
        ("Abdurrahman Yusuf", "2"),
        ("Noor Aisyah Putri", "3"),
        ("Saiful Anwar", "4"),
        ("Катиба ат-Таухид валь-Джихад", "5"),
        ("PUTIN, Vladimir", "6"),
        ("Владимир Путин", "6"),
        ("Vladimir Poutine", "6"),
    ] {
        let m = top(&s, q).unwrap_or_else(|| panic!("no match for {q}"));
        assert_eq!(m.entry_id, id, "{q}");
        assert!(m.score >= 80, "{q}: {}", m.score);
    }
    let m = top(&s, "Катиба ат-Таухид валь-Джихад").unwrap();
    assert_eq!(m.method, MatchMethod::Transliterated);
    let m = top(&s, "PUTIN, Vladimir").unwrap();
    assert_eq!((m.score, m.method), (100, MatchMethod::Exact));
    assert_eq!(Decision::from_default_thresholds(m.score), Decision::Block);
    let m = top(&s, "Saiful Anwar").unwrap();
    assert_eq!(m.method, MatchMethod::Phonetic);
    let m = top(&s, "Vladmir Putin").unwrap();
    assert_eq!(m.method, MatchMethod::Fuzzy);
    assert!(
        m.evidence
            .tokens
            .iter()
            .any(|t| t.method == Some(MatchMethod::Fuzzy))
    );
}

#[test]
fn unrelated_names_do_not_block() {
    let s = screener_with("id,name,type\n1,Muhammad Rizal Hakim,person\n2,Vladimir Putin,person\n");
    for q in ["Budi Santoso", "Maria Garcia", "PT Maju Jaya Tbk", "Rizal"] {
        let hits = s.search(&Query::new(q)).unwrap();
        assert!(hits.iter().all(|m| m.score <= 80), "{q}: {hits:?}");
    }
}

#[test]
fn supporting_data_moves_the_score() {
    let s = screener_with(
        "id,name,type,dob,nationality\n1,Ahmad Fauzi Hasan,person,1980-05-17,ID\n2,Ahmad Fauzi Hasan Shipping,organisation,,\n",
    );
    let base = top(&s, "Ahmad Fauzi Hasan").unwrap().score;
    let mut q = Query::new("Ahmad Fauzi Hasan");
    q.dob = Some("1980-05-17".parse().unwrap());
    q.country = Some("Indonesia".into());
    q.entity_type = Some(EntityType::Person);
    let m = s.search(&q).unwrap().into_iter().next().unwrap();
    assert_eq!(m.entry_id, "1");
    assert!(m.score >= base);
    assert_eq!(m.evidence.adjustments.len(), 3);
    q.dob = Some(PartialDate::year(1950));
    q.country = Some("MY".into());
    let m = s
        .search(&q)
        .unwrap()
        .into_iter()
        .find(|m| m.entry_id == "1")
        .unwrap();
    assert!(m.score < base, "{} vs {base}", m.score);
    assert!(
        m.evidence
            .adjustments
            .iter()
            .all(|a| a.factor == "entity_type" || a.delta < 0)
    );
    // Entity-type mismatch lowers the organisation.
    let mut q = Query::new("Ahmad Fauzi Hasan Shipping");
    q.entity_type = Some(EntityType::Person);
    let m = s
        .search(&q)
        .unwrap()
        .into_iter()
        .find(|m| m.entry_id == "2")
        .unwrap();
    assert!(m.score <= 75);
}

#[test]
fn bad_queries() {
    let s = screener_with("id,name\n1,Aaaa Bbbb\n2,Ltd\n");
    assert_eq!(s.search(&Query::new("")), Err(QueryError::EmptyName));
    assert_eq!(s.search(&Query::new("   \t")), Err(QueryError::EmptyName));
    assert_eq!(
        s.search(&Query::new("!!! --- ...")),
        Err(QueryError::NoSearchableText)
    );
    assert_eq!(
        s.search(&Query::new("\u{200b}\u{200b}")),
        Err(QueryError::NoSearchableText)
    );
    let long = "Aaaa ".repeat(2000) + &"b".repeat(10_000);
    assert!(s.search(&Query::new(long)).is_ok());
    assert!(s.search(&Query::new("a".repeat(10_000))).is_ok());
    assert!(s.search(&Query::new("Путин 習近平 محمد Smith")).is_ok());
    assert!(s.search(&Query::new("x")).is_ok());
    // Obfuscation undoing keeps bad input bad and big input bounded.
    assert_eq!(
        s.search(&Query::new(". . . * * ~ | $$$ @@@")),
        Err(QueryError::NoSearchableText)
    );
    assert!(s.search(&Query::new("a.".repeat(10_000))).is_ok());
    assert!(s.search(&Query::new("A ".repeat(10_000))).is_ok());
    assert!(s.search(&Query::new("4".repeat(300) + "a1b")).is_ok());
    let mut q = Query::new("Aaaa Bbbb");
    q.limit = 0;
    assert!(s.search(&q).unwrap().is_empty());
    q.limit = 1_000_000;
    assert!(s.search(&q).unwrap().len() <= benteng_screening::MAX_LIMIT);
    assert!(
        Screener::new()
            .search(&Query::new("Aaaa"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn results_sorted_limited_and_serializable() {
    let s = screener_with(
        "id,name\n1,Hasan Basri\n2,Hassan Basri\n3,Hasan Basri Lubis\n4,Hasan Bisri\n5,Hasan\n",
    );
    let mut q = Query::new("Hasan Basri");
    q.limit = 3;
    q.min_score = 0;
    let r = s.search(&q).unwrap();
    assert_eq!(r.len(), 3);
    assert!(r.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(r[0].entry_id, "1");
    let json = serde_json::to_value(&r[0]).unwrap();
    assert_eq!(json["source"], "generic:test");
    assert_eq!(json["method"], "exact");
    assert!(json["evidence"]["tokens"].is_array());
}

#[test]
fn reload_swaps_atomically_and_readers_do_not_block() {
    let s = Arc::new(screener_with("id,name\n1,Hasan Basri\n"));
    let other: ListSource = "generic:other".parse().unwrap();
    let reader = {
        let s = s.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            for _ in 0..300 {
                let r = s.search(&Query::new("Hasan Basri")).unwrap();
                assert!(!r.is_empty());
                n += 1;
            }
            n
        })
    };
    for i in 0..20 {
        let csv = format!("id,name\n{i},Other Person {i}\n");
        s.replace_list(parse_list(&other, csv.as_bytes()).unwrap());
    }
    assert_eq!(reader.join().unwrap(), 300);
    assert_eq!(s.lists().len(), 2);
    // New version replaces the old one.
    s.replace_list(generic("id,name\n9,Siti Rahma\n"));
    assert!(top(&s, "Hasan Basri").is_none_or(|m| m.score < 50));
    assert_eq!(top(&s, "Siti Rahma").unwrap().entry_id, "9");
    assert!(s.remove_list(&other));
    assert!(!s.remove_list(&other));
    assert_eq!(s.stats().lists, 1);
}
