//! The preview: what the importer read from a letter, shaped for review before anything is
//! written. This is the JSON that `styr import letter FILE --dry-run --json` prints, so field
//! names are part of the CLI's contract. Every item carries the line it was read from.

use chrono::NaiveDate;
use serde::Serialize;
use styr_domain::{AssignmentReference, DepartmentCode, OrgCode, PartLabel, Year};

/// Who the letter is from and to, and for which year; the parser checks the text against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportContext {
    /// Checked against department markers (`Avd. HOD: SHA`).
    pub ministry: OrgCode,
    /// Carried for the caller; letters name the agency in words, so the text is not checked.
    pub agency: OrgCode,
    /// Checked against titles and references; dates printed without a year get this one.
    pub year: Year,
}

/// Everything read from one file: the letter and the supplements found inside its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportPreview {
    pub letters: Vec<LetterDraft>,
    /// Things a reviewer should check: normalised references, inferred dates, sums that do
    /// not add up. Sorted by line.
    pub warnings: Vec<Warning>,
    /// Lines inside an assignment table, budget table or steering calendar that the parser
    /// could not place. Nothing there is dropped silently.
    pub unparsed: Vec<UnparsedLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterKind {
    /// The annual tildelingsbrev.
    Letter,
    /// Tillegg nr. N / supplerende tildelingsbrev nr. N.
    Supplement,
}

/// One letter or supplement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterDraft {
    pub kind: LetterKind,
    /// The supplement's number; `None` for the letter itself.
    pub number: Option<u32>,
    pub date: Option<NaiveDate>,
    pub title: String,
    /// Line of the title or supplement heading.
    pub line: usize,
    pub goals: Vec<GoalDraft>,
    pub assignments: Vec<AssignmentDraft>,
    pub budget_lines: Vec<BudgetLineDraft>,
    pub calendar: Vec<CalendarItemDraft>,
    pub steering_parameters: Vec<GoalListItem>,
    pub key_figures: Vec<GoalListItem>,
}

/// Mål: a goal of the letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoalDraft {
    /// 1, 2, 3 … in the order the letter states its goals.
    pub number: u32,
    /// Section as printed, e.g. `"2.1"`.
    pub section: Option<String>,
    pub text: String,
    /// Vurderingskriterier.
    pub assessment_criteria: Vec<String>,
    pub line: usize,
}

/// A styringsparameter or nøkkeltall, with the goal it is listed under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoalListItem {
    pub goal: Option<u32>,
    pub text: String,
    pub line: usize,
}

/// Oppdrag: one assignment row of the letter or one assignment a supplement adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentDraft {
    /// `TB2024-12`, normalised; `None` when the number is missing.
    pub reference: Option<AssignmentReference>,
    /// The reference exactly as printed (`TB2024-`, `TB 2024:`); `None` if nothing was printed.
    pub reference_as_printed: Option<String>,
    pub title: String,
    pub department: Option<DepartmentCode>,
    /// e.g. `AVD. HOD: SHA`.
    pub department_as_printed: Option<String>,
    pub description: String,
    pub parts: Vec<PartDraft>,
    pub deadlines: Vec<DeadlineDraft>,
    /// The letter says the deadline will be agreed later ("frist avtales", "etter nærmere
    /// avtale") and gives no date for it.
    pub deadline_to_be_agreed: bool,
    /// The content will be specified later ("vil bli spesifisert i løpende dialog",
    /// "departementet kommer tilbake").
    pub to_be_specified: bool,
    /// Not headed as an assignment, but the text asks the agency to act ("Vi ber …").
    pub implicit: bool,
    /// A date the assignment takes effect from ("fra 1. juli 2024"); not a deadline.
    pub effective_from: Option<NaiveDate>,
    /// The goal whose section lists the assignment.
    pub goal: Option<u32>,
    pub line: usize,
}

/// A labelled part, `a)` / `B.`, of a multi-part assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartDraft {
    pub label: PartLabel,
    pub text: String,
    pub line: usize,
}

/// Frist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineDraft {
    pub part: Option<PartLabel>,
    pub date: NaiveDate,
    pub date_as_printed: String,
    pub year_inferred: bool,
}

/// The unit of [`BudgetLineDraft::amount`]. Millions in prose are converted to thousands
/// (the letters' table unit) so amounts stay integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    #[serde(rename = "NOK thousand")]
    NokThousand,
    #[serde(rename = "NOK")]
    Nok,
}

/// Kapittel/post with an amount, from a budget table or a supplement's prose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetLineDraft {
    pub chapter: u16,
    pub post: u8,
    pub name: Option<String>,
    pub amount: i64,
    pub unit: Unit,
    /// The figure as printed, e.g. `429 548` or `1,289`.
    pub amount_as_printed: String,
    /// The unit as printed, e.g. `i 1 000 kr` or `mill. kroner`.
    pub unit_as_printed: String,
    /// A change to an earlier allocation (supplements), not an allocation of its own.
    pub change: bool,
    /// "kan overføres": unspent money may be carried over.
    pub transferable: bool,
    pub line: usize,
}

/// One line of the styringskalender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarItemDraft {
    pub date: NaiveDate,
    pub date_as_printed: String,
    pub year_inferred: bool,
    pub title: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnparsedLine {
    pub line: usize,
    pub text: String,
}
