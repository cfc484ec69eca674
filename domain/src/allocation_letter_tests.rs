//! Given / when / then tests for the AllocationLetter rules.

use chrono::NaiveDate;
use uuid::Uuid;

use super::*;
use crate::error::DomainErrorKind;
use crate::testing::*;

fn hod() -> By {
    ministry_actor("HOD").by()
}
fn drafted() -> LetterEvent {
    LetterEvent::LetterDrafted(LetterDrafted {
        ministry: org("HOD"),
        agency: org("DMP"),
        year: year(),
        title: Text::new("title", "Tildelingsbrev for DMP 2024").unwrap(),
        case_ref: Some("23/3412".into()),
        by: hod(),
        at: t0(),
    })
}
fn line(chapter: u16, post: &str, amount: i64) -> BudgetLine {
    BudgetLine {
        chapter: Chapter::new(chapter).unwrap(),
        post: Post::parse(post).unwrap(),
        amount: NokThousands(amount),
        text: "Driftsutgifter".into(),
    }
}
fn line_added(n: u128, chapter: u16, post: &str, amount: i64) -> LetterEvent {
    LetterEvent::BudgetLineAdded(BudgetLineAdded {
        item_id: ItemId(Uuid::from_u128(n)),
        line: line(chapter, post, amount),
        by: hod(),
        at: t0(),
    })
}
fn issued() -> LetterEvent {
    LetterEvent::LetterIssued(LetterIssued {
        issued_on: NaiveDate::from_ymd_opt(2024, 2, 5).unwrap(),
        by: hod(),
        at: t0(),
    })
}
fn draft_cmd() -> LetterCommand {
    LetterCommand::Draft {
        ministry: org("HOD"),
        agency: org("DMP"),
        year: year(),
        title: "Tildelingsbrev for DMP 2024".into(),
        case_ref: Some("23/3412".into()),
    }
}

#[test]
fn stream_id_is_ministry_agency_year() {
    assert_eq!(
        letter_stream_id(&org("HOD"), &org("DMP"), year()),
        "HOD:DMP:2024"
    );
    assert_eq!(AllocationLetter::STREAM_TYPE, "allocation_letter");
}

#[test]
fn given_nothing_when_ministry_drafts_then_drafted() {
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given_no_previous_events()
        .when(draft_cmd())
        .then_expect_events(vec![drafted()]);
}

#[test]
fn given_drafted_when_drafted_again_then_conflict() {
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(draft_cmd())
        .then_expect_error_kind(DomainErrorKind::Conflict);
}

#[test]
fn given_nothing_when_agency_drafts_then_forbidden() {
    TestFramework::<AllocationLetter>::with(agency_ctx("DMP"))
        .when(draft_cmd())
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_draft_when_budget_line_added_then_added_with_new_item_id() {
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(LetterCommand::AddBudgetLine(line(746, "01", 429_548)))
        .then_expect_events(vec![LetterEvent::BudgetLineAdded(BudgetLineAdded {
            item_id: ItemId(nth_id(1)),
            line: line(746, "01", 429_548),
            by: hod(),
            at: t0(),
        })]);
}

#[test]
fn given_line_when_same_chapter_and_post_added_then_conflict() {
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted(), line_added(1, 746, "01", 429_548)])
        .when(LetterCommand::AddBudgetLine(line(746, "01", 1)))
        .then_expect_error_containing(DomainErrorKind::Conflict, "kap. 746 post 01");
}

#[test]
fn given_draft_by_hod_when_other_ministry_edits_then_forbidden() {
    TestFramework::<AllocationLetter>::with(ministry_ctx("FIN"))
        .given(vec![drafted()])
        .when(LetterCommand::AddBudgetLine(line(746, "01", 1)))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_draft_when_auditor_edits_then_forbidden() {
    TestFramework::<AllocationLetter>::with(auditor_ctx())
        .given(vec![drafted()])
        .when(LetterCommand::AddBudgetLine(line(746, "01", 1)))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_issued_when_edited_then_rule_violated_pointing_to_supplements() {
    for cmd in [
        LetterCommand::AddBudgetLine(line(746, "21", 44_434)),
        LetterCommand::AddReportingRequirement {
            text: "exercises per half year".into(),
            due: DeadlineTerm::NoDeadline,
        },
        LetterCommand::RemoveItem {
            item_id: ItemId(Uuid::from_u128(1)),
        },
        LetterCommand::Issue {
            issued_on: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
        },
    ] {
        TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
            .given(vec![drafted(), line_added(1, 746, "01", 429_548), issued()])
            .when(cmd)
            .then_expect_error_containing(DomainErrorKind::RuleViolated, "supplement");
    }
}

#[test]
fn given_empty_draft_when_issued_then_rule_violated() {
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(LetterCommand::Issue {
            issued_on: NaiveDate::from_ymd_opt(2024, 2, 5).unwrap(),
        })
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "empty");
}

#[test]
fn given_draft_with_line_when_issued_then_issued() {
    let state = TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted(), line_added(1, 746, "01", 429_548)])
        .when(LetterCommand::Issue {
            issued_on: NaiveDate::from_ymd_opt(2024, 2, 5).unwrap(),
        })
        .then_expect_events(vec![issued()]);
    let d = state.details.unwrap();
    assert!(d.is_issued());
    assert_eq!(d.next_supplement_number(), 1);
}

#[test]
fn given_draft_when_goal_with_criteria_added_then_kept() {
    let goal = Goal {
        section: "2.1".into(),
        title: Text::new("title", "Rask tilgang til medisinske produkter").unwrap(),
        assessment_criteria: vec!["I) how does the directorate …".into()],
        steering_parameters: vec!["within 180 days".into()],
        key_figures: vec!["number of applications".into()],
    };
    let state = TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(LetterCommand::AddGoal(Box::new(goal.clone())))
        .state_after();
    assert_eq!(
        state.details.as_ref().unwrap().goals.values().next(),
        Some(&goal)
    );
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![
            drafted(),
            LetterEvent::GoalAdded(GoalAdded {
                item_id: ItemId(Uuid::from_u128(5)),
                goal: goal.clone(),
                by: hod(),
                at: t0(),
            }),
        ])
        .when(LetterCommand::AddGoal(Box::new(goal)))
        .then_expect_error_kind(DomainErrorKind::Conflict);
}

#[test]
fn given_draft_when_listing_reference_of_another_year_or_twice_then_refused() {
    let listed = LetterEvent::AssignmentListed(AssignmentListed {
        item_id: ItemId(Uuid::from_u128(3)),
        assignment_id: AssignmentId(Uuid::from_u128(30)),
        reference: Some(AssignmentReference::parse("TB2024-12").unwrap()),
        title: Text::new("title", "Tobakk").unwrap(),
        source: ChangeSource::Direct,
        by: hod(),
        at: t0(),
    });
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(LetterCommand::ListAssignment {
            assignment_id: AssignmentId(Uuid::from_u128(31)),
            reference: Some(AssignmentReference::parse("TB2023-1").unwrap()),
            title: "x".into(),
        })
        .then_expect_validation_of("reference");
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted(), listed.clone()])
        .when(LetterCommand::ListAssignment {
            assignment_id: AssignmentId(Uuid::from_u128(31)),
            reference: Some(AssignmentReference::parse("TB2024-12").unwrap()),
            title: "x".into(),
        })
        .then_expect_error_containing(DomainErrorKind::Conflict, "TB2024-12");
    // Items printed without a number can be listed side by side.
    let state = TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted(), listed])
        .when(LetterCommand::ListAssignment {
            assignment_id: AssignmentId(Uuid::from_u128(32)),
            reference: None,
            title: "Gjensidig anerkjennelsesavtaler (MRA)".into(),
        })
        .state_after();
    assert_eq!(state.details.unwrap().assignments.len(), 2);
}

#[test]
fn given_lines_when_printed_chapter_sum_differs_then_mismatch_is_flagged_not_fixed() {
    let state = TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![
            drafted(),
            line_added(1, 746, "01", 429_548),
            line_added(2, 746, "21", 44_434),
        ])
        .when(LetterCommand::StateChapterSum {
            chapter: Chapter::new(746).unwrap(),
            sum: NokThousands(473_983),
        })
        .state_after();
    let d = state.details.unwrap();
    assert_eq!(
        d.chapter_sum_mismatches(),
        vec![(
            Chapter::new(746).unwrap(),
            NokThousands(473_983),
            NokThousands(473_982)
        )]
    );
    assert_eq!(
        d.stated_sums[&Chapter::new(746).unwrap()],
        NokThousands(473_983)
    );
}

#[test]
fn given_draft_when_threshold_empty_then_validation() {
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(LetterCommand::SetDeviationThreshold(DeviationThreshold {
            amount: None,
            per_mille: None,
        }))
        .then_expect_validation_of("threshold");
}

#[test]
fn given_line_when_removed_then_gone_and_unknown_item_not_found() {
    let state = TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted(), line_added(1, 746, "01", 429_548)])
        .when(LetterCommand::RemoveItem {
            item_id: ItemId(Uuid::from_u128(1)),
        })
        .state_after();
    assert!(state.details.unwrap().budget_lines.is_empty());
    TestFramework::<AllocationLetter>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(LetterCommand::RemoveItem {
            item_id: ItemId(Uuid::from_u128(1)),
        })
        .then_expect_error_kind(DomainErrorKind::NotFound);
}

#[test]
fn given_adjustments_when_allocation_asked_then_line_plus_adjustments() {
    let adj = |delta: i64| {
        LetterEvent::BudgetAdjusted(BudgetAdjusted {
            chapter: Chapter::new(746).unwrap(),
            post: Post::parse("01").unwrap(),
            delta: NokThousands(delta),
            reason: Text::new("reason", "RNB").unwrap(),
            source: ChangeSource::Direct,
            by: hod(),
            at: t0(),
        })
    };
    let state = AllocationLetter::replay(&[
        drafted(),
        line_added(1, 746, "01", 429_548),
        issued(),
        adj(1_289),
        adj(13_300),
    ]);
    assert_eq!(
        state
            .details
            .unwrap()
            .allocation(Chapter::new(746).unwrap(), Post::parse("01").unwrap()),
        NokThousands(444_137)
    );
}
