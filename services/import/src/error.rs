//! Why an import is refused. Each message says what is wrong with the file and, where it
//! helps, what to do about it; the CLI prints them as they are.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,

    #[error("the file contains only whitespace")]
    Blank,

    #[error("this is a binary file, not text: {reason}")]
    Binary { reason: String },

    #[error(
        "wrong encoding: byte 0x{byte:02X} at offset {offset} is not valid UTF-8{hint}; \
         save the letter as UTF-8 text and try again"
    )]
    WrongEncoding {
        offset: usize,
        byte: u8,
        /// A guess at the encoding actually used, e.g. " (the file looks like Latin-1)".
        hint: String,
    },

    #[error(
        "the letter is for {stated} (line {line}: {evidence:?}), but the import is for {expected}"
    )]
    YearMismatch {
        stated: i32,
        expected: i32,
        line: usize,
        evidence: String,
    },

    #[error(
        "no allocation letter found: the text has no goals, assignments, budget lines or \
         steering calendar that the importer recognises"
    )]
    NothingFound,
}
