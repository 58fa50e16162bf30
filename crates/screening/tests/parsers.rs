//! Parser tests through the public API: shipped official files, small fixtures, malformed input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use benteng_screening::{
    EntityType, ListError, ListSource, OfacCsvFiles, diff, load_list, parse_list, parse_ofac_csv,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sanctions")
        .join(rel)
}

#[test]
fn ofac_sdn_full_csv() {
    let l = load_list(&ListSource::OfacSdn, &shared("ofac")).unwrap();
    assert_eq!(l.entries.len(), 8976);
    assert_eq!(l.version.len(), 64);
    let e = l.get("306").unwrap();
    assert_eq!(e.name, "BANCO NACIONAL DE CUBA");
    assert_eq!(e.entity_type, EntityType::Organisation);
    assert!(e.aliases.iter().any(|a| a == "NATIONAL BANK OF CUBA"));
    assert!(
        e.addresses
            .iter()
            .any(|a| a.country.as_deref() == Some("Switzerland"))
    );
    assert_eq!(e.programs, vec!["CUBA".to_string()]);
    let persons = l
        .entries
        .iter()
        .filter(|e| e.entity_type == EntityType::Person)
        .count();
    assert!(persons > 3000, "{persons}");
    assert!(
        l.entries
            .iter()
            .filter(|e| !e.dates_of_birth.is_empty())
            .count()
            > 3000
    );
    assert!(
        l.entries
            .iter()
            .any(|e| e.entity_type == EntityType::Vessel)
    );
    // Same bytes, same version.
    let again = load_list(&ListSource::OfacSdn, &shared("ofac")).unwrap();
    assert_eq!(again.version, l.version);
}

#[test]
fn ofac_nonsdn_full_csv() {
    let l = load_list(&ListSource::OfacNonSdn, &shared("ofac-nonsdn")).unwrap();
    assert_eq!(l.entries.len(), 442);
    let e = l.get("9639").unwrap();
    assert_eq!(e.entity_type, EntityType::Person);
    assert_eq!(e.dates_of_birth[0].year, 1962);
    assert!(e.aliases.len() >= 2);
}

#[test]
fn un_full_xml() {
    let l = load_list(&ListSource::Un, &shared("un/UN_consolidated.xml")).unwrap();
    assert_eq!(l.entries.len(), 1003);
    assert_eq!(
        l.entries
            .iter()
            .filter(|e| e.entity_type == EntityType::Person)
            .count(),
        730
    );
    let e = l.get("6907993").unwrap();
    assert_eq!(e.name, "ERIC BADEGE");
    assert_eq!(e.dates_of_birth[0].year, 1971);
    assert_eq!(
        e.nationalities,
        vec!["Democratic Republic of the Congo".to_string()]
    );
    assert_eq!(e.programs, vec!["DRC".to_string()]);
    // Original-script names are kept as aliases.
    assert!(l.entries.iter().any(|e| {
        e.aliases
            .iter()
            .any(|a| a.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)))
    }));
}

#[test]
fn dttot_full_csv() {
    // Personal data: only counts and ids are asserted, nothing is printed.
    let l = load_list(&ListSource::IdDttot, &shared("id/dttot.csv")).unwrap();
    assert_eq!(l.entries.len(), 522);
    let names: usize = l.entries.iter().map(|e| 1 + e.aliases.len()).sum();
    assert!(names > 1500 && names <= 2398, "{names}");
    assert!(
        l.entries
            .iter()
            .all(|e| e.entity_type != EntityType::Unknown)
    );
    assert!(
        l.entries
            .iter()
            .any(|e| e.entity_type == EntityType::Organisation)
    );
    assert!(l.entries.iter().all(|e| e.id.contains('-')));
}

#[test]
fn ofac_csv_fixture_trio() {
    let (p, a, d) = (
        fixture("ofac_sdn.csv"),
        fixture("ofac_alt.csv"),
        fixture("ofac_add.csv"),
    );
    let l = parse_ofac_csv(
        &ListSource::OfacSdn,
        &OfacCsvFiles {
            primary: &p,
            alt: Some(&a),
            add: Some(&d),
        },
    )
    .unwrap();
    assert_eq!(l.entries.len(), 2);
    let e = l.get("10").unwrap();
    assert_eq!(e.entity_type, EntityType::Person);
    assert_eq!(e.aliases, vec!["EXEMPLE, Personne".to_string()]);
    assert_eq!(e.dates_of_birth[0].to_string(), "1970-01-01");
    assert_eq!(e.nationalities, vec!["Yemen".to_string()]);
    let org = l.get("11").unwrap();
    assert_eq!(org.programs, vec!["IRAN".to_string(), "SDGT".to_string()]);
    assert_eq!(org.addresses[0].country.as_deref(), Some("Iran"));
    // Primary alone works too and has another version.
    let alone = parse_list(&ListSource::OfacSdn, &p).unwrap();
    assert!(alone.entries.iter().all(|e| e.aliases.is_empty()));
    assert_ne!(alone.version, l.version);
}

#[test]
fn ofac_xml_fixture() {
    let l = parse_list(&ListSource::OfacSdn, &fixture("ofac_sdn.xml")).unwrap();
    assert_eq!(l.entries.len(), 3);
    let e = l.get("6365").unwrap();
    assert_eq!(e.name, "BIN LADIN, Usama");
    assert_eq!(e.aliases, vec!["BIN LADEN, Osama".to_string()]);
    assert_eq!(e.dates_of_birth.len(), 2);
    assert_eq!(e.identifiers[0].kind, "Passport");
    let v = l.get("9999").unwrap();
    assert_eq!(v.entity_type, EntityType::Vessel);
    assert!(v.identifiers.iter().any(|i| i.value == "9000001"));
}

#[test]
fn eu_xml_fixture() {
    let l = parse_list(&ListSource::Eu, &fixture("eu.xml")).unwrap();
    assert_eq!(l.entries.len(), 2);
    let e = l.get("13").unwrap();
    assert_eq!(e.name, "Saddam Hussein Al-Tikriti");
    assert_eq!(e.aliases, vec!["Abu Ali".to_string()]);
    assert_eq!(e.dates_of_birth[0].to_string(), "1937-04-28");
    assert_eq!(e.nationalities, vec!["IQ".to_string()]);
    assert_eq!(e.programs, vec!["IRQ".to_string()]);
    let b = l.get("5001").unwrap();
    assert_eq!(b.entity_type, EntityType::Organisation);
    assert!(b.aliases[0].contains('"'), "entity in attribute decoded");
    assert!(b.identifiers.iter().any(|i| i.value == "EXAMRUMM"));
}

#[test]
fn uk_xml_fixture() {
    let l = parse_list(&ListSource::Uk, &fixture("uk.xml")).unwrap();
    assert_eq!(l.entries.len(), 2);
    let e = l.get("AFG0006").unwrap();
    assert_eq!(e.name, "AKHUND, Mohammad Hassan");
    assert_eq!(e.aliases.len(), 2);
    assert_eq!(e.dates_of_birth.len(), 2);
    assert_eq!(e.nationalities, vec!["Afghanistan".to_string()]);
    assert_eq!(
        l.get("RUS9999").unwrap().entity_type,
        EntityType::Organisation
    );
}

#[test]
fn generic_csv_fixture() {
    let src: ListSource = "generic:bi-blacklist".parse().unwrap();
    let l = parse_list(&src, &fixture("generic.csv")).unwrap();
    assert_eq!(l.entries.len(), 3);
    let e = l.get("BI-0001").unwrap();
    assert_eq!(e.aliases.len(), 2);
    assert_eq!(e.identifiers[0].kind, "KTP");
    assert_eq!(e.dates_of_birth[0].to_string(), "1980-05-17");
}

#[test]
fn malformed_inputs_are_typed_errors() {
    let generic: ListSource = "generic:x".parse().unwrap();
    // Duplicate ids.
    assert!(matches!(
        parse_list(&generic, &fixture("generic_duplicate_ids.csv")),
        Err(ListError::DuplicateId { .. })
    ));
    // Wrong column count.
    assert!(matches!(
        parse_list(&ListSource::OfacSdn, &fixture("ofac_wrong_columns.csv")),
        Err(ListError::WrongColumns {
            line: 2,
            expected: 12,
            found: 5,
            ..
        })
    ));
    // Alias row for an unknown id.
    let p = fixture("ofac_sdn.csv");
    let orphan = fixture("ofac_alt_orphan.csv");
    assert!(matches!(
        parse_ofac_csv(
            &ListSource::OfacSdn,
            &OfacCsvFiles {
                primary: &p,
                alt: Some(&orphan),
                add: None
            }
        ),
        Err(ListError::UnknownReference { .. })
    ));
    // Truncated XML (the real UN file cut in half).
    let un = std::fs::read(shared("un/UN_consolidated.xml")).unwrap();
    assert!(matches!(
        parse_list(&ListSource::Un, &un[..un.len() / 2]),
        Err(ListError::Xml { .. })
    ));
    // Truncated EU/UK/OFAC XML fixtures.
    for (src, f) in [
        (ListSource::Eu, "eu.xml"),
        (ListSource::Uk, "uk.xml"),
        (ListSource::OfacSdn, "ofac_sdn.xml"),
    ] {
        let b = fixture(f);
        assert!(
            matches!(
                parse_list(&src, &b[..b.len() - 20]),
                Err(ListError::Xml { .. })
            ),
            "{src}"
        );
    }
    // Wrong document for the source.
    assert!(matches!(
        parse_list(&ListSource::Un, &fixture("eu.xml")),
        Err(ListError::UnexpectedFormat { .. })
    ));
    // Invalid UTF-8.
    let mut bad = fixture("generic.csv");
    bad.insert(70, 0xff);
    assert!(matches!(
        parse_list(&generic, &bad),
        Err(ListError::InvalidUtf8 { offset: 70, .. })
    ));
    // Header problems, empty files.
    assert!(matches!(
        parse_list(&generic, b"id,nama\n1,x\n"),
        Err(ListError::BadHeader { .. })
    ));
    assert!(matches!(
        parse_list(&generic, b"id,name\n"),
        Err(ListError::Empty { .. })
    ));
    assert!(matches!(
        parse_list(&ListSource::IdDttot, b"nama,terduga\nx,Orang\n"),
        Err(ListError::BadHeader { .. })
    ));
    assert!(parse_list(&ListSource::OfacSdn, b"").is_err());
    assert!(parse_list(&ListSource::Un, b"").is_err());
    // Bad values.
    assert!(matches!(
        parse_list(&generic, b"id,name,dob\n1,x,1999-13-01\n"),
        Err(ListError::InvalidRecord { .. })
    ));
    assert!(matches!(
        parse_list(&generic, b"id,name,type\n1,x,dragon\n"),
        Err(ListError::InvalidRecord { .. })
    ));
    assert!(matches!(
        parse_list(&generic, b"id,name\n1,x,extra\n"),
        Err(ListError::WrongColumns { .. })
    ));
}

#[test]
fn garbage_never_panics() {
    let sources: Vec<ListSource> = [
        "ofac-sdn",
        "ofac-nonsdn",
        "un",
        "eu",
        "uk",
        "id-dttot",
        "generic:g",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let inputs: Vec<Vec<u8>> = vec![
        b"<".to_vec(),
        b"<a".to_vec(),
        b"<?xml version=\"1.0\"?><CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>".to_vec(),
        b"\"unterminated,quote\n".to_vec(),
        b",,,,,,,,,,,\n".to_vec(),
        vec![0u8; 64],
        "\u{feff}id,name\n1,\u{202e}x\n".as_bytes().to_vec(),
        b"<Designations><Designation><UniqueID>1</UniqueID></Designation></Designations>".to_vec(),
        b"<export><sanctionEntity logicalId=\"1\"/></export>".to_vec(),
        b"<sdnList><sdnEntry><uid>1</uid></sdnEntry></sdnList>".to_vec(),
        b"<sdnList><sdnEntry><uid>1</uid><lastName>A</lastName></sdnEntry><sdnEntry><uid>1</uid><lastName>B</lastName></sdnEntry></sdnList>".to_vec(),
    ];
    for s in &sources {
        for i in &inputs {
            let _ = parse_list(s, i); // must return, not panic
        }
    }
    assert!(matches!(
        parse_list(&ListSource::OfacSdn, &inputs[10]),
        Err(ListError::DuplicateId { .. })
    ));
}

#[test]
fn a_hostile_date_of_birth_is_refused_without_exhausting_memory() {
    // Seen through the sanctions_csv fuzz target (out of memory on this input): every "circa "
    // and " to " recursed once more and
    // lower-cased the rest of the field again, so a 2 MB date took over 2 GB (and the stack).
    let header = "nama,terduga,warga_negara,alamat,tempat_lahir,tanggal_lahir,kode_densus";
    for date in [
        "circa ".repeat(20_000) + "1962",
        "1960 to ".repeat(15_000) + "1962",
    ] {
        let csv = format!("{header}\nSome Name,Orang,,,,{date},ELQ-1\n");
        let refused = parse_list(&ListSource::IdDttot, csv.as_bytes());
        assert!(
            matches!(refused, Err(ListError::InvalidRecord { .. })),
            "{refused:?}"
        );
    }
}

#[test]
fn diff_between_versions() {
    let src: ListSource = "generic:bi-blacklist".parse().unwrap();
    let old = parse_list(
        &src,
        b"id,name,dob\n1,Alpha One,1970\n2,Beta Two,\n3,Gamma Three,\n",
    )
    .unwrap();
    let new = parse_list(
        &src,
        b"id,name,dob\n1,Alpha One,1971\n3,Gamma Three,\n4,Delta Four,\n",
    )
    .unwrap();
    let d = diff(&old, &new).unwrap();
    assert_eq!(
        d.added.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec!["4"]
    );
    assert_eq!(d.removed, vec!["2".to_string()]);
    assert_eq!(
        d.changed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec!["1"]
    );
    let r = d.rescreen_list().unwrap();
    assert_eq!(r.entries.len(), 2);
    assert!(diff(&new, &new).unwrap().is_empty());
    let un = parse_list(&ListSource::Eu, &fixture("eu.xml")).unwrap();
    assert!(diff(&old, &un).is_err());
    // Real list: a list diffed against itself with one entry dropped.
    let full = load_list(&ListSource::OfacNonSdn, &shared("ofac-nonsdn")).unwrap();
    let mut smaller = full.clone();
    smaller.entries.remove(5);
    let d = diff(&full, &smaller).unwrap();
    assert_eq!((d.added.len(), d.removed.len(), d.changed.len()), (0, 1, 0));
}
