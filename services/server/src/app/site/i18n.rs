//! The pages' words in bokmål (the default) and English, and dates as people write them:
//! `1. mars 2024`, times in Europe/Oslo.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Oslo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Nb,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Nb => "nb",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "nb" | "no" => Some(Lang::Nb),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The label of an event type (`StatusReported`), or the type itself if it has none.
    pub fn event(self, event_type: &str) -> String {
        WORDS
            .iter()
            .find(|(k, _, _)| k.strip_prefix("ev.") == Some(event_type))
            .map(|(_, nb, en)| match self {
                Lang::Nb => *nb,
                Lang::En => *en,
            })
            .unwrap_or(event_type)
            .to_owned()
    }

    /// The label for `key`; an unknown key shows itself, so a missing entry is visible.
    pub fn t(self, key: &'static str) -> &'static str {
        let Some((_, nb, en)) = WORDS
            .iter()
            .chain(super::words::WORDS)
            .find(|(k, _, _)| *k == key)
        else {
            return key;
        };
        match self {
            Lang::Nb => nb,
            Lang::En => en,
        }
    }

    /// `1. mars 2024` / `1 March 2024`.
    pub fn date(self, d: NaiveDate) -> String {
        let month = d.month0() as usize;
        match self {
            Lang::Nb => format!("{}. {} {}", d.day(), MONTHS_NB[month], d.year()),
            Lang::En => format!("{} {} {}", d.day(), MONTHS_EN[month], d.year()),
        }
    }

    /// A date, or the raw text if it is not `YYYY-MM-DD`.
    pub fn date_str(self, s: &str) -> String {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| self.date(d))
            .unwrap_or_else(|_| s.to_owned())
    }

    /// An instant as Oslo wall-clock time: `1. mars 2024 kl. 14:05`.
    pub fn time(self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&Oslo);
        let at = match self {
            Lang::Nb => "kl.",
            Lang::En => "at",
        };
        format!(
            "{} {at} {}",
            self.date(local.date_naive()),
            local.format("%H:%M")
        )
    }

    /// An RFC 3339 instant as [`Lang::time`], or the raw text.
    pub fn time_str(self, s: &str) -> String {
        DateTime::parse_from_rfc3339(s)
            .map(|t| self.time(t.with_timezone(&Utc)))
            .unwrap_or_else(|_| s.to_owned())
    }
}

const MONTHS_NB: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// (key, bokmål, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("app", "Styringsdialog", "Steering dialogue"),
    ("signed_in_as", "Innlogget som", "Signed in as"),
    ("sign_out", "Logg ut", "Sign out"),
    ("sign_in", "Logg inn", "Sign in"),
    ("board", "Oppdragsoversikt", "Assignment board"),
    ("role.ministry", "departement", "ministry"),
    ("role.agency", "virksomhet", "agency"),
    ("role.auditor", "revisor", "auditor"),
    ("role.admin", "administrator", "administrator"),
    ("login.title", "Logg inn", "Sign in"),
    (
        "login.dev",
        "Utviklingsmodus: velg en testidentitet.",
        "Development mode: choose a test identity.",
    ),
    (
        "login.no_oidc",
        "Innlogging gjennom identitetsleverandøren er ikke satt opp på denne serveren (STYR_OIDC_ISSUER). Bruk API-et med et bearer-token.",
        "Sign-in through the identity provider is not set up on this server (STYR_OIDC_ISSUER). Use the API with a bearer token.",
    ),
    ("login.identity", "Identitet", "Identity"),
    (
        "dev.hod",
        "HOD – saksbehandler i departementet",
        "HOD – ministry desk officer",
    ),
    (
        "dev.dmp",
        "DMP – koordinator i virksomheten",
        "DMP – agency coordinator",
    ),
    (
        "dev.rr",
        "Riksrevisjonen – revisor",
        "Riksrevisjonen – auditor",
    ),
    ("filters", "Filter", "Filters"),
    ("filter", "Filtrer", "Filter"),
    ("agency", "Virksomhet", "Agency"),
    ("ministry", "Departement", "Ministry"),
    ("department", "Avdeling", "Department"),
    ("status", "Status", "Status"),
    ("traffic_light", "Trafikklys", "Traffic light"),
    ("overdue", "Forfalt", "Overdue"),
    ("only_overdue", "Bare forfalte", "Overdue only"),
    ("any", "Alle", "Any"),
    ("counts", "Antall per status", "Count per status"),
    ("assignments", "Oppdrag", "Assignments"),
    ("reference", "Referanse", "Reference"),
    ("title", "Tittel", "Title"),
    ("next_deadline", "Neste frist", "Next deadline"),
    ("to_be_agreed", "avtales", "to be agreed"),
    ("no_deadline", "ingen frist", "no deadline"),
    ("lc.active", "Aktivt", "Active"),
    ("lc.completed", "Fullført", "Completed"),
    ("lc.cancelled", "Avlyst", "Cancelled"),
    ("lc.carried_over", "Videreført", "Carried over"),
    ("downloads", "Last ned", "Download"),
    (
        "none",
        "Ingen oppdrag passer filteret.",
        "No assignment matches the filter.",
    ),
    ("green", "Grønn", "Green"),
    ("yellow", "Gul", "Yellow"),
    ("red", "Rød", "Red"),
    ("yes", "ja", "yes"),
    ("no", "nei", "no"),
    ("st.issued", "Gitt", "Issued"),
    (
        "st.in_progress_on_track",
        "Pågår – i rute",
        "In progress – on track",
    ),
    (
        "st.in_progress_delayed",
        "Pågår – forsinket",
        "In progress – delayed",
    ),
    (
        "st.awaiting_ministry",
        "Venter på departementet",
        "Awaiting the ministry",
    ),
    (
        "st.blocked_external",
        "Hindret av andre",
        "Blocked by others",
    ),
    ("st.delivered", "Levert", "Delivered"),
    ("st.completed", "Fullført", "Completed"),
    ("st.transferred", "Overført", "Transferred"),
    ("st.cancelled", "Avlyst", "Cancelled"),
    ("st.carried_over", "Videreført", "Carried over"),
    ("details", "Detaljer", "Details"),
    ("description", "Beskrivelse", "Description"),
    ("goal", "Mål", "Goal"),
    ("year", "År", "Year"),
    (
        "search",
        "Søk i referanse, tittel og beskrivelse",
        "Search reference, title and description",
    ),
    ("lifecycle", "Tilstand", "State"),
    ("parts", "Deler og frister", "Parts and deadlines"),
    ("part", "Del", "Part"),
    ("deadline", "Frist", "Deadline"),
    ("delivery", "Levering", "Delivery"),
    ("dl.not_delivered", "Ikke levert", "Not delivered"),
    (
        "dl.awaiting_review",
        "Venter på vurdering",
        "Awaiting review",
    ),
    ("dl.returned", "Sendt tilbake", "Returned"),
    ("dl.accepted", "Godkjent", "Accepted"),
    ("reports", "Statusrapporter", "Status reports"),
    ("period", "Periode", "Period"),
    ("progress", "Fremdrift", "Progress"),
    ("cause", "Årsak og konsekvens", "Cause and consequence"),
    ("corrective", "Korrigerende tiltak", "Corrective action"),
    (
        "year_end_phrase",
        "Status i årsrapportens oppdragsvedlegg (valgfritt)",
        "Status in the annual report's appendix (optional)",
    ),
    ("by", "Av", "By"),
    ("when", "Når", "When"),
    ("why", "Begrunnelse", "Reason"),
    ("what", "Hva", "What"),
    ("timeline", "Historikk", "Timeline"),
    ("deliveries", "Leveranser", "Deliveries"),
    ("summary", "Sammendrag", "Summary"),
    (
        "document_ref",
        "Saks-/dokumentnummer",
        "Case or document number",
    ),
    ("delivered_on", "Levert", "Delivered on"),
    ("late", "For sent", "Late"),
    (
        "pending_extension",
        "Søknad om utsatt frist",
        "Extension request",
    ),
    ("current_date", "Gjeldende frist", "Current deadline"),
    ("new_date", "Ny frist", "New deadline"),
    ("actions", "Handlinger", "Actions"),
    ("report_status", "Rapporter status", "Report status"),
    (
        "rule.yellow_red",
        "Gul og rød krever årsak og konsekvens og korrigerende tiltak.",
        "Yellow and red need a cause and consequence and a corrective action.",
    ),
    (
        "request_extension",
        "Søk om utsatt frist",
        "Request an extension",
    ),
    ("deliver", "Lever", "Deliver"),
    (
        "grant_extension",
        "Innvilg utsettelse",
        "Grant the extension",
    ),
    (
        "reject_extension",
        "Avslå utsettelse",
        "Reject the extension",
    ),
    (
        "accept_delivery",
        "Godkjenn levering",
        "Accept the delivery",
    ),
    (
        "return_delivery",
        "Send levering tilbake",
        "Return the delivery",
    ),
    (
        "cancel_assignment",
        "Avlys oppdraget",
        "Cancel the assignment",
    ),
    ("reason", "Begrunnelse", "Reason"),
    ("agree_deadline", "Avtal frist", "Agree the deadline"),
    ("change_deadline", "Endre frist", "Change a deadline"),
    ("term.date", "En dato", "A date"),
    (
        "amend_assignment",
        "Endre oppdraget",
        "Amend the assignment",
    ),
    (
        "amend.help",
        "Fyll ut det som endres; tomme felt blir som de er.",
        "Fill in what changes; empty fields stay as they are.",
    ),
    ("new_title", "Ny tittel", "New title"),
    ("new_description", "Ny beskrivelse", "New description"),
    (
        "complete_assignment",
        "Fullfør oppdraget",
        "Complete the assignment",
    ),
    ("note", "Merknad", "Note"),
    (
        "transfer_assignment",
        "Overfør til en annen virksomhet",
        "Transfer to another agency",
    ),
    ("to_agency", "Til virksomhet", "To agency"),
    ("effective_from", "Gjelder fra", "Effective from"),
    (
        "carry_over_assignment",
        "Viderefør til neste år",
        "Carry over to next year",
    ),
    (
        "carry_over.help",
        "Delene som ikke er godkjent, videreføres i et nytt oppdrag neste år, med frister som skal avtales.",
        "The parts not yet accepted continue in a new assignment next year, with deadlines to be agreed.",
    ),
    (
        "new_reference",
        "Ny referanse (neste år)",
        "New reference (next year)",
    ),
    (
        "correct_status",
        "Korriger en statusrapport",
        "Correct a status report",
    ),
    (
        "correct_status.help",
        "Korrigerer den siste rapporten for perioden. Den opprinnelige blir stående i historikken.",
        "Corrects the latest report for the period. The original stays in the history.",
    ),
    ("new_assignment", "Nytt oppdrag", "New assignment"),
    ("issue_assignment", "Gi oppdraget", "Issue the assignment"),
    (
        "parts.help",
        "Én rad per del: bokstav, tittel og frist, eller kryss av for at fristen skal avtales. Rader uten tittel og frist tas ikke med.",
        "One row per part: label, title and deadline, or tick that the deadline is to be agreed. Rows without a title or a deadline are left out.",
    ),
    ("part_label", "Bokstav", "Label"),
    ("part_title", "Tittel på delen", "Title of the part"),
    (
        "deadline_to_be_agreed",
        "Fristen avtales",
        "Deadline to be agreed",
    ),
    (
        "deadline_or_agreed",
        "Gi en frist eller kryss av for at den avtales, ikke begge.",
        "Give a deadline or tick that it is to be agreed, not both.",
    ),
    ("whole", "Hele oppdraget", "The whole assignment"),
    ("p.TERTIAL_1", "1. tertial", "First tertial"),
    ("p.TERTIAL_2", "2. tertial", "Second tertial"),
    ("p.HALF_YEAR_1", "1. halvår", "First half-year"),
    ("p.HALF_YEAR_2", "2. halvår", "Second half-year"),
    ("p.YEAR", "Året", "The year"),
    ("errors", "Skjemaet har feil", "The form has errors"),
    ("not_found", "Fant ikke siden", "Page not found"),
    (
        "not_found.text",
        "Siden finnes ikke, eller du har ikke tilgang til den.",
        "The page does not exist, or you may not see it.",
    ),
    ("forbidden", "Ikke tillatt", "Not allowed"),
    (
        "forbidden.text",
        "Rollen din har ikke lov til dette.",
        "Your role may not do this.",
    ),
    ("user", "Bruker", "User"),
    ("ev.AssignmentIssued", "Oppdrag gitt", "Assignment issued"),
    ("ev.DeadlineAgreed", "Frist avtalt", "Deadline agreed"),
    ("ev.StatusReported", "Status rapportert", "Status reported"),
    (
        "ev.ExtensionRequested",
        "Utsatt frist søkt",
        "Extension requested",
    ),
    (
        "ev.ExtensionGranted",
        "Utsatt frist innvilget",
        "Extension granted",
    ),
    (
        "ev.ExtensionRejected",
        "Utsatt frist avslått",
        "Extension rejected",
    ),
    ("ev.AssignmentDelivered", "Levert", "Delivered"),
    (
        "ev.DeliveryAccepted",
        "Levering godkjent",
        "Delivery accepted",
    ),
    (
        "ev.DeliveryReturned",
        "Levering sendt tilbake",
        "Delivery returned",
    ),
    (
        "ev.AssignmentCompleted",
        "Oppdrag fullført",
        "Assignment completed",
    ),
    (
        "ev.AssignmentAmended",
        "Oppdrag endret",
        "Assignment amended",
    ),
    ("ev.PartDeadlineChanged", "Frist endret", "Deadline changed"),
    (
        "ev.AssignmentCancelled",
        "Oppdrag avlyst",
        "Assignment cancelled",
    ),
    (
        "ev.AssignmentTransferred",
        "Oppdrag overført",
        "Assignment transferred",
    ),
    (
        "ev.AssignmentCarriedOver",
        "Oppdrag videreført",
        "Assignment carried over",
    ),
    ("ev.StatusCorrected", "Status korrigert", "Status corrected"),
    (
        "rows_shown",
        "Rader på denne siden (last ned for alle):",
        "Rows on this page (download for all of them):",
    ),
    ("paging", "Sider i tabellen", "Table pages"),
    ("first_page", "Første side", "First page"),
    ("next_page", "Neste side", "Next page"),
    (
        "csrf",
        "Skjemaet er utløpt eller kom ikke fra denne siden. Last siden på nytt og prøv igjen.",
        "The form expired or did not come from this site. Reload the page and try again.",
    ),
    (
        "unavailable",
        "Tjenesten er midlertidig utilgjengelig. Prøv igjen.",
        "The service is temporarily unavailable. Try again.",
    ),
    (
        "back_to_board",
        "Tilbake til oversikten",
        "Back to the board",
    ),
    ("language", "English", "Norsk"),
    ("no_reports", "Ingen rapporter ennå.", "No reports yet."),
    (
        "no_deliveries",
        "Ingen leveranser ennå.",
        "No deliveries yet.",
    ),
    ("saved", "Lagret.", "Saved."),
    ("audit", "Revisjon", "Audit"),
    ("as_of", "Per dato", "As of"),
    ("show", "Vis", "Show"),
    ("trail", "Beslutningsspor", "Decision trail"),
    (
        "back_to_assignment",
        "Tilbake til oppdraget",
        "Back to the assignment",
    ),
    (
        "bad_date",
        "Skriv datoen som ÅÅÅÅ-MM-DD.",
        "Write the date as YYYY-MM-DD.",
    ),
    (
        "not_yet",
        "Oppdraget fantes ikke ennå på denne datoen.",
        "The assignment did not exist yet on this date.",
    ),
    (
        "audit_link",
        "Revisjonsvisning: oppdraget per dato og beslutningsspor",
        "Audit view: the assignment as of a date and its decision trail",
    ),
    (
        "admin_no_pages",
        "Administratorer har ingen sider her ennå; bruk API-et.",
        "Administrators have no pages here yet; use the API.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_people_write_them() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        assert_eq!(Lang::Nb.date(d), "1. mars 2024");
        assert_eq!(Lang::En.date(d), "1 March 2024");
        // 23:30 UTC on 31 March 2024 is 01:30 on 1 April in Oslo (summer time).
        let t = DateTime::parse_from_rfc3339("2024-03-31T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Lang::Nb.time(t), "1. april 2024 kl. 01:30");
    }

    #[test]
    fn every_key_has_both_languages() {
        for (k, nb, en) in WORDS {
            assert!(!nb.is_empty() && !en.is_empty(), "{k}");
        }
    }
}
