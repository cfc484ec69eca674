//! The read models against the real store, on SQLite and PostgreSQL: what the board shows and
//! to whom, and that a rebuild, concurrent projectors and an incremental build agree.

use std::sync::Arc;
use styr_eventstore::on_both_backends;

use chrono::{NaiveDate, TimeZone, Utc};
use styr_domain::assignment::{
    Assignment, AssignmentCommand, AssignmentSource, IssueAssignment, PartSpec, ReportStatus,
};
use styr_domain::values::{
    AssignmentId, AssignmentReference, DeadlineTerm, DepartmentCode, OrgCode, Period, TrafficLight,
    Year,
};
use styr_domain::{Actor, Role};
use styr_eventstore::testing::TestDatabase;
use styr_eventstore::{EventStore, StoreOptions};
use styr_workflow::projections::{
    BoardFilter, BoardQuery, BoardSort, BoardStatus, Projections, Scope,
};
use styr_workflow::{CommandMeta, ManualClock, Workflow};
use uuid::Uuid;

on_both_backends!(
    the_board_reflects_commands_after_settling,
    scopes_hide_other_agencies_and_ministries,
    filters_search_sort_and_count,
    rebuild_equals_incremental,
    concurrent_projectors_apply_each_event_once,
);

fn org(code: &str) -> OrgCode {
    OrgCode::parse(code).unwrap()
}

fn ministry(code: &str) -> Actor {
    Actor::new(
        "ola",
        "Ola",
        Role::Ministry,
        org(code),
        Some(DepartmentCode::parse("SHA").unwrap()),
    )
}

fn agency(code: &str) -> Actor {
    Actor::new("kari", "Kari", Role::Agency, org(code), None)
}

async fn setup(db: &TestDatabase) -> Workflow {
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap(),
    ));
    Workflow::with_clock(store, clock)
}

async fn issue(
    wf: &Workflow,
    ministry_code: &str,
    agency_code: &str,
    n: u32,
    title: &str,
    due: Option<(u32, u32)>,
) -> String {
    let id = AssignmentId(Uuid::now_v7());
    let deadline = match due {
        Some((m, d)) => DeadlineTerm::Date(NaiveDate::from_ymd_opt(2024, m, d).unwrap()),
        None => DeadlineTerm::ToBeAgreed,
    };
    let command = AssignmentCommand::Issue(Box::new(IssueAssignment {
        assignment_id: id,
        reference: Some(AssignmentReference::parse(&format!("TB2024-{n}")).unwrap()),
        ministry: org(ministry_code),
        agency: org(agency_code),
        year: Year::new(2024).unwrap(),
        department: Some(DepartmentCode::parse("SHA").unwrap()),
        title: title.into(),
        description: format!("Beskrivelse av {title}"),
        goal: Some("2.1".into()),
        source: AssignmentSource::Letter,
        parts: vec![PartSpec {
            label: None,
            title: None,
            deadline,
        }],
        collaborators: vec![],
        carried_over_from: None,
    }));
    let outcome = wf
        .execute::<Assignment>(
            &id.to_string(),
            command,
            &CommandMeta::new(ministry(ministry_code)),
        )
        .await
        .unwrap();
    wf.settle(&outcome).await.unwrap();
    id.to_string()
}

async fn report(wf: &Workflow, id: &str, agency_code: &str, light: TrafficLight) {
    let yellow_or_red = light != TrafficLight::Green;
    let command = AssignmentCommand::ReportStatus(Box::new(ReportStatus {
        period: Period::Tertial1,
        light,
        progress: "arbeidet pågår".into(),
        cause_and_consequence: yellow_or_red.then(|| "mangler data".into()),
        corrective_action: yellow_or_red.then(|| "ny plan".into()),
        year_end_phrase: None,
        normalised: None,
    }));
    let outcome = wf
        .execute::<Assignment>(id, command, &CommandMeta::new(agency(agency_code)))
        .await
        .unwrap();
    wf.settle(&outcome).await.unwrap();
}

fn query(scope: Scope) -> BoardQuery {
    BoardQuery {
        scope,
        filter: BoardFilter::default(),
        sort: BoardSort::NextDeadline,
        descending: false,
        offset: 0,
        limit: 50,
        today: NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
    }
}

async fn the_board_reflects_commands_after_settling(db: TestDatabase) {
    let wf = setup(&db).await;
    let id = issue(&wf, "HOD", "DMP", 12, "Tobakksstrategi", Some((3, 1))).await;
    let row = wf
        .projections()
        .board_row_by_id(&Scope::All, &id)
        .await
        .unwrap()
        .expect("projected at once");
    assert_eq!(row.status, BoardStatus::Issued);
    assert_eq!(row.reference.as_deref(), Some("TB2024-12"));
    assert_eq!(row.next_deadline, NaiveDate::from_ymd_opt(2024, 3, 1));
    report(&wf, &id, "DMP", TrafficLight::Yellow).await;
    let row = wf
        .projections()
        .board_row_by_id(&Scope::All, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, BoardStatus::InProgressDelayed);
    assert_eq!(row.traffic_light.as_deref(), Some("yellow"));
    assert_eq!(
        wf.projections().checkpoint().await.unwrap(),
        wf.log_head().await.unwrap().position
    );
}

async fn scopes_hide_other_agencies_and_ministries(db: TestDatabase) {
    let wf = setup(&db).await;
    let dmp = issue(&wf, "HOD", "DMP", 1, "Legemidler", Some((5, 1))).await;
    let fhi = issue(&wf, "HOD", "FHI", 2, "Vaksiner", Some((5, 1))).await;
    let fin = issue(&wf, "FIN", "SSB", 3, "Statistikk", Some((5, 1))).await;
    let p = wf.projections();
    let ids = |page: styr_workflow::projections::BoardPage| {
        let mut v: Vec<String> = page.rows.into_iter().map(|r| r.assignment_id).collect();
        v.sort();
        v
    };
    let mut hod = vec![dmp.clone(), fhi.clone()];
    hod.sort();
    assert_eq!(
        ids(p
            .board(&query(Scope::Ministry("HOD".into())))
            .await
            .unwrap()),
        hod
    );
    assert_eq!(
        ids(p.board(&query(Scope::Agency("DMP".into()))).await.unwrap()),
        vec![dmp.clone()]
    );
    assert_eq!(p.board(&query(Scope::All)).await.unwrap().total, 3);
    // Guessing an id from outside the scope finds nothing, and counts do not leak it.
    assert!(
        p.board_row_by_id(&Scope::Agency("DMP".into()), &fhi)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        p.board_row_by_id(&Scope::Ministry("HOD".into()), &fin)
            .await
            .unwrap()
            .is_none()
    );
    let counts = p
        .status_counts(&query(Scope::Agency("DMP".into())))
        .await
        .unwrap();
    assert_eq!(counts, vec![(BoardStatus::Issued, 1)]);
    // A filter cannot widen the scope.
    let mut q = query(Scope::Agency("DMP".into()));
    q.filter.agency = Some("FHI".into());
    assert_eq!(p.board(&q).await.unwrap().total, 0);
}

async fn filters_search_sort_and_count(db: TestDatabase) {
    let wf = setup(&db).await;
    let early = issue(&wf, "HOD", "DMP", 1, "Tobakk og e-sigaretter", Some((3, 1))).await;
    let late = issue(&wf, "HOD", "DMP", 2, "Legemiddelmangel", Some((9, 1))).await;
    let open = issue(&wf, "HOD", "DMP", 3, "Helsedata 100% digitalt", None).await;
    report(&wf, &late, "DMP", TrafficLight::Green).await;
    let p = wf.projections();
    let page = p.board(&query(Scope::All)).await.unwrap();
    let order: Vec<&str> = page.rows.iter().map(|r| r.assignment_id.as_str()).collect();
    assert_eq!(
        order,
        vec![early.as_str(), late.as_str(), open.as_str()],
        "by deadline, open last"
    );
    let mut q = query(Scope::All);
    q.filter.overdue = Some(true);
    assert_eq!(
        p.board(&q).await.unwrap().rows[0].assignment_id,
        early,
        "1 March is before 1 April"
    );
    assert_eq!(p.board(&q).await.unwrap().total, 1);
    q.filter.overdue = Some(false);
    assert_eq!(p.board(&q).await.unwrap().total, 2);
    let mut q = query(Scope::All);
    q.filter.text = Some("E-SIGARETT".into());
    assert_eq!(
        p.board(&q).await.unwrap().rows[0].assignment_id,
        early,
        "case-insensitive"
    );
    q.filter.text = Some("100%".into());
    assert_eq!(
        p.board(&q).await.unwrap().total,
        1,
        "% is matched literally"
    );
    q.filter.text = Some("_".into());
    assert_eq!(
        p.board(&q).await.unwrap().total,
        0,
        "_ is matched literally"
    );
    let mut q = query(Scope::All);
    q.filter.statuses = vec![BoardStatus::InProgressOnTrack];
    let page = p.board(&q).await.unwrap();
    assert_eq!(
        (page.total, page.rows[0].assignment_id.as_str()),
        (1, late.as_str())
    );
    let counts = p.status_counts(&q).await.unwrap();
    assert_eq!(
        counts,
        vec![
            (BoardStatus::Issued, 2),
            (BoardStatus::InProgressOnTrack, 1)
        ],
        "counts ignore the status filter"
    );
    let mut q = query(Scope::All);
    q.limit = 2;
    q.offset = 2;
    let page = p.board(&q).await.unwrap();
    assert_eq!((page.total, page.rows.len()), (3, 1));
    q.filter.deadline_from = NaiveDate::from_ymd_opt(2024, 6, 1);
    q.offset = 0;
    assert_eq!(p.board(&q).await.unwrap().rows[0].assignment_id, late);
}

async fn rebuild_equals_incremental(db: TestDatabase) {
    let wf = setup(&db).await;
    for n in 1..=5 {
        let id = issue(
            &wf,
            "HOD",
            "DMP",
            n,
            &format!("Oppdrag {n}"),
            Some((n + 2, 1)),
        )
        .await;
        if n % 2 == 0 {
            report(&wf, &id, "DMP", TrafficLight::Red).await;
        }
    }
    let incremental = wf.projections().dump_board().await.unwrap();
    assert_eq!(incremental.len(), 5);
    let checkpoint = wf.projections().rebuild().await.unwrap();
    assert_eq!(checkpoint, wf.log_head().await.unwrap().position);
    assert_eq!(wf.projections().dump_board().await.unwrap(), incremental);
    // A fresh projector (a restarted process) with an empty cache agrees too.
    let fresh = Projections::new(wf.store().clone());
    fresh.rebuild().await.unwrap();
    assert_eq!(fresh.dump_board().await.unwrap(), incremental);
}

async fn concurrent_projectors_apply_each_event_once(db: TestDatabase) {
    let wf = setup(&db).await;
    // Two more projectors on the same database stand in for other server processes.
    let others: Vec<Arc<Projections>> = (0..2)
        .map(|_| Arc::new(Projections::new(wf.store().clone())))
        .collect();
    let mut tasks = Vec::new();
    for n in 1..=6u32 {
        let wf = wf.clone();
        tasks.push(tokio::spawn(async move {
            let id = AssignmentId(Uuid::now_v7());
            let command = AssignmentCommand::Issue(Box::new(IssueAssignment {
                assignment_id: id,
                reference: Some(AssignmentReference::parse(&format!("TB2024-{n}")).unwrap()),
                ministry: org("HOD"),
                agency: org("DMP"),
                year: Year::new(2024).unwrap(),
                department: None,
                title: format!("Oppdrag {n}"),
                description: String::new(),
                goal: None,
                source: AssignmentSource::Letter,
                parts: vec![PartSpec {
                    label: None,
                    title: None,
                    deadline: DeadlineTerm::NoDeadline,
                }],
                collaborators: vec![],
                carried_over_from: None,
            }));
            wf.execute::<Assignment>(&id.to_string(), command, &CommandMeta::new(ministry("HOD")))
                .await
                .unwrap();
        }));
    }
    for p in &others {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                p.catch_up().await.unwrap();
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let head = wf.log_head().await.unwrap().position;
    for p in &others {
        assert_eq!(p.catch_up().await.unwrap(), head);
    }
    let concurrent = wf.projections().dump_board().await.unwrap();
    assert_eq!(concurrent.len(), 6);
    wf.projections().rebuild().await.unwrap();
    assert_eq!(wf.projections().dump_board().await.unwrap(), concurrent);
}
