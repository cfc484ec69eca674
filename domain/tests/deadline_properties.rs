//! Property: the deadline monitor reports each due date missed at most once, never before
//! the Oslo date has passed, and never for a met or waived deadline, whatever the order of
//! moves, deliveries and monitor runs.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use styr_domain::deadline::*;
use styr_domain::testing::{agency_actor, ministry_actor};
use styr_domain::*;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Step {
    Monitor(u16, u8),
    Move(u16),
    Meet(u16),
    Waive,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u16..200, 0u8..24).prop_map(|(d, h)| Step::Monitor(d, h)),
        2 => (0u16..200).prop_map(Step::Move),
        1 => (0u16..200).prop_map(Step::Meet),
        1 => Just(Step::Waive),
    ]
}

fn day(d: u16) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Duration::days(i64::from(d))
}

proptest! {
    #[test]
    fn missed_is_reported_once_per_due_date_and_only_after_it(
        due in 0u16..150,
        steps in proptest::collection::vec(step(), 0..30),
    ) {
        let org = |s: &str| OrgCode::parse(s).unwrap();
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 8, 0, 0).unwrap();
        let ministry = CommandContext::new(ministry_actor("HOD"), start, Uuid::from_u128(1));
        let agency = CommandContext::new(agency_actor("DMP"), start, Uuid::from_u128(2));
        let mut state = Deadline::default();
        let mut all = Vec::new();
        for e in state
            .decide(
                DeadlineCommand::Set {
                    obligation: Obligation::CalendarItem { item_id: ItemId(Uuid::from_u128(3)) },
                    ministry: org("HOD"),
                    agency: org("DMP"),
                    due: day(due),
                },
                &ministry,
            )
            .unwrap()
        {
            state.evolve(&e);
            all.push(e);
        }
        for s in steps {
            let events = match s {
                Step::Monitor(d, h) => {
                    let now = Utc.from_utc_datetime(&day(d).and_hms_opt(u32::from(h), 0, 0).unwrap());
                    let events = state.detect_missed(now);
                    for e in &events {
                        if let DeadlineEvent::DeadlineMissed(m) = e {
                            prop_assert!(oslo_date(now) > m.due);
                            prop_assert_eq!(Some(m.due), state.details.as_ref().map(|x| x.due));
                        }
                    }
                    events
                }
                Step::Move(d) => state
                    .decide(DeadlineCommand::Move { new_due: day(d), cause: MoveCause::Other { reason: "x".into() } }, &ministry)
                    .unwrap_or_default(),
                Step::Meet(d) => state
                    .decide(DeadlineCommand::Meet { delivery_id: None, met_on: day(d) }, &agency)
                    .unwrap_or_default(),
                Step::Waive => state
                    .decide(DeadlineCommand::Waive { reason: "x".into() }, &ministry)
                    .unwrap_or_default(),
            };
            for e in events {
                state.evolve(&e);
                all.push(e);
            }
        }
        let mut missed: Vec<NaiveDate> = Vec::new();
        let mut closed = false;
        for e in &all {
            match e {
                DeadlineEvent::DeadlineMissed(m) => {
                    prop_assert!(!closed, "missed after met or waived");
                    prop_assert!(!missed.contains(&m.due), "missed twice for {}", m.due);
                    missed.push(m.due);
                }
                DeadlineEvent::DeadlineMet(_) | DeadlineEvent::DeadlineWaived(_) => closed = true,
                _ => {}
            }
        }
        prop_assert_eq!(Deadline::replay(&all), state);
    }
}
