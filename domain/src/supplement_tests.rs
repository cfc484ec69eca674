//! Given / when / then tests for the Supplement rules and the atomic cross-stream issue.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::*;
use crate::DomainEvent;
use crate::allocation_letter::{BudgetLine, BudgetLineAdded, LetterDrafted, LetterIssued};
use crate::assignment::AssignmentEvent;
use crate::error::DomainErrorKind;
use crate::testing::*;

fn hod() -> By {
    ministry_actor("HOD").by()
}
fn sid() -> SupplementId {
    SupplementId(Uuid::from_u128(500))
}
fn drafted() -> SupplementEvent {
    SupplementEvent::SupplementDrafted(SupplementDrafted {
        supplement_id: None,
        ministry: org("HOD"),
        agency: org("DMP"),
        year: year(),
        title: Text::new("title", "Supplerende nr. 2").unwrap(),
        by: hod(),
        at: t0(),
    })
}
fn change(n: u128, change: SupplementChange) -> SupplementEvent {
    SupplementEvent::ChangeAdded(ChangeAdded {
        change_id: ItemId(Uuid::from_u128(n)),
        change,
        by: hod(),
        at: t0(),
    })
}
fn rnb_adjustment() -> SupplementChange {
    let part = |m: &str, r: &str| AdjustmentPart {
        amount: NokThousands::parse_millions(m).unwrap(),
        reason: r.into(),
        effective: None,
    };
    SupplementChange::BudgetAdjustment {
        chapter: Chapter::new(746).unwrap(),
        post: Post::parse("01").unwrap(),
        stated_total: NokThousands::parse_millions("13,3").unwrap(),
        parts: vec![
            part("3,5", "settlement scheme"),
            part("3,6", "preparedness"),
            part("2,4", "blood, cells and tissue"),
            part("4, 4", "full HTAs"),
        ],
        reason: "revised national budget 2024".into(),
        printed: Some("13,3 mill. kroner".into()),
    }
}
fn letter(supplements_before: u32) -> AllocationLetter {
    let mut events = vec![
        LetterEvent::LetterDrafted(LetterDrafted {
            ministry: org("HOD"),
            agency: org("DMP"),
            year: year(),
            title: Text::new("title", "TB 2024").unwrap(),
            case_ref: None,
            by: hod(),
            at: t0(),
        }),
        LetterEvent::BudgetLineAdded(BudgetLineAdded {
            item_id: ItemId(Uuid::from_u128(1)),
            line: BudgetLine {
                chapter: Chapter::new(746).unwrap(),
                post: Post::parse("01").unwrap(),
                amount: NokThousands(429_548),
                text: "Driftsutgifter".into(),
            },
            by: hod(),
            at: t0(),
        }),
        LetterEvent::LetterIssued(LetterIssued {
            issued_on: date(2024, 2, 5),
            by: hod(),
            at: t0(),
        }),
    ];
    for n in 1..=supplements_before {
        events.push(LetterEvent::SupplementRecorded(SupplementRecorded {
            supplement_id: SupplementId(Uuid::from_u128(u128::from(n))),
            number: n,
            issued_on: date(2024, 3, 20),
            by: hod(),
            at: t0(),
        }));
    }
    AllocationLetter::replay(&events)
}
fn issue(number: Option<u32>) -> IssueSupplement {
    IssueSupplement {
        supplement_id: sid(),
        number,
        issued_on: date(2024, 6, 27),
    }
}
fn new_assignment() -> NewAssignment {
    NewAssignment {
        assignment_id: AssignmentId(Uuid::from_u128(900)),
        reference: Some(AssignmentReference::parse("TB2024-20").unwrap()),
        department: None,
        title: "Beslutningsprosess for legemidler i folketrygden".into(),
        description: "".into(),
        goal: None,
        parts: vec![PartSpec {
            label: None,
            title: None,
            deadline: DeadlineTerm::Date(date(2024, 9, 9)),
        }],
        collaborators: vec![],
    }
}

#[test]
fn given_nothing_when_ministry_drafts_then_drafted_and_agency_cannot() {
    let cmd = || SupplementCommand::Draft {
        ministry: org("HOD"),
        agency: org("DMP"),
        year: year(),
        title: "Supplerende nr. 2".into(),
    };
    TestFramework::<Supplement>::with(ministry_ctx("HOD"))
        .when(cmd())
        .then_expect_events(vec![drafted()]);
    TestFramework::<Supplement>::with(agency_ctx("DMP"))
        .when(cmd())
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_draft_when_change_added_then_kept_and_blank_text_refused() {
    TestFramework::<Supplement>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(SupplementCommand::AddChange(Box::new(rnb_adjustment())))
        .then_expect_events(vec![SupplementEvent::ChangeAdded(ChangeAdded {
            change_id: ItemId(nth_id(1)),
            change: rnb_adjustment(),
            by: hod(),
            at: t0(),
        })]);
    TestFramework::<Supplement>::with(ministry_ctx("HOD"))
        .given(vec![drafted()])
        .when(SupplementCommand::AddChange(Box::new(
            SupplementChange::FreeText { text: " ".into() },
        )))
        .then_expect_validation_of("text");
}

#[test]
fn given_budget_change_whose_parts_disagree_then_mismatch_flagged_and_stated_total_kept() {
    let s = Supplement::replay(&[drafted(), change(1, rnb_adjustment())]);
    let d = s.details.unwrap();
    assert_eq!(
        d.budget_mismatches(),
        vec![(
            ItemId(Uuid::from_u128(1)),
            NokThousands(13_300),
            NokThousands(13_900)
        )]
    );
}

#[test]
fn given_issued_supplement_when_edited_then_rule_violated() {
    let issued = SupplementEvent::SupplementIssued(SupplementIssued {
        number: 1,
        issued_on: date(2024, 3, 20),
        by: hod(),
        at: t0(),
    });
    TestFramework::<Supplement>::with(ministry_ctx("HOD"))
        .given(vec![drafted(), change(1, rnb_adjustment()), issued])
        .when(SupplementCommand::AddChange(Box::new(
            SupplementChange::FreeText { text: "x".into() },
        )))
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "nr. 1");
}

#[test]
fn given_letter_with_one_supplement_when_issued_then_number_two_and_budget_adjusted() {
    let s = Supplement::replay(&[drafted(), change(1, rnb_adjustment())]);
    let appends = issue_supplement(
        &s,
        &letter(1),
        &BTreeMap::new(),
        issue(None),
        &ministry_ctx("HOD"),
    )
    .unwrap();
    assert_eq!(appends.len(), 2);
    assert_eq!(appends[0].stream_type, "supplement");
    assert_eq!(appends[0].stream_id, sid().to_string());
    assert!(matches!(
        &appends[0].events[..],
        [AnyEvent::Supplement(SupplementEvent::SupplementIssued(
            SupplementIssued { number: 2, .. }
        ))]
    ));
    assert_eq!(appends[1].stream_id, "HOD:DMP:2024");
    let mut l = letter(1);
    for e in &appends[1].events {
        let AnyEvent::Letter(e) = e else {
            panic!("not a letter event")
        };
        l.evolve(e);
    }
    let d = l.details.unwrap();
    assert_eq!(d.next_supplement_number(), 3);
    // The stated total is applied, not the sum of parts.
    assert_eq!(
        d.allocation(Chapter::new(746).unwrap(), Post::parse("01").unwrap()),
        NokThousands(429_548 + 13_300)
    );
}

#[test]
fn given_number_used_when_issued_with_it_then_conflict_and_gap_refused() {
    let s = Supplement::replay(&[drafted(), change(1, rnb_adjustment())]);
    let r = issue_supplement(
        &s,
        &letter(2),
        &BTreeMap::new(),
        issue(Some(2)),
        &ministry_ctx("HOD"),
    );
    assert_eq!(r.unwrap_err().kind(), DomainErrorKind::Conflict);
    let r = issue_supplement(
        &s,
        &letter(2),
        &BTreeMap::new(),
        issue(Some(4)),
        &ministry_ctx("HOD"),
    );
    let e = r.unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::RuleViolated);
    assert!(e.to_string().contains("gap"));
    let appends = issue_supplement(
        &s,
        &letter(2),
        &BTreeMap::new(),
        issue(Some(3)),
        &ministry_ctx("HOD"),
    )
    .expect("the next number is accepted");
    assert_eq!(
        appends[0].events,
        vec![AnyEvent::Supplement(SupplementEvent::SupplementIssued(
            SupplementIssued {
                number: 3,
                issued_on: date(2024, 6, 27),
                by: hod(),
                at: t0(),
            }
        ))]
    );
}

#[test]
fn given_draft_letter_when_supplement_issued_then_rule_violated() {
    let s = Supplement::replay(&[drafted(), change(1, rnb_adjustment())]);
    let draft_letter = AllocationLetter::replay(&[LetterEvent::LetterDrafted(LetterDrafted {
        ministry: org("HOD"),
        agency: org("DMP"),
        year: year(),
        title: Text::new("title", "TB").unwrap(),
        case_ref: None,
        by: hod(),
        at: t0(),
    })]);
    let e = issue_supplement(
        &s,
        &draft_letter,
        &BTreeMap::new(),
        issue(None),
        &ministry_ctx("HOD"),
    )
    .unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::RuleViolated);
}

#[test]
fn given_empty_supplement_when_issued_then_rule_violated_and_agency_forbidden() {
    let s = Supplement::replay(&[drafted()]);
    let e = issue_supplement(
        &s,
        &letter(0),
        &BTreeMap::new(),
        issue(None),
        &ministry_ctx("HOD"),
    )
    .unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::RuleViolated);
    let s = Supplement::replay(&[drafted(), change(1, rnb_adjustment())]);
    let e = issue_supplement(
        &s,
        &letter(0),
        &BTreeMap::new(),
        issue(None),
        &agency_ctx("DMP"),
    )
    .unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::Forbidden);
}

#[test]
fn given_new_assignment_and_cancel_when_issued_then_events_for_every_stream() {
    // An existing assignment to cancel.
    let existing_id = AssignmentId(Uuid::from_u128(901));
    let mut existing_cmd = new_assignment();
    existing_cmd.assignment_id = existing_id;
    existing_cmd.reference = Some(AssignmentReference::parse("TB2024-5").unwrap());
    let existing = Assignment::default()
        .decide(
            AssignmentCommand::Issue(Box::new(IssueAssignment {
                assignment_id: existing_id,
                reference: existing_cmd.reference.clone(),
                ministry: org("HOD"),
                agency: org("DMP"),
                year: year(),
                department: None,
                title: "Old".into(),
                description: String::new(),
                goal: None,
                source: AssignmentSource::Letter,
                parts: existing_cmd.parts.clone(),
                collaborators: vec![],
                carried_over_from: None,
            })),
            &ministry_ctx("HOD"),
        )
        .map(|ev| Assignment::replay(&ev))
        .unwrap();
    let s = Supplement::replay(&[
        drafted(),
        change(
            1,
            SupplementChange::AddAssignment(Box::new(new_assignment())),
        ),
        change(
            2,
            SupplementChange::CancelAssignment {
                assignment_id: existing_id,
                reason: "replaced by the new process".into(),
            },
        ),
        change(
            3,
            SupplementChange::FreeText {
                text: "DMP and Hdir implement the reimbursement of Rybelsus from 1 July".into(),
            },
        ),
    ]);
    let d = s.details.as_ref().unwrap();
    assert_eq!(
        d.affected_assignments(),
        vec![AssignmentId(Uuid::from_u128(900)), existing_id]
    );
    let mut loaded = BTreeMap::new();
    loaded.insert(AssignmentId(Uuid::from_u128(900)), Assignment::default());
    loaded.insert(existing_id, existing);
    let appends =
        issue_supplement(&s, &letter(1), &loaded, issue(None), &ministry_ctx("HOD")).unwrap();
    assert_eq!(appends.len(), 4);
    let new_stream = appends
        .iter()
        .find(|a| a.stream_id == AssignmentId(Uuid::from_u128(900)).to_string())
        .unwrap();
    assert!(matches!(
        &new_stream.events[..],
        [AnyEvent::Assignment(AssignmentEvent::AssignmentIssued(e))]
            if e.source == AssignmentSource::Supplement { supplement_id: sid(), number: 2 }
    ));
    let old_stream = appends
        .iter()
        .find(|a| a.stream_id == existing_id.to_string())
        .unwrap();
    assert!(matches!(
        &old_stream.events[..],
        [AnyEvent::Assignment(AssignmentEvent::AssignmentCancelled(e))]
            if e.source == ChangeSource::Supplement { supplement_id: sid(), number: 2 }
    ));
    let letter_stream = appends
        .iter()
        .find(|a| a.stream_id == "HOD:DMP:2024")
        .unwrap();
    assert!(letter_stream.events.iter().any(|e| matches!(
        e,
        AnyEvent::Letter(LetterEvent::AssignmentListed(l)) if l.assignment_id == AssignmentId(Uuid::from_u128(900))
    )));
    // Everything round-trips through the stored form.
    for a in &appends {
        for e in &a.events {
            let back = AnyEvent::from_stored(
                a.stream_type,
                e.event_type(),
                e.schema_version(),
                e.to_payload(),
            )
            .unwrap();
            assert_eq!(&back, e);
        }
    }
}

#[test]
fn given_cancel_of_a_cancelled_assignment_when_issued_then_nothing_is_appended() {
    let id = AssignmentId(Uuid::from_u128(902));
    let mut a = Assignment::default();
    let ctx = ministry_ctx("HOD");
    let mut cmd = new_assignment();
    cmd.assignment_id = id;
    for e in Assignment::default()
        .decide(
            AssignmentCommand::Issue(Box::new(IssueAssignment {
                assignment_id: id,
                reference: None,
                ministry: org("HOD"),
                agency: org("DMP"),
                year: year(),
                department: None,
                title: "x".into(),
                description: String::new(),
                goal: None,
                source: AssignmentSource::Letter,
                parts: cmd.parts.clone(),
                collaborators: vec![],
                carried_over_from: None,
            })),
            &ctx,
        )
        .unwrap()
    {
        a.evolve(&e);
    }
    for e in a
        .decide(
            AssignmentCommand::Cancel {
                reason: "first".into(),
                source: ChangeSource::Direct,
            },
            &ctx,
        )
        .unwrap()
    {
        a.evolve(&e);
    }
    let s = Supplement::replay(&[
        drafted(),
        change(1, rnb_adjustment()),
        change(
            2,
            SupplementChange::CancelAssignment {
                assignment_id: id,
                reason: "again".into(),
            },
        ),
    ]);
    let mut loaded = BTreeMap::new();
    loaded.insert(id, a);
    let e = issue_supplement(&s, &letter(0), &loaded, issue(None), &ctx).unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::RuleViolated);
    assert!(e.to_string().contains("cancelled"));
}

#[test]
fn given_new_assignment_reusing_a_listed_reference_when_issued_then_conflict() {
    let s = Supplement::replay(&[
        drafted(),
        change(
            1,
            SupplementChange::AddAssignment(Box::new(new_assignment())),
        ),
        change(2, {
            let mut n = new_assignment();
            n.assignment_id = AssignmentId(Uuid::from_u128(903));
            SupplementChange::AddAssignment(Box::new(n))
        }),
    ]);
    let mut loaded = BTreeMap::new();
    loaded.insert(AssignmentId(Uuid::from_u128(900)), Assignment::default());
    loaded.insert(AssignmentId(Uuid::from_u128(903)), Assignment::default());
    let e =
        issue_supplement(&s, &letter(0), &loaded, issue(None), &ministry_ctx("HOD")).unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::Conflict);
}

#[test]
fn given_unloaded_assignment_when_issued_then_not_found() {
    let s = Supplement::replay(&[
        drafted(),
        change(
            1,
            SupplementChange::CancelAssignment {
                assignment_id: AssignmentId(Uuid::from_u128(904)),
                reason: "x".into(),
            },
        ),
    ]);
    let e = issue_supplement(
        &s,
        &letter(0),
        &BTreeMap::new(),
        issue(None),
        &ministry_ctx("HOD"),
    )
    .unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::NotFound);
}

#[test]
fn given_added_assignment_when_added_again_then_conflict() {
    TestFramework::<Supplement>::with(ministry_ctx("HOD"))
        .given(vec![
            drafted(),
            change(
                1,
                SupplementChange::AddAssignment(Box::new(new_assignment())),
            ),
        ])
        .when(SupplementCommand::AddChange(Box::new(
            SupplementChange::AddAssignment(Box::new(new_assignment())),
        )))
        .then_expect_error_kind(DomainErrorKind::Conflict);
}

/// An assignment issued by HOD to `agency` for `year`, loaded as the workflow would.
fn existing_assignment(id: AssignmentId, agency: &str, year: Year) -> Assignment {
    let events = Assignment::default()
        .decide(
            AssignmentCommand::Issue(Box::new(IssueAssignment {
                assignment_id: id,
                reference: None,
                ministry: org("HOD"),
                agency: org(agency),
                year,
                department: None,
                title: "Existing".into(),
                description: String::new(),
                goal: None,
                source: AssignmentSource::Letter,
                parts: new_assignment().parts,
                collaborators: vec![],
                carried_over_from: None,
            })),
            &ministry_ctx("HOD"),
        )
        .unwrap();
    Assignment::replay(&events)
}

fn cancel_change(id: AssignmentId) -> SupplementEvent {
    change(
        2,
        SupplementChange::CancelAssignment {
            assignment_id: id,
            reason: "replaced".into(),
        },
    )
}

#[test]
fn given_another_agencys_assignment_when_supplement_cancels_it_then_rule_violated() {
    let id = AssignmentId(Uuid::from_u128(910));
    let s = Supplement::replay(&[drafted(), cancel_change(id)]);
    let loaded = BTreeMap::from([(id, existing_assignment(id, "FHI", year()))]);
    let e =
        issue_supplement(&s, &letter(0), &loaded, issue(None), &ministry_ctx("HOD")).unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::RuleViolated);
    assert!(
        e.to_string().contains(
            "HOD to FHI for 2024) does not belong to the letter from HOD to DMP for 2024"
        ),
        "{e}"
    );
}

#[test]
fn given_own_agencys_assignment_when_supplement_cancels_it_then_cancelled() {
    let id = AssignmentId(Uuid::from_u128(911));
    let s = Supplement::replay(&[drafted(), cancel_change(id)]);
    let loaded = BTreeMap::from([(id, existing_assignment(id, "DMP", year()))]);
    let appends =
        issue_supplement(&s, &letter(0), &loaded, issue(None), &ministry_ctx("HOD")).unwrap();
    let stream = appends
        .iter()
        .find(|a| a.stream_id == id.to_string())
        .expect("the assignment's stream");
    assert_eq!(
        stream.events,
        vec![AnyEvent::Assignment(AssignmentEvent::AssignmentCancelled(
            crate::assignment::AssignmentCancelled {
                reason: Text::new("reason", "replaced").unwrap(),
                source: ChangeSource::Supplement {
                    supplement_id: sid(),
                    number: 1,
                },
                by: hod(),
                at: t0(),
            }
        ))]
    );
}

#[test]
fn given_assignment_listed_in_the_letter_but_transferred_away_when_supplement_amends_it_then_allowed()
 {
    let id = AssignmentId(Uuid::from_u128(912));
    let mut l = letter(0);
    l.evolve(&LetterEvent::AssignmentListed(AssignmentListed {
        item_id: ItemId(Uuid::from_u128(77)),
        assignment_id: id,
        reference: None,
        title: Text::new("title", "Existing").unwrap(),
        source: ChangeSource::Direct,
        by: hod(),
        at: t0(),
    }));
    let s = Supplement::replay(&[drafted(), cancel_change(id)]);
    // Transferred from DMP to FHI: no longer DMP's, but still listed in DMP's letter.
    let loaded = BTreeMap::from([(id, existing_assignment(id, "FHI", year()))]);
    let appends = issue_supplement(&s, &l, &loaded, issue(None), &ministry_ctx("HOD")).unwrap();
    assert_eq!(appends.len(), 3);
}

#[test]
fn given_previous_years_assignment_when_supplement_cancels_it_then_rule_violated() {
    let id = AssignmentId(Uuid::from_u128(913));
    let s = Supplement::replay(&[drafted(), cancel_change(id)]);
    let loaded = BTreeMap::from([(id, existing_assignment(id, "DMP", Year::new(2023).unwrap()))]);
    let e =
        issue_supplement(&s, &letter(0), &loaded, issue(None), &ministry_ctx("HOD")).unwrap_err();
    assert_eq!(e.kind(), DomainErrorKind::RuleViolated);
}

#[test]
fn given_supplement_drafted_with_its_id_when_issued_under_another_id_then_validation() {
    let drafted_with_id = TestFramework::<Supplement>::with(ministry_ctx("HOD"))
        .when(SupplementCommand::DraftWithId {
            supplement_id: sid(),
            ministry: org("HOD"),
            agency: org("DMP"),
            year: year(),
            title: "Supplerende nr. 2".into(),
        })
        .then_expect_events(vec![SupplementEvent::SupplementDrafted(
            SupplementDrafted {
                supplement_id: Some(sid()),
                ministry: org("HOD"),
                agency: org("DMP"),
                year: year(),
                title: Text::new("title", "Supplerende nr. 2").unwrap(),
                by: hod(),
                at: t0(),
            },
        )]);
    let mut s = drafted_with_id;
    s.evolve(&change(1, rnb_adjustment()));
    let mut other = issue(None);
    other.supplement_id = SupplementId(Uuid::from_u128(501));
    let e = issue_supplement(
        &s,
        &letter(0),
        &BTreeMap::new(),
        other,
        &ministry_ctx("HOD"),
    )
    .unwrap_err();
    assert_eq!(
        e,
        DomainError::validation(
            "supplement_id",
            format!(
                "the loaded supplement is {}, not {}",
                sid(),
                SupplementId(Uuid::from_u128(501))
            )
        )
    );
    let ok = issue_supplement(
        &s,
        &letter(0),
        &BTreeMap::new(),
        issue(None),
        &ministry_ctx("HOD"),
    )
    .unwrap();
    assert_eq!(ok[0].stream_id, sid().to_string());
}

#[test]
fn given_supplement_id_already_recorded_on_the_letter_when_issued_then_conflict() {
    let s = Supplement::replay(&[drafted(), change(1, rnb_adjustment())]);
    let mut reused = issue(None);
    // `letter(2)` records supplements 1 and 2 under the ids 1 and 2.
    reused.supplement_id = SupplementId(Uuid::from_u128(2));
    let e = issue_supplement(
        &s,
        &letter(2),
        &BTreeMap::new(),
        reused,
        &ministry_ctx("HOD"),
    )
    .unwrap_err();
    assert_eq!(
        e,
        DomainError::conflict(format!(
            "supplement {} is already recorded on this letter as nr. 2",
            SupplementId(Uuid::from_u128(2))
        ))
    );
}

#[test]
fn given_stored_draft_without_id_when_loaded_then_id_is_none() {
    let payload = serde_json::json!({
        "ministry": "HOD", "agency": "DMP", "year": 2024, "title": "Supplerende nr. 2",
        "by": {"subject": "s", "display_name": "K", "organisation": "HOD"},
        "at": "2024-02-05T09:00:00Z"
    });
    let e = SupplementEvent::from_stored("SupplementDrafted", 1, payload).unwrap();
    let SupplementEvent::SupplementDrafted(d) = e else {
        panic!("expected a draft")
    };
    assert_eq!(d.supplement_id, None);
}
