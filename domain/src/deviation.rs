//! Owns the DeviationReport aggregate (*avviksrapport*): the agency reports a budget
//! deviation (periodised budget vs actual for a kapittel/post and period; the deviation and
//! its significance are computed, never stored) or a non-budget deviation on a goal or
//! assignment. Significant (*vesentlig*) deviations must be reported immediately, so the
//! discovery and submission dates are kept and the lag is visible. Draft → submitted →
//! acknowledged, or follow-up requested → answered → … → closed by the ministry.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext};
use crate::allocation_letter::DeviationThreshold;
use crate::error::DomainError;
use crate::values::{AssignmentId, Chapter, NokThousands, OrgCode, Period, Post, Text};

/// Category of a deviation (hovedinstruks §4–5, rules H5/H6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviationCategory {
    Budget,
    /// A serious event that stops the agency reaching its goals.
    GoalAchievement,
    LawBreach,
    SecurityIncident,
    PublicInterest,
}

/// What the deviation is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeviationSubject {
    Budget {
        chapter: Chapter,
        post: Post,
        period: Period,
        /// Periodisert budsjett.
        periodised_budget: NokThousands,
        actual: NokThousands,
        forecast: Option<NokThousands>,
    },
    Goal {
        goal: String,
        category: DeviationCategory,
        /// Set by the reporter for non-budget deviations; budget ones are computed.
        significant: bool,
    },
    Assignment {
        assignment_id: AssignmentId,
        category: DeviationCategory,
        significant: bool,
    },
}

impl DeviationSubject {
    /// Actual − periodised budget, for budget deviations.
    pub fn deviation(&self) -> Option<NokThousands> {
        match self {
            DeviationSubject::Budget {
                periodised_budget,
                actual,
                ..
            } => Some(NokThousands(actual.value() - periodised_budget.value())),
            _ => None,
        }
    }

    /// The deviation in tenths of a percent of the periodised budget (`None` if the budget
    /// is zero or the deviation is not a budget one).
    pub fn deviation_per_mille(&self) -> Option<i64> {
        match self {
            DeviationSubject::Budget {
                periodised_budget, ..
            } if periodised_budget.value() != 0 => self
                .deviation()
                .map(|d| d.value() * 1000 / periodised_budget.value().abs()),
            _ => None,
        }
    }

    /// Significant (*vesentlig*): for budget deviations, computed from the letter's
    /// threshold (either bound reached; no threshold, never); otherwise as reported.
    pub fn is_significant(&self, threshold: Option<DeviationThreshold>) -> bool {
        match self {
            DeviationSubject::Budget { .. } => {
                let Some(t) = threshold else { return false };
                let amount = self.deviation().map(|d| d.value().abs()).unwrap_or(0);
                let by_amount = t.amount.is_some_and(|a| amount >= a.value());
                let by_share = match (t.per_mille, self.deviation_per_mille()) {
                    (Some(limit), Some(pm)) => pm.abs() >= i64::from(limit),
                    _ => false,
                };
                by_amount || by_share
            }
            DeviationSubject::Goal { significant, .. }
            | DeviationSubject::Assignment { significant, .. } => *significant,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviationCommand {
    Draft {
        ministry: OrgCode,
        agency: OrgCode,
        subject: DeviationSubject,
        explanation: String,
        measures: Option<String>,
        discovered_on: NaiveDate,
        /// Filled by the workflow from the letter
        /// ([`crate::allocation_letter::LetterDetails::threshold`]), never by the user.
        letter_threshold: Option<DeviationThreshold>,
    },
    Submit,
    Acknowledge,
    RequestFollowUp {
        question: String,
    },
    Answer {
        answer: String,
    },
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviationDrafted {
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub subject: DeviationSubject,
    pub explanation: Text,
    pub measures: Option<String>,
    pub discovered_on: NaiveDate,
    /// The letter's threshold in force when drafted (an input copied from the letter).
    pub threshold: Option<DeviationThreshold>,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviationSubmitted {
    /// Oslo calendar date.
    pub submitted_on: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviationAcknowledged {
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRequested {
    pub question: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpAnswered {
    pub answer: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviationClosed {
    pub by: By,
    pub at: DateTime<Utc>,
}

domain_events! {
    /// Everything that can happen to a deviation report.
    pub enum DeviationEvent {
        DeviationDrafted(DeviationDrafted) = 1,
        DeviationSubmitted(DeviationSubmitted) = 1,
        DeviationAcknowledged(DeviationAcknowledged) = 1,
        FollowUpRequested(FollowUpRequested) = 1,
        FollowUpAnswered(FollowUpAnswered) = 1,
        DeviationClosed(DeviationClosed) = 1,
    }
    upcaster = crate::aggregate::no_upcast;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviationStatus {
    Draft,
    Submitted,
    Acknowledged,
    FollowUpRequested,
    Answered,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviationDetails {
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub subject: DeviationSubject,
    pub explanation: Text,
    pub measures: Option<String>,
    pub discovered_on: NaiveDate,
    pub threshold: Option<DeviationThreshold>,
    pub submitted_on: Option<NaiveDate>,
    pub status: DeviationStatus,
    /// Questions and answers in order.
    pub dialogue: Vec<(Text, Option<Text>)>,
}

impl DeviationDetails {
    pub fn is_significant(&self) -> bool {
        self.subject.is_significant(self.threshold)
    }

    /// Days from discovery to submission (to today while unsubmitted).
    pub fn lag_days(&self, today: NaiveDate) -> i64 {
        (self.submitted_on.unwrap_or(today) - self.discovered_on).num_days()
    }

    /// A significant deviation not reported within `max_days` of discovery ("umiddelbart").
    pub fn reported_late(&self, today: NaiveDate, max_days: i64) -> bool {
        self.is_significant() && self.lag_days(today) > max_days
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviationReport {
    pub details: Option<DeviationDetails>,
}

impl Aggregate for DeviationReport {
    const STREAM_TYPE: &'static str = "deviation_report";
    type Command = DeviationCommand;
    type Event = DeviationEvent;

    fn decide(
        &self,
        command: DeviationCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<DeviationEvent>, DomainError> {
        use DeviationCommand as C;
        use DeviationEvent as E;
        use DeviationStatus as S;
        let by = ctx.actor.by();
        let at = ctx.now;
        if let C::Draft {
            ministry,
            agency,
            subject,
            explanation,
            measures,
            discovered_on,
            letter_threshold,
        } = command
        {
            if self.details.is_some() {
                return Err(DomainError::conflict(
                    "this deviation report already exists",
                ));
            }
            ctx.actor.require_agency(&agency, "report deviations")?;
            if discovered_on > ctx.today_oslo() {
                return Err(DomainError::validation(
                    "discovered_on",
                    "the discovery date cannot be in the future",
                ));
            }
            if let DeviationSubject::Budget {
                periodised_budget, ..
            } = &subject
                && periodised_budget.value() < 0
            {
                return Err(DomainError::validation(
                    "periodised_budget",
                    "the periodised budget cannot be negative",
                ));
            }
            return Ok(vec![E::DeviationDrafted(DeviationDrafted {
                ministry,
                agency,
                subject,
                explanation: Text::new("explanation", explanation)?,
                measures: measures.filter(|m| !m.trim().is_empty()),
                discovered_on,
                threshold: letter_threshold,
                by,
                at,
            })]);
        }
        let d = self
            .details
            .as_ref()
            .ok_or_else(|| DomainError::not_found("the deviation report has not been drafted"))?;
        let wrong_state = |action: &str| {
            DomainError::rule(format!(
                "cannot {action} a deviation report that is {:?}",
                d.status
            ))
        };
        let event = match command {
            C::Draft { .. } => {
                return Err(DomainError::conflict(
                    "this deviation report already exists",
                ));
            }
            C::Submit => {
                ctx.actor.require_agency(&d.agency, "submit deviations")?;
                if d.status != S::Draft {
                    return Err(wrong_state("submit"));
                }
                E::DeviationSubmitted(DeviationSubmitted {
                    submitted_on: ctx.today_oslo(),
                    by,
                    at,
                })
            }
            C::Acknowledge => {
                ctx.actor
                    .require_ministry(&d.ministry, "acknowledge deviations")?;
                if !matches!(d.status, S::Submitted | S::Answered) {
                    return Err(wrong_state("acknowledge"));
                }
                E::DeviationAcknowledged(DeviationAcknowledged { by, at })
            }
            C::RequestFollowUp { question } => {
                ctx.actor
                    .require_ministry(&d.ministry, "request follow-up")?;
                if !matches!(d.status, S::Submitted | S::Answered | S::Acknowledged) {
                    return Err(wrong_state("ask about"));
                }
                E::FollowUpRequested(FollowUpRequested {
                    question: Text::new("question", question)?,
                    by,
                    at,
                })
            }
            C::Answer { answer } => {
                ctx.actor.require_agency(&d.agency, "answer follow-ups")?;
                if d.status != S::FollowUpRequested {
                    return Err(DomainError::rule("there is no open follow-up question"));
                }
                E::FollowUpAnswered(FollowUpAnswered {
                    answer: Text::new("answer", answer)?,
                    by,
                    at,
                })
            }
            C::Close => {
                ctx.actor
                    .require_ministry(&d.ministry, "close deviations")?;
                if !matches!(d.status, S::Acknowledged | S::Answered) {
                    return Err(wrong_state("close"));
                }
                E::DeviationClosed(DeviationClosed { by, at })
            }
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &DeviationEvent) {
        use DeviationEvent as E;
        use DeviationStatus as S;
        if let E::DeviationDrafted(e) = event {
            self.details = Some(DeviationDetails {
                ministry: e.ministry.clone(),
                agency: e.agency.clone(),
                subject: e.subject.clone(),
                explanation: e.explanation.clone(),
                measures: e.measures.clone(),
                discovered_on: e.discovered_on,
                threshold: e.threshold,
                submitted_on: None,
                status: S::Draft,
                dialogue: Vec::new(),
            });
            return;
        }
        let Some(d) = self.details.as_mut() else {
            return;
        };
        match event {
            E::DeviationDrafted(_) => {}
            E::DeviationSubmitted(e) => {
                d.status = S::Submitted;
                d.submitted_on = Some(e.submitted_on);
            }
            E::DeviationAcknowledged(_) => d.status = S::Acknowledged,
            E::FollowUpRequested(e) => {
                d.status = S::FollowUpRequested;
                d.dialogue.push((e.question.clone(), None));
            }
            E::FollowUpAnswered(e) => {
                d.status = S::Answered;
                if let Some((_, a)) = d.dialogue.last_mut() {
                    *a = Some(e.answer.clone());
                }
            }
            E::DeviationClosed(_) => d.status = S::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::error::DomainErrorKind;
    use crate::testing::*;

    fn grant(budget: i64, actual: i64) -> DeviationSubject {
        DeviationSubject::Budget {
            chapter: Chapter::new(717).unwrap(),
            post: Post::parse("70").unwrap(),
            period: Period::Tertial1,
            periodised_budget: NokThousands(budget),
            actual: NokThousands(actual),
            forecast: None,
        }
    }
    fn five_percent() -> Option<DeviationThreshold> {
        Some(DeviationThreshold {
            amount: None,
            per_mille: Some(50),
        })
    }
    fn drafted(subject: DeviationSubject, threshold: Option<DeviationThreshold>) -> DeviationEvent {
        DeviationEvent::DeviationDrafted(DeviationDrafted {
            ministry: org("HOD"),
            agency: org("DMP"),
            subject,
            explanation: Text::new("explanation", "RELIS paid late").unwrap(),
            measures: None,
            discovered_on: date(2024, 1, 20),
            threshold,
            by: agency_actor("DMP").by(),
            at: t0(),
        })
    }
    fn submitted(on: NaiveDate) -> DeviationEvent {
        DeviationEvent::DeviationSubmitted(DeviationSubmitted {
            submitted_on: on,
            by: agency_actor("DMP").by(),
            at: t0(),
        })
    }

    #[test]
    fn deviation_and_significance_are_computed_from_budget_actual_and_threshold() {
        let s = grant(10_000, 10_400);
        assert_eq!(s.deviation(), Some(NokThousands(400)));
        assert_eq!(s.deviation_per_mille(), Some(40));
        assert!(!s.is_significant(five_percent()));
        let s = grant(10_000, 9_500);
        assert_eq!(s.deviation_per_mille(), Some(-50));
        assert!(s.is_significant(five_percent()));
        let by_amount = DeviationThreshold {
            amount: Some(NokThousands(2_000)),
            per_mille: Some(50),
        };
        assert!(grant(1_000_000, 1_002_000).is_significant(Some(by_amount)));
        assert!(!grant(10_000, 20_000).is_significant(None));
        assert_eq!(grant(0, 5).deviation_per_mille(), None);
    }

    #[test]
    fn given_nothing_when_agency_drafts_then_drafted_and_ministry_cannot() {
        let cmd = || DeviationCommand::Draft {
            ministry: org("HOD"),
            agency: org("DMP"),
            subject: grant(10_000, 9_000),
            explanation: "RELIS paid late".into(),
            measures: Some("  ".into()),
            discovered_on: date(2024, 1, 20),
            letter_threshold: five_percent(),
        };
        TestFramework::<DeviationReport>::with(agency_ctx("DMP"))
            .when(cmd())
            .then_expect_events(vec![drafted(grant(10_000, 9_000), five_percent())]);
        TestFramework::<DeviationReport>::with(ministry_ctx("HOD"))
            .when(cmd())
            .then_expect_error_kind(DomainErrorKind::Forbidden);
    }

    #[test]
    fn given_nothing_when_discovered_in_future_then_validation() {
        TestFramework::<DeviationReport>::with(agency_ctx("DMP"))
            .when(DeviationCommand::Draft {
                ministry: org("HOD"),
                agency: org("DMP"),
                subject: grant(1, 1),
                explanation: "x".into(),
                measures: None,
                discovered_on: date(2024, 3, 1),
                letter_threshold: None,
            })
            .then_expect_validation_of("discovered_on");
    }

    #[test]
    fn given_significant_draft_when_submitted_later_then_lag_visible_and_flagged_late() {
        let ctx = ctx_at(
            agency_actor("DMP"),
            Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap(),
        );
        let state = TestFramework::<DeviationReport>::with(ctx)
            .given(vec![drafted(grant(10_000, 9_000), five_percent())])
            .when(DeviationCommand::Submit)
            .then_expect_events(vec![submitted(date(2024, 2, 5))]);
        let d = state.details.unwrap();
        assert_eq!(d.lag_days(date(2024, 12, 31)), 16);
        assert!(d.reported_late(date(2024, 12, 31), 7));
        assert!(!d.reported_late(date(2024, 12, 31), 30));
    }

    #[test]
    fn given_submitted_when_follow_up_answered_then_ministry_closes() {
        let q = DeviationEvent::FollowUpRequested(FollowUpRequested {
            question: Text::new("question", "Why?").unwrap(),
            by: ministry_actor("HOD").by(),
            at: t0(),
        });
        let state = TestFramework::<DeviationReport>::with(agency_ctx("DMP"))
            .given(vec![
                drafted(grant(1, 1), None),
                submitted(date(2024, 2, 1)),
                q.clone(),
            ])
            .when(DeviationCommand::Answer {
                answer: "Recipient paid late".into(),
            })
            .state_after();
        let d = state.details.as_ref().unwrap();
        assert_eq!(d.status, DeviationStatus::Answered);
        assert!(d.dialogue[0].1.is_some());
        assert_eq!(
            state.decide(DeviationCommand::Close, &ministry_ctx("HOD")),
            Ok(vec![DeviationEvent::DeviationClosed(DeviationClosed {
                by: ministry_actor("HOD").by(),
                at: t0(),
            })])
        );
        assert_eq!(
            state
                .decide(DeviationCommand::Close, &agency_ctx("DMP"))
                .unwrap_err()
                .kind(),
            DomainErrorKind::Forbidden
        );
    }

    #[test]
    fn given_open_question_when_closed_then_rule_violated() {
        let q = DeviationEvent::FollowUpRequested(FollowUpRequested {
            question: Text::new("question", "Why?").unwrap(),
            by: ministry_actor("HOD").by(),
            at: t0(),
        });
        TestFramework::<DeviationReport>::with(ministry_ctx("HOD"))
            .given(vec![
                drafted(grant(1, 1), None),
                submitted(date(2024, 2, 1)),
                q,
            ])
            .when(DeviationCommand::Close)
            .then_expect_error_kind(DomainErrorKind::RuleViolated);
    }

    #[test]
    fn given_draft_when_acknowledged_then_rule_violated_and_no_question_to_answer() {
        TestFramework::<DeviationReport>::with(ministry_ctx("HOD"))
            .given(vec![drafted(grant(1, 1), None)])
            .when(DeviationCommand::Acknowledge)
            .then_expect_error_kind(DomainErrorKind::RuleViolated);
        TestFramework::<DeviationReport>::with(agency_ctx("DMP"))
            .given(vec![
                drafted(grant(1, 1), None),
                submitted(date(2024, 2, 1)),
            ])
            .when(DeviationCommand::Answer { answer: "x".into() })
            .then_expect_error_containing(DomainErrorKind::RuleViolated, "no open follow-up");
    }
}
