//! `arkivuttrekk.xml`, modelled on a Noark 5 archive extract (*arkivuttrekk*): one case file
//! (*saksmappe*) per allocation letter and per assignment, a registry entry (*registrering*,
//! of the kind *journalpost*) per correspondence item, and a change log (*endringslogg*) of the
//! events. Every element is documented in `docs/audit-export.md`; this is not a validated
//! Noark 5 extract.
//!
//! While `events.jsonl` is written, [`CaseIndex`] notes which letters, assignments and
//! correspondence items the period touches. Writing the XML then reads those streams one at a
//! time, so memory holds one stream and the compact registry entries, not the period's events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use chrono::NaiveDate;
use styr_domain::DomainEvent;
use styr_domain::allocation_letter::{LetterEvent, letter_stream_id};
use styr_domain::assignment::AssignmentEvent;
use styr_domain::correspondence::{
    CopyDelivered, CorrespondenceEvent, CorrespondenceRegistered, ExemptionMarked, SourceRef,
};
use styr_domain::deviation::{DeviationEvent, DeviationSubject};
use styr_domain::oslo_date;
use styr_domain::supplement::SupplementEvent;
use styr_eventstore::{Actor, EventStore, LogHead, RecordedEvent, StreamId, format_timestamp};

use super::ExportError;
use super::xml::XmlWriter;

/// The XML namespace of the extract: ours, not Noark's, since the extract is only modelled on
/// Noark 5.
pub const NAMESPACE: &str = "urn:x-styringsdialog:arkivuttrekk:1";
/// The title of the case file for correspondence that belongs to no letter or assignment.
pub const OTHER_CASE_FILE_TITLE: &str = "Øvrig korrespondanse";

const LETTER: &str = "allocation_letter";
const ASSIGNMENT: &str = "assignment";
const CORRESPONDENCE: &str = "correspondence";

/// The positions of the period's events (both inclusive); the period may hold none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub first: u64,
    pub last: u64,
}

impl Range {
    fn contains(&self, position: u64) -> bool {
        (self.first..=self.last).contains(&position)
    }
}

/// What the extract's header states; the same facts as the manifest.
pub(crate) struct Header<'a> {
    pub created_at: &'a str,
    pub producer: &'a str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub events: u64,
    pub range: Option<Range>,
    pub first_prev_hash: Option<&'a str>,
    pub last_hash: Option<&'a str>,
    pub head: &'a LogHead,
    pub events_file: &'a str,
}

/// The letters, assignments and correspondence items with events in the period.
#[derive(Debug, Default)]
pub(crate) struct CaseIndex {
    letters: BTreeSet<String>,
    assignments: BTreeSet<String>,
    items: BTreeSet<String>,
}

impl CaseIndex {
    pub fn note(&mut self, e: &RecordedEvent) {
        let set = match e.stream.stream_type() {
            LETTER => &mut self.letters,
            ASSIGNMENT => &mut self.assignments,
            CORRESPONDENCE => &mut self.items,
            _ => return,
        };
        if !set.contains(e.stream.id()) {
            set.insert(e.stream.id().to_owned());
        }
    }
}

/// How many case files and registry entries were written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub case_files: usize,
    pub registry_entries: usize,
}

/// One event as the change log shows it.
struct LogEntry {
    position: u64,
    event_id: String,
    version: u64,
    event_type: String,
    recorded_at: String,
    effective_at: String,
    actor: Actor,
    reason: Option<String>,
    hash: String,
}

impl From<&RecordedEvent> for LogEntry {
    fn from(e: &RecordedEvent) -> Self {
        Self {
            position: e.position,
            event_id: e.event_id.to_string(),
            version: e.version,
            event_type: e.event_type.clone(),
            recorded_at: format_timestamp(&e.recorded_at),
            effective_at: format_timestamp(&e.effective_at),
            actor: e.actor.clone(),
            reason: e.reason.clone(),
            hash: e.hash.clone(),
        }
    }
}

/// A correspondence item as of the end of the period. The copied content itself stays in
/// `events.jsonl`; the entry keeps its checksum.
struct Item {
    id: String,
    registration: LogEntry,
    registration_journal_date: NaiveDate,
    registered: CorrespondenceRegistered,
    exemption: Option<ExemptionMarked>,
    receipts: Vec<CopyDelivered>,
    /// The item's events in the period.
    log: Vec<LogEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Letter(String),
    Assignment(String),
    Other,
}

fn decode<E: DomainEvent>(e: &RecordedEvent) -> Result<E, ExportError> {
    E::from_stored(&e.event_type, e.schema_version, e.payload.clone()).map_err(|err| {
        ExportError::Damaged(format!(
            "event {} of stream {} (position {}) cannot be read: {err}",
            e.version, e.stream, e.position
        ))
    })
}

fn stream(stream_type: &str, id: &str) -> Result<StreamId, ExportError> {
    Ok(StreamId::new(stream_type, id)?)
}

/// Reads what the XML needs from the store and writes it.
pub(crate) struct ArchiveWriter<'a> {
    store: &'a EventStore,
    /// Supplement → the letter it supplements; deviation report → the assignment it is about.
    supplement_letters: HashMap<String, Option<String>>,
    deviation_assignments: HashMap<String, Option<String>>,
}

impl<'a> ArchiveWriter<'a> {
    pub fn new(store: &'a EventStore) -> Self {
        Self {
            store,
            supplement_letters: HashMap::new(),
            deviation_assignments: HashMap::new(),
        }
    }

    pub async fn write<W: Write>(
        mut self,
        out: W,
        header: &Header<'_>,
        index: CaseIndex,
    ) -> Result<(W, Counts), ExportError> {
        let mut counts = Counts::default();
        let mut by_target: BTreeMap<Target, Vec<Item>> = BTreeMap::new();
        if let Some(range) = header.range {
            for id in &index.items {
                let item = self.load_item(id, range).await?;
                let target = self.resolve(item.registered.source.as_ref()).await?;
                by_target.entry(target).or_default().push(item);
            }
        }
        let mut letters = index.letters;
        let mut assignments = index.assignments;
        for target in by_target.keys() {
            match target {
                Target::Letter(id) => letters.insert(id.clone()),
                Target::Assignment(id) => assignments.insert(id.clone()),
                Target::Other => false,
            };
        }

        let mut x = XmlWriter::new(
            out,
            "Modelled on a Noark 5 archive extract (arkivuttrekk); not a validated Noark 5 \
             extract. Every element is described in docs/audit-export.md.",
        )?;
        x.open(
            "arkivuttrekk",
            &[("xmlns", NAMESPACE), ("formatversjon", "1")],
        )?;
        write_header(&mut x, header)?;
        x.open("arkiv", &[])?;
        x.leaf("systemID", "styringsdialog")?;
        x.leaf("tittel", "Styringsdialog")?;
        x.leaf(
            "beskrivelse",
            "Styringsdialogen mellom departementer og underliggende virksomheter",
        )?;
        x.open("arkivdel", &[])?;
        let (from, to) = (header.from.to_string(), header.to.to_string());
        x.leaf("systemID", &format!("periode:{from}:{to}"))?;
        x.leaf("tittel", &format!("Styringsdialog {from} – {to}"))?;
        x.leaf("arkivperiodeStartDato", &from)?;
        x.leaf("arkivperiodeSluttDato", &to)?;

        let mut other = by_target.remove(&Target::Other).unwrap_or_default();
        for (kind, ids) in [(LETTER, letters), (ASSIGNMENT, assignments)] {
            for id in ids {
                let target = if kind == LETTER {
                    Target::Letter(id.clone())
                } else {
                    Target::Assignment(id.clone())
                };
                let mut items = by_target.remove(&target).unwrap_or_default();
                items.sort_by_key(|i| i.registration.position);
                let events = self.store.read_stream(&stream(kind, &id)?, 0).await?;
                let Some(created) = events.first() else {
                    // Named by an item's source, but there is no such stream.
                    other.extend(items);
                    continue;
                };
                let case = if kind == LETTER {
                    CaseFile::letter(&id, created)?
                } else {
                    CaseFile::assignment(&id, created)?
                };
                x.open("mappe", &[("type", "saksmappe"), ("kilde", kind)])?;
                write_case_file(&mut x, &case, created)?;
                counts.registry_entries += write_items(&mut x, &items)?;
                x.open("endringslogg", &[])?;
                let unit = format!("{kind}/{id}");
                for e in events
                    .iter()
                    .filter(|e| header.range.is_some_and(|r| r.contains(e.position)))
                {
                    write_change(&mut x, &unit, &LogEntry::from(e))?;
                }
                x.close()?;
                x.close()?;
                counts.case_files += 1;
            }
        }
        if !other.is_empty() {
            other.sort_by_key(|i| i.registration.position);
            x.open("mappe", &[("type", "saksmappe"), ("kilde", "ovrig")])?;
            x.leaf("systemID", "ovrig")?;
            x.leaf("mappeID", "ovrig")?;
            x.leaf("tittel", OTHER_CASE_FILE_TITLE)?;
            counts.registry_entries += write_items(&mut x, &other)?;
            x.close()?;
            counts.case_files += 1;
        }
        x.close()?; // arkivdel
        x.close()?; // arkiv
        x.close()?; // arkivuttrekk
        Ok((x.finish()?, counts))
    }

    /// The item's state after the period's last event, and its events in the period. The
    /// registration may predate the period (an exemption or receipt in the period).
    async fn load_item(&self, id: &str, range: Range) -> Result<Item, ExportError> {
        let events = self
            .store
            .read_stream(&stream(CORRESPONDENCE, id)?, 0)
            .await?;
        let mut item: Option<Item> = None;
        for e in events.iter().take_while(|e| e.position <= range.last) {
            match (decode::<CorrespondenceEvent>(e)?, item.as_mut()) {
                (CorrespondenceEvent::CorrespondenceRegistered(r), None) => {
                    let mut registered = *r;
                    // The content is in events.jsonl; the entry carries its checksum.
                    registered.content = serde_json::Value::Null;
                    item = Some(Item {
                        id: id.to_owned(),
                        registration: LogEntry::from(e),
                        registration_journal_date: oslo_date(e.recorded_at),
                        registered,
                        exemption: None,
                        receipts: Vec::new(),
                        log: Vec::new(),
                    });
                }
                (CorrespondenceEvent::CorrespondenceRegistered(_), Some(_)) | (_, None) => {
                    return Err(ExportError::Damaged(format!(
                        "correspondence {id}: event {} ({}) does not follow a single registration",
                        e.version, e.event_type
                    )));
                }
                (CorrespondenceEvent::ExemptionMarked(m), Some(i)) => i.exemption = Some(m),
                (CorrespondenceEvent::ExemptionLifted(_), Some(i)) => i.exemption = None,
                (CorrespondenceEvent::CopyDelivered(d), Some(i)) => i.receipts.push(d),
                (
                    CorrespondenceEvent::CopyDispatchStarted(_)
                    | CorrespondenceEvent::CopyDeliveryFailed(_),
                    Some(_),
                ) => {}
            }
            if range.contains(e.position)
                && let Some(i) = item.as_mut()
            {
                i.log.push(LogEntry::from(e));
            }
        }
        item.ok_or_else(|| ExportError::Damaged(format!("correspondence {id} has no registration")))
    }

    /// The case file an item belongs in: its source's letter or assignment; a supplement's
    /// letter; the assignment a deviation report is about; otherwise "Øvrig korrespondanse".
    async fn resolve(&mut self, source: Option<&SourceRef>) -> Result<Target, ExportError> {
        let Some(source) = source else {
            return Ok(Target::Other);
        };
        let id = &source.stream_id;
        Ok(match source.stream_type.as_str() {
            LETTER => Target::Letter(id.clone()),
            ASSIGNMENT => Target::Assignment(id.clone()),
            "supplement" => {
                if !self.supplement_letters.contains_key(id) {
                    let letter = match self.first_event(&source.stream_type, id).await? {
                        Some(e) => match decode::<SupplementEvent>(&e)? {
                            SupplementEvent::SupplementDrafted(d) => {
                                Some(letter_stream_id(&d.ministry, &d.agency, d.year))
                            }
                            _ => None,
                        },
                        None => None,
                    };
                    self.supplement_letters.insert(id.clone(), letter);
                }
                match &self.supplement_letters[id] {
                    Some(letter) => Target::Letter(letter.clone()),
                    None => Target::Other,
                }
            }
            "deviation_report" => {
                if !self.deviation_assignments.contains_key(id) {
                    let assignment = match self.first_event(&source.stream_type, id).await? {
                        Some(e) => match decode::<DeviationEvent>(&e)? {
                            DeviationEvent::DeviationDrafted(d) => match d.subject {
                                DeviationSubject::Assignment { assignment_id, .. } => {
                                    Some(assignment_id.to_string())
                                }
                                _ => None,
                            },
                            _ => None,
                        },
                        None => None,
                    };
                    self.deviation_assignments.insert(id.clone(), assignment);
                }
                match &self.deviation_assignments[id] {
                    Some(assignment) => Target::Assignment(assignment.clone()),
                    None => Target::Other,
                }
            }
            _ => Target::Other,
        })
    }

    async fn first_event(
        &self,
        stream_type: &str,
        id: &str,
    ) -> Result<Option<RecordedEvent>, ExportError> {
        let Ok(s) = StreamId::new(stream_type, id) else {
            return Ok(None);
        };
        Ok(self.store.read_stream(&s, 0).await?.into_iter().next())
    }
}

type Xml<W> = XmlWriter<W>;

fn write_header<W: Write>(x: &mut Xml<W>, h: &Header<'_>) -> Result<(), ExportError> {
    x.open("uttrekk", &[])?;
    x.leaf("produsent", h.producer)?;
    x.leaf("opprettetDato", h.created_at)?;
    x.leaf("periodeStartDato", &h.from.to_string())?;
    x.leaf("periodeSluttDato", &h.to.to_string())?;
    x.leaf("tidssone", "Europe/Oslo")?;
    x.leaf("hendelsesfil", h.events_file)?;
    x.leaf("antallHendelser", &h.events.to_string())?;
    x.leaf_opt(
        "foerstePosisjon",
        h.range.map(|r| r.first.to_string()).as_deref(),
    )?;
    x.leaf_opt(
        "sistePosisjon",
        h.range.map(|r| r.last.to_string()).as_deref(),
    )?;
    x.leaf_opt("forrigeHash", h.first_prev_hash)?;
    x.leaf_opt("sisteHash", h.last_hash)?;
    x.leaf("kjedehodePosisjon", &h.head.position.to_string())?;
    x.leaf("kjedehodeHash", &h.head.hash)?;
    x.close()?;
    Ok(())
}

/// What a case file shows, taken from its stream's first event.
struct CaseFile {
    stream_type: &'static str,
    id: String,
    title: String,
    year: Option<String>,
    /// Ministry, or ministry/department.
    unit: Option<String>,
    agency: Option<String>,
    /// The letter's case reference (*vår referanse*) or the assignment's printed reference.
    reference: Option<(&'static str, String)>,
    /// The letter an assignment belongs to.
    letter: Option<String>,
}

impl CaseFile {
    fn letter(id: &str, created: &RecordedEvent) -> Result<Self, ExportError> {
        let mut case = Self::unknown(LETTER, id, format!("Tildelingsbrev {id}"));
        if let LetterEvent::LetterDrafted(d) = decode::<LetterEvent>(created)? {
            case.title = d.title.as_str().to_owned();
            case.year = Some(d.year.to_string());
            case.unit = Some(d.ministry.to_string());
            case.agency = Some(d.agency.to_string());
            case.reference = d.case_ref.map(|r| ("vaarReferanse", r));
        }
        Ok(case)
    }

    fn assignment(id: &str, created: &RecordedEvent) -> Result<Self, ExportError> {
        let mut case = Self::unknown(ASSIGNMENT, id, format!("Oppdrag {id}"));
        if let AssignmentEvent::AssignmentIssued(a) = decode::<AssignmentEvent>(created)? {
            case.title = a.title.as_str().to_owned();
            case.year = Some(a.year.to_string());
            case.unit = Some(match &a.department {
                Some(d) => format!("{}/{d}", a.ministry),
                None => a.ministry.to_string(),
            });
            case.agency = Some(a.agency.to_string());
            case.reference = a
                .reference
                .map(|r| ("oppdragsreferanse", r.as_str().to_owned()));
            case.letter = Some(letter_stream_id(&a.ministry, &a.agency, a.year));
        }
        Ok(case)
    }

    fn unknown(stream_type: &'static str, id: &str, title: String) -> Self {
        Self {
            stream_type,
            id: id.to_owned(),
            title,
            year: None,
            unit: None,
            agency: None,
            reference: None,
            letter: None,
        }
    }
}

/// The case file's own fields; its registry entries and change log follow.
fn write_case_file<W: Write>(
    x: &mut Xml<W>,
    case: &CaseFile,
    created: &RecordedEvent,
) -> Result<(), ExportError> {
    x.leaf("systemID", &format!("{}/{}", case.stream_type, case.id))?;
    x.leaf("mappeID", &case.id)?;
    x.leaf("tittel", &case.title)?;
    x.leaf("opprettetDato", &format_timestamp(&created.recorded_at))?;
    x.leaf("opprettetAv", &created.actor.display_name)?;
    if let Some(agency) = &case.agency {
        x.open("part", &[])?;
        x.leaf("partNavn", agency)?;
        x.leaf("partRolle", "Virksomhet")?;
        x.close()?;
    }
    if let Some(letter) = &case.letter {
        x.open("kryssreferanse", &[])?;
        x.leaf("referanseTilMappe", &format!("{LETTER}/{letter}"))?;
        x.close()?;
    }
    x.open("virksomhetsspesifikkeMetadata", &[])?;
    x.leaf("stroemtype", case.stream_type)?;
    x.leaf("referanseOpprettetAv", &created.actor.subject)?;
    if let Some((name, value)) = &case.reference {
        x.leaf(name, value)?;
    }
    x.close()?;
    x.leaf_opt("saksaar", case.year.as_deref())?;
    x.leaf("saksdato", &oslo_date(created.effective_at).to_string())?;
    x.leaf_opt("administrativEnhet", case.unit.as_deref())?;
    x.leaf("saksansvarlig", &created.actor.display_name)?;
    Ok(())
}

fn write_items<W: Write>(x: &mut Xml<W>, items: &[Item]) -> Result<usize, ExportError> {
    for item in items {
        write_item(x, item)?;
    }
    Ok(items.len())
}

fn write_item<W: Write>(x: &mut Xml<W>, item: &Item) -> Result<(), ExportError> {
    let r = &item.registered;
    let reg = &item.registration;
    x.open("registrering", &[("type", "journalpost")])?;
    x.leaf("systemID", &format!("{CORRESPONDENCE}/{}", item.id))?;
    x.leaf("opprettetDato", &reg.recorded_at)?;
    x.leaf("opprettetAv", &reg.actor.display_name)?;
    x.leaf("tittel", &r.title)?;
    for (role, party) in [
        ("Avsender", &r.from),
        ("Mottaker", &r.to),
        ("Kopimottaker", &r.copy_to),
    ] {
        x.open("korrespondansepart", &[])?;
        x.leaf("korrespondanseparttype", role)?;
        x.leaf("korrespondansepartNavn", party.as_str())?;
        x.close()?;
    }
    if let Some(m) = &item.exemption {
        x.open("skjerming", &[])?;
        x.leaf("tilgangsrestriksjon", "Unntatt offentlighet")?;
        x.leaf("skjermingshjemmel", m.legal_basis.as_str())?;
        x.close()?;
    }
    x.open("dokumentbeskrivelse", &[])?;
    x.leaf("tilknyttetRegistreringSom", "Hoveddokument")?;
    x.leaf("tittel", &r.title)?;
    x.open("dokumentobjekt", &[])?;
    x.leaf("format", "JSON")?;
    if item.log.first().map(|l| l.position) == Some(reg.position) {
        x.leaf("referanseDokumentfil", super::EVENTS_FILE)?;
    }
    x.leaf("sjekksum", &r.content_sha256)?;
    x.leaf("sjekksumAlgoritme", "SHA-256")?;
    x.close()?;
    x.close()?;

    x.open("virksomhetsspesifikkeMetadata", &[])?;
    x.leaf("referanseOpprettetAv", &reg.actor.subject)?;
    x.leaf("registreringsposisjon", &reg.position.to_string())?;
    let kind = serde_json::to_value(r.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    x.leaf_with("korrespondansetype", &[("kode", &kind)], r.kind.label())?;
    x.leaf("dokumentetsTidspunkt", &format_timestamp(&r.occurred_at))?;
    x.leaf_opt("departement", r.ministry.as_ref().map(|m| m.as_str()))?;
    x.leaf_opt("virksomhet", r.agency.as_ref().map(|a| a.as_str()))?;
    if let Some(m) = &item.exemption {
        x.leaf("skjermetAv", &m.by.display_name)?;
        x.leaf("skjermetDato", &format_timestamp(&m.at))?;
    }
    if let Some(s) = &r.source {
        x.open("kildehendelse", &[])?;
        x.leaf("stroemtype", &s.stream_type)?;
        x.leaf("stroemID", &s.stream_id)?;
        x.leaf("hendelseID", &s.event_id.to_string())?;
        x.leaf("hendelsestype", &s.event_type)?;
        x.close()?;
    }
    for d in &item.receipts {
        x.open("forsendelse", &[])?;
        x.leaf("kanal", &d.channel)?;
        x.leaf("forsoek", &d.attempt.to_string())?;
        x.leaf("levertDato", &format_timestamp(&d.at))?;
        x.leaf("sjekksum", &d.content_sha256)?;
        x.leaf_opt("mottakersKvitteringID", d.remote_receipt_id.as_deref())?;
        x.close()?;
    }
    x.close()?;

    x.leaf("journaldato", &item.registration_journal_date.to_string())?;
    x.leaf("dokumentetsDato", &oslo_date(r.occurred_at).to_string())?;
    x.open("endringslogg", &[])?;
    for entry in &item.log {
        write_change(x, &format!("{CORRESPONDENCE}/{}", item.id), entry)?;
    }
    x.close()?;
    x.close()?;
    Ok(())
}

fn write_change<W: Write>(x: &mut Xml<W>, unit: &str, e: &LogEntry) -> Result<(), ExportError> {
    x.open("endring", &[])?;
    x.leaf("referanseArkivenhet", unit)?;
    x.leaf("posisjon", &e.position.to_string())?;
    x.leaf("hendelseID", &e.event_id)?;
    x.leaf("versjon", &e.version.to_string())?;
    x.leaf("hendelsestype", &e.event_type)?;
    x.leaf("endretDato", &e.recorded_at)?;
    x.leaf("virkningstidspunkt", &e.effective_at)?;
    x.leaf("endretAv", &e.actor.display_name)?;
    x.leaf("referanseEndretAv", &e.actor.subject)?;
    x.leaf("rolle", &e.actor.role)?;
    x.leaf("organisasjon", &e.actor.organisation)?;
    x.leaf_opt("begrunnelse", e.reason.as_deref())?;
    x.leaf("hash", &e.hash)?;
    x.close()?;
    Ok(())
}
