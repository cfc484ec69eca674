//! The audit export (`styr audit export`): an archive package of the events recorded in a period,
//! for auditors and for the archive. The package is a directory holding
//!
//! - `events.jsonl`: the period's events, one JSON object per line, with every envelope field
//!   (position, ids, stream, version, type, schema version, actor, reason, correlation and
//!   causation, `recorded_at`, `effective_at`, `prev_hash`, `hash`) and the payload as the exact
//!   canonical text that was hashed. An event is in the period when its `recorded_at` falls on
//!   one of the Oslo calendar dates `from..=to`. Since `recorded_at` never decreases along the
//!   log, those events are one unbroken run of positions, and the first event's `prev_hash` (the
//!   hash of the event before the period) anchors the extract to the chain: anyone can recompute
//!   every hash and link, and a holder of the log can check that the extract is part of it;
//! - `arkivuttrekk.xml`: case files, registry entries and change logs modelled on a Noark 5
//!   archive extract ([`noark`]);
//! - `manifest.json`: the period, the positions and hashes at both ends, the chain head of the
//!   whole log at export time, and the size and SHA-256 of every other file;
//! - `README.txt`: how to read and check the package.
//!
//! Every field is described in `docs/audit-export.md`. The package is written into a temporary
//! directory beside the target and renamed into place at the end, so a failed export leaves no
//! half package. The log is read page by page; the XML is written from one stream at a time.

mod jsonl;
mod noark;
mod xml;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use styr_domain::oslo_date;
use styr_eventstore::{EventStore, LogHead, RecordedEvent, StoreError, recompute_hash};
use thiserror::Error;

pub use jsonl::{event_line, parse_event_line, read_events_jsonl};
pub use noark::{NAMESPACE, OTHER_CASE_FILE_TITLE};

/// The package's file names.
pub const EVENTS_FILE: &str = "events.jsonl";
pub const ARCHIVE_FILE: &str = "arkivuttrekk.xml";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const README_FILE: &str = "README.txt";
/// `format` in the manifest.
pub const FORMAT: &str = "styringsdialog-audit-export";
pub const FORMAT_VERSION: u32 = 1;
/// Progress is reported after every this many events.
pub const PROGRESS_EVERY: u64 = 10_000;

const PAGE: u32 = 1000;

/// What to export and where.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// First Oslo calendar date of the period.
    pub from: NaiveDate,
    /// Last Oslo calendar date of the period (inclusive).
    pub to: NaiveDate,
    /// The package directory: it must not exist, or be empty; its parent must exist.
    pub out: PathBuf,
    /// Stated in the manifest and the XML as the time of the export.
    pub created_at: DateTime<Utc>,
}

impl ExportRequest {
    pub fn new(from: NaiveDate, to: NaiveDate, out: impl Into<PathBuf>) -> Self {
        Self {
            from,
            to,
            out: out.into(),
            created_at: Utc::now(),
        }
    }
}

#[derive(Debug, Error)]
pub enum ExportError {
    /// The request cannot be carried out as given (period, output directory). Nothing was
    /// written.
    #[error("{0}")]
    InvalidRequest(String),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write the package: {0}")]
    Write(#[from] std::io::Error),

    #[error(transparent)]
    Store(#[from] StoreError),

    /// The log (or a package being read back) is not as it must be.
    #[error("{0}")]
    Damaged(String),
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub producer: String,
    pub period: ManifestPeriod,
    pub events: ManifestEvents,
    /// The tip of the whole log when the export started.
    pub chain_head: LogHead,
    /// Every file of the package except the manifest itself.
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    /// Which timestamp decides whether an event is in the period.
    pub selected_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEvents {
    pub file: String,
    pub count: u64,
    /// `None` when the period holds no events.
    pub first_position: Option<u64>,
    pub last_position: Option<u64>,
    /// The first event's `prev_hash`: the hash of the event just before the period (the
    /// genesis hash when the extract starts at position 1).
    pub first_prev_hash: Option<String>,
    pub last_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub case_files: usize,
    pub registry_entries: usize,
}

/// Checks the period and the output directory without touching the store, so a caller can
/// refuse bad arguments before it connects.
pub fn check_request(request: &ExportRequest) -> Result<(), ExportError> {
    if request.from > request.to {
        return Err(ExportError::InvalidRequest(format!(
            "the period is empty: it starts {} but ends {}",
            request.from, request.to
        )));
    }
    let out = &request.out;
    match std::fs::metadata(out) {
        Ok(m) if !m.is_dir() => {
            return Err(ExportError::InvalidRequest(format!(
                "{} exists and is not a directory; choose a new or empty directory",
                out.display()
            )));
        }
        Ok(_) => {
            let mut entries = std::fs::read_dir(out).map_err(|source| ExportError::Io {
                path: out.clone(),
                source,
            })?;
            if entries.next().is_some() {
                return Err(ExportError::InvalidRequest(format!(
                    "{} exists and is not empty; choose a new or empty directory",
                    out.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(ExportError::Io {
                path: out.clone(),
                source,
            });
        }
    }
    if out.file_name().is_none() {
        return Err(ExportError::InvalidRequest(format!(
            "{} does not name a directory to create",
            out.display()
        )));
    }
    let parent = parent_of(out);
    if !parent.is_dir() {
        return Err(ExportError::InvalidRequest(format!(
            "the directory {} to create {} in does not exist",
            parent.display(),
            out.display()
        )));
    }
    Ok(())
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Writes the package for `request` from `store`. `progress(written, total)` is called after
/// every [`PROGRESS_EVERY`] events and once at the end.
///
/// Refuses (before writing anything) a period that ends before it starts and an output that
/// exists and is not an empty directory. Fails with [`ExportError::Damaged`], leaving nothing
/// behind, if an event in the period does not match its hash or link to the one before (the
/// first one to the stored event just before the period).
pub async fn write_package(
    store: &EventStore,
    request: &ExportRequest,
    mut progress: impl FnMut(u64, u64),
) -> Result<ExportSummary, ExportError> {
    check_request(request)?;
    let head = store.head().await?;
    let (from, to) = (request.from, request.to);
    let first =
        first_position_where(store, head.position, |e| oslo_date(e.recorded_at) >= from).await?;
    let after =
        first_position_where(store, head.position, |e| oslo_date(e.recorded_at) > to).await?;
    let last = after.map_or(head.position, |p| p - 1);
    let range = first
        .filter(|f| *f <= last)
        .map(|first| noark::Range { first, last });

    let staging = Staging::create(&request.out)?;
    let created_at = styr_eventstore::format_timestamp(&request.created_at);
    let producer = format!(
        "Styringsdialog (styr-workflow {})",
        env!("CARGO_PKG_VERSION")
    );

    // events.jsonl, noting which case files and registry entries the period touches.
    let mut index = noark::CaseIndex::default();
    let mut events = staging.file(EVENTS_FILE)?;
    let mut count = 0;
    let mut first_prev_hash = None;
    let mut last_hash: Option<String> = None;
    if let Some(range) = range {
        let total = range.last - range.first + 1;
        let mut after = range.first - 1;
        // The anchor: the first event must link to the stored event before it.
        if after > 0 {
            last_hash = Some(event_at(store, after).await?.hash);
        }
        'pages: loop {
            let page = store.read_all(after, PAGE).await?;
            if page.is_empty() {
                return Err(ExportError::Damaged(format!(
                    "the log ends at position {after}, before the period's last position {}",
                    range.last
                )));
            }
            for e in page {
                if e.position > range.last {
                    break 'pages;
                }
                check_event(&e, after, last_hash.as_deref(), from, to)?;
                if first_prev_hash.is_none() {
                    first_prev_hash = Some(e.prev_hash.clone());
                }
                events.write_all(event_line(&e)?.as_bytes())?;
                events.write_all(b"\n")?;
                index.note(&e);
                after = e.position;
                last_hash = Some(e.hash);
                count += 1;
                if count % PROGRESS_EVERY == 0 {
                    progress(count, total);
                }
                if after == range.last {
                    break 'pages;
                }
            }
        }
        progress(count, total);
    } else {
        progress(0, 0);
    }
    let events_entry = staging.finish(EVENTS_FILE, events)?;

    let header = noark::Header {
        created_at: &created_at,
        producer: &producer,
        from,
        to,
        events: count,
        range,
        first_prev_hash: first_prev_hash.as_deref(),
        last_hash: last_hash.as_deref(),
        head: &head,
        events_file: EVENTS_FILE,
    };
    let archive = staging.file(ARCHIVE_FILE)?;
    let (archive, counts) = noark::ArchiveWriter::new(store)
        .write(archive, &header, index)
        .await?;
    let archive_entry = staging.finish(ARCHIVE_FILE, archive)?;

    let mut readme = staging.file(README_FILE)?;
    readme.write_all(readme_text(&header).as_bytes())?;
    let readme_entry = staging.finish(README_FILE, readme)?;

    let manifest = Manifest {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        created_at: created_at.clone(),
        producer: producer.clone(),
        period: ManifestPeriod {
            from,
            to,
            time_zone: "Europe/Oslo".to_owned(),
            selected_by: "recorded_at".to_owned(),
        },
        events: ManifestEvents {
            file: EVENTS_FILE.to_owned(),
            count,
            first_position: range.map(|r| r.first),
            last_position: range.map(|r| r.last),
            first_prev_hash,
            last_hash,
        },
        chain_head: head,
        files: vec![events_entry, archive_entry, readme_entry],
    };
    let mut file = staging.file(MANIFEST_FILE)?;
    let mut text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| ExportError::Damaged(format!("the manifest cannot be written: {e}")))?;
    text.push('\n');
    file.write_all(text.as_bytes())?;
    staging.finish(MANIFEST_FILE, file)?;

    let dir = staging.commit(&request.out)?;
    Ok(ExportSummary {
        dir,
        manifest,
        case_files: counts.case_files,
        registry_entries: counts.registry_entries,
    })
}

/// Each event of the period must be the next position, link to the one before, match its
/// hash and lie in the period: otherwise the log is damaged and the package would lie.
fn check_event(
    e: &RecordedEvent,
    after: u64,
    prev_hash: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), ExportError> {
    let p = e.position;
    let damaged = |what: String| {
        Err(ExportError::Damaged(format!(
            "{what}; the log is damaged (run styr audit verify), nothing was exported"
        )))
    };
    if p != after + 1 {
        return damaged(format!("position {} is missing", after + 1));
    }
    if prev_hash.is_some_and(|h| h != e.prev_hash) {
        return damaged(format!(
            "the event at position {p} does not link to the one before"
        ));
    }
    if recompute_hash(e) != e.hash {
        return damaged(format!("the event at position {p} does not match its hash"));
    }
    let date = oslo_date(e.recorded_at);
    if date < from || date > to {
        return damaged(format!(
            "the event at position {p} was recorded on {date}, outside the period, between \
             events inside it"
        ));
    }
    Ok(())
}

/// The lowest position in `1..=head` whose event satisfies `pred`, for a `pred` that is false
/// up to some position and true from there on (true from a date on, since `recorded_at`
/// never decreases along the log).
async fn first_position_where(
    store: &EventStore,
    head: u64,
    pred: impl Fn(&RecordedEvent) -> bool,
) -> Result<Option<u64>, ExportError> {
    let (mut lo, mut hi) = (1, head + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(&event_at(store, mid).await?) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok((lo <= head).then_some(lo))
}

async fn event_at(store: &EventStore, position: u64) -> Result<RecordedEvent, ExportError> {
    store
        .read_all(position - 1, 1)
        .await?
        .into_iter()
        .next()
        .filter(|e| e.position == position)
        .ok_or_else(|| {
            ExportError::Damaged(format!(
                "position {position} is missing from the log (run styr audit verify)"
            ))
        })
}

/// A file being written: buffered, with its size and SHA-256 taken as it is written.
struct HashingFile {
    out: BufWriter<File>,
    sha: Sha256,
    size: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The temporary directory the package is written into; removed unless committed.
struct Staging {
    dir: PathBuf,
    committed: bool,
}

impl Staging {
    fn create(out: &Path) -> Result<Self, ExportError> {
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned());
        let dir = parent_of(out).join(format!(
            ".{}.partial-{}",
            name.unwrap_or_default(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir(&dir).map_err(|source| ExportError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            committed: false,
        })
    }

    fn io(&self, name: &str) -> impl Fn(std::io::Error) -> ExportError {
        let path = self.dir.join(name);
        move |source| ExportError::Io {
            path: path.clone(),
            source,
        }
    }

    fn file(&self, name: &str) -> Result<HashingFile, ExportError> {
        let file = File::create_new(self.dir.join(name)).map_err(self.io(name))?;
        Ok(HashingFile {
            out: BufWriter::new(file),
            sha: Sha256::new(),
            size: 0,
        })
    }

    /// Flushes and syncs a file; returns its manifest entry.
    fn finish(&self, name: &str, mut f: HashingFile) -> Result<ManifestFile, ExportError> {
        f.flush().map_err(self.io(name))?;
        let file = f
            .out
            .into_inner()
            .map_err(|e| self.io(name)(e.into_error()))?;
        file.sync_all().map_err(self.io(name))?;
        Ok(ManifestFile {
            name: name.to_owned(),
            size: f.size,
            sha256: hex::encode(f.sha.finalize()),
        })
    }

    /// Moves the finished package to `out` (replacing an empty directory there).
    fn commit(mut self, out: &Path) -> Result<PathBuf, ExportError> {
        let io = |source| ExportError::Io {
            path: out.to_owned(),
            source,
        };
        if out.is_dir() {
            // Checked empty before the export; remove_dir refuses it if it no longer is.
            std::fs::remove_dir(out).map_err(io)?;
        }
        std::fs::rename(&self.dir, out).map_err(io)?;
        self.committed = true;
        if let Ok(parent) = File::open(parent_of(out)) {
            let _ = parent.sync_all();
        }
        Ok(out.to_owned())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn readme_text(h: &noark::Header<'_>) -> String {
    let positions = match h.range {
        Some(r) => format!("positions {} to {}", r.first, r.last),
        None => "no events".to_owned(),
    };
    format!(
        "\
Styringsdialog audit export
===========================

Period:   {from} to {to} (Oslo calendar dates, inclusive; by the time each event was recorded)
Events:   {count} ({positions})
Created:  {created} by {producer}
Chain head of the whole log at export time: position {head_position}, hash {head_hash}

Files
-----
{events_file}
    The event log of the period: one JSON object per line, in position order, with every
    field of the event as it was recorded - position, event_id, stream_type, stream_id,
    version, event_type, schema_version, actor (subject, display_name, role, organisation),
    reason, correlation_id, causation_id, recorded_at, effective_at, prev_hash, hash - and
    the payload, written as the exact canonical JSON text that was hashed.

{archive_file}
    The same period as an archive structure modelled on a Noark 5 archive extract
    (arkivuttrekk): one case file (mappe/saksmappe) per allocation letter and per assignment,
    a registry entry (registrering/journalpost) per item of steering correspondence, and a
    change log (endringslogg) listing each event. It is NOT a validated Noark 5 extract.
    Items marked exempt from public disclosure (unntatt offentlighet) are marked, not
    removed: this package is for auditors, not for publication.

{manifest_file}
    The period, the first and last position exported, the first event's prev_hash, the chain
    head, and the size and SHA-256 of every other file.

How to check the package
------------------------
1. The SHA-256 of each file must match the manifest (e.g. sha256sum {events_file}).
2. Each event's hash is SHA-256 over its fields in a fixed, length-prefixed order (see
   services/eventstore/src/chain.rs in the Styringsdialog source), and each prev_hash is the
   hash of the event before. The first event's prev_hash is the hash of the event just
   before the period (64 zeros if the period starts at the beginning of the log): it anchors
   the extract to the chain, and the chain head lets a holder of the full log check that the
   extract is part of it.
3. An extract that starts at position 1 can be re-imported into an empty Styringsdialog
   store, which then verifies its chain (`styr audit verify`) and has the same head as the
   last event of the extract.

Field-by-field documentation: docs/audit-export.md in the Styringsdialog source.
",
        from = h.from,
        to = h.to,
        count = h.events,
        created = h.created_at,
        producer = h.producer,
        head_position = h.head.position,
        head_hash = h.head.hash,
        events_file = EVENTS_FILE,
        archive_file = ARCHIVE_FILE,
        manifest_file = MANIFEST_FILE,
    )
}
