//! The assignment board's row: an assignment's current state flattened for filtering and
//! sorting. Pure: derived from the domain state only, so a rebuild gives the same rows.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use styr_domain::assignment::NormalisedStatus;
use styr_domain::assignment::{AssignmentDetails, Lifecycle, PartDelivery};
use styr_domain::values::{DeadlineTerm, TrafficLight};

/// Where an assignment stands, in the year-end vocabulary (domain.md §5) plus `issued` for one
/// nobody has reported on yet and `carried_over` for one continued next year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardStatus {
    Issued,
    InProgressOnTrack,
    InProgressDelayed,
    AwaitingMinistry,
    BlockedExternal,
    Delivered,
    Completed,
    Transferred,
    Cancelled,
    CarriedOver,
}

impl BoardStatus {
    pub const ALL: [BoardStatus; 10] = [
        BoardStatus::Issued,
        BoardStatus::InProgressOnTrack,
        BoardStatus::InProgressDelayed,
        BoardStatus::AwaitingMinistry,
        BoardStatus::BlockedExternal,
        BoardStatus::Delivered,
        BoardStatus::Completed,
        BoardStatus::Transferred,
        BoardStatus::Cancelled,
        BoardStatus::CarriedOver,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BoardStatus::Issued => "issued",
            BoardStatus::InProgressOnTrack => "in_progress_on_track",
            BoardStatus::InProgressDelayed => "in_progress_delayed",
            BoardStatus::AwaitingMinistry => "awaiting_ministry",
            BoardStatus::BlockedExternal => "blocked_external",
            BoardStatus::Delivered => "delivered",
            BoardStatus::Completed => "completed",
            BoardStatus::Transferred => "transferred",
            BoardStatus::Cancelled => "cancelled",
            BoardStatus::CarriedOver => "carried_over",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// One row of the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardRow {
    pub assignment_id: String,
    pub reference: Option<String>,
    pub title: String,
    pub year: i64,
    pub ministry: String,
    pub agency: String,
    pub department: Option<String>,
    pub goal: Option<String>,
    pub status: BoardStatus,
    pub lifecycle: String,
    pub traffic_light: Option<String>,
    /// The earliest dated deadline of a part that is not delivered (or was returned).
    pub next_deadline: Option<NaiveDate>,
    pub deadline_to_be_agreed: bool,
    /// Lower-case reference, title and description, for text search.
    pub search_text: String,
    pub updated_position: i64,
    pub updated_at: DateTime<Utc>,
}

impl BoardRow {
    pub fn derive(d: &AssignmentDetails, position: u64, at: DateTime<Utc>) -> Self {
        let open_parts = || {
            d.parts.iter().filter(|p| {
                matches!(
                    p.delivery,
                    PartDelivery::NotDelivered | PartDelivery::Returned(_)
                )
            })
        };
        let next_deadline = open_parts().filter_map(|p| p.deadline.date()).min();
        let reference = d.reference.as_ref().map(|r| r.to_string());
        let search_text = format!(
            "{} {} {}",
            reference.as_deref().unwrap_or(""),
            d.title.as_str(),
            d.description
        )
        .to_lowercase();
        Self {
            assignment_id: d.id.to_string(),
            reference,
            title: d.title.as_str().to_owned(),
            year: i64::from(d.year.value()),
            ministry: d.ministry.to_string(),
            agency: d.agency.to_string(),
            department: d.department.as_ref().map(|x| x.to_string()),
            goal: d.goal.clone(),
            status: status_of(d),
            lifecycle: format!("{:?}", d.lifecycle).to_lowercase(),
            traffic_light: d
                .status_reports
                .last()
                .map(|r| light_name(r.light).to_owned()),
            next_deadline,
            deadline_to_be_agreed: open_parts().any(|p| p.deadline == DeadlineTerm::ToBeAgreed),
            search_text,
            updated_position: i64::try_from(position).unwrap_or(i64::MAX),
            updated_at: at,
        }
    }
}

pub fn light_name(light: TrafficLight) -> &'static str {
    match light {
        TrafficLight::Green => "green",
        TrafficLight::Yellow => "yellow",
        TrafficLight::Red => "red",
    }
}

/// The board status: the end of the lifecycle first, then what waits on the ministry, then the
/// agency's latest report (its explicit normalised status if it gave one, else its light).
fn status_of(d: &AssignmentDetails) -> BoardStatus {
    match d.lifecycle {
        Lifecycle::Completed => return BoardStatus::Completed,
        Lifecycle::Cancelled => return BoardStatus::Cancelled,
        Lifecycle::CarriedOver => return BoardStatus::CarriedOver,
        Lifecycle::Active => {}
    }
    if d.parts
        .iter()
        .any(|p| matches!(p.delivery, PartDelivery::AwaitingReview(_)))
    {
        return BoardStatus::Delivered;
    }
    if d.pending_extension.is_some() {
        return BoardStatus::AwaitingMinistry;
    }
    let Some(last) = d.status_reports.last() else {
        return BoardStatus::Issued;
    };
    match last.normalised {
        Some(NormalisedStatus::Completed) => BoardStatus::Completed,
        Some(NormalisedStatus::Delivered) => BoardStatus::Delivered,
        Some(NormalisedStatus::InProgressOnTrack) => BoardStatus::InProgressOnTrack,
        Some(NormalisedStatus::InProgressDelayed) => BoardStatus::InProgressDelayed,
        Some(NormalisedStatus::AwaitingMinistry) => BoardStatus::AwaitingMinistry,
        Some(NormalisedStatus::BlockedExternal) => BoardStatus::BlockedExternal,
        Some(NormalisedStatus::Transferred) => BoardStatus::Transferred,
        Some(NormalisedStatus::Cancelled) => BoardStatus::Cancelled,
        None => match last.light {
            TrafficLight::Green => BoardStatus::InProgressOnTrack,
            TrafficLight::Yellow | TrafficLight::Red => BoardStatus::InProgressDelayed,
        },
    }
}
