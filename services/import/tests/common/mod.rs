//! Shared by the integration tests: the context of the 2024 HOD → DMP letter and the fixtures.
#![allow(dead_code)]

use styr_domain::{OrgCode, Year};
use styr_import::{ImportContext, ImportPreview, parse_letter};

pub fn ctx(year: i32) -> ImportContext {
    ImportContext {
        ministry: OrgCode::parse("HOD").unwrap(),
        agency: OrgCode::parse("DMP").unwrap(),
        year: Year::new(year).unwrap(),
    }
}

fn fixture(path: &str) -> String {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The real 2024 tildelingsbrev with Tillegg nr. 1 and Supplerende nr. 2, as PDF text.
pub fn seed_text() -> String {
    fixture("seeds/tildelingsbrev-2024-dmp.txt")
}

/// A small letter written to exercise every form the parser accepts.
pub fn synthetic_text() -> String {
    fixture("import/synthetic-2024.txt")
}

pub fn seed() -> ImportPreview {
    parse_letter(&seed_text(), &ctx(2024)).expect("the seed letter parses")
}

pub fn synthetic() -> ImportPreview {
    parse_letter(&synthetic_text(), &ctx(2024)).expect("the synthetic letter parses")
}

/// Warnings as (line, message) for compact assertions.
pub fn warnings(p: &ImportPreview) -> Vec<(usize, &str)> {
    p.warnings
        .iter()
        .map(|w| (w.line, w.message.as_str()))
        .collect()
}
