//! Recording one decision about one app in the organisation overlay from
//! code — what a web console or a CLI does when someone says "Dropbox is
//! tolerated for Finance until the end of March".
//!
//! The overlay ([`crate::overlay`]) is a file people edit by hand, with
//! comments that explain past decisions. A program that writes to it must
//! leave all of that alone, must never write something the pipeline would
//! refuse to load, must show the person what will change, and must not
//! silently undo an edit someone else saved in the meantime. The workflow has
//! three steps:
//!
//! 1. **Plan.** [`DecisionPlan::new`] reads the overlay, checks the
//!    [`Decision`] against the *base* catalog (the catalog before the
//!    overlay) and computes the new file text: the app's `[[app]]` entry is
//!    updated in place (only the keys that change; comments, key order and
//!    every other entry stay byte for byte), or a new `[[app]]` entry is
//!    appended at the end of the file. Nothing is written yet.
//! 2. **Show.** [`DecisionPlan::diff`] is a unified diff of the old and the
//!    new text, for the person to confirm.
//! 3. **Save.** [`DecisionPlan::save`] refuses with
//!    [`DecisionError::Conflict`] if the file changed on disk since it was
//!    read, otherwise replaces it atomically (temporary file in the same
//!    directory, fsync, rename) and appends one JSON line to the audit log.
//!
//! ```
//! use floodlight_enrichments::{AppCatalog, AppStatus, Date, Decision, DecisionPlan};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let overlay = dir.path().join("overlay.toml"); // missing or empty: an empty overlay
//! let audit_log = dir.path().join("overlay.audit.jsonl");
//! let base = AppCatalog::embedded(); // the catalog *before* the overlay
//! let today: Date = "2026-11-24".parse()?; // in service: Date::today_utc()
//!
//! let decision = Decision::new("dropbox", AppStatus::Monitored, "Finance shares statements with the auditor")
//!     .with_owner("it-finance@corp.example.com")
//!     .with_expiry("2027-03-31".parse()?);
//! let plan = DecisionPlan::new(&overlay, &base, decision, today)?; // read, validate, edit
//! assert!(plan.diff().contains("+status = \"monitored\""));      // show it, ask to confirm
//! let record = plan.save(&audit_log, "ana.pereira")?;             // conflict check, write, audit
//! assert_eq!(record.before, None); // dropbox had no entry before
//! # assert!(std::fs::read_to_string(&overlay)?.starts_with("[[app]]\nid = \"dropbox\"\n"));
//! # Ok(())
//! # }
//! ```
//!
//! **What is refused** (a [`DecisionError`] naming the app and the value),
//! always before anything is written: an app id the base catalog does not
//! have (the overlay's own `[[sanctioned]]` apps included: they are always
//! sanctioned and are edited by hand), an empty reason, an expiry before
//! `today` (the expiry is the last day the decision holds, so `today` itself
//! is fine), a sanctioned app with an alternative, an alternative that is not
//! sanctioned once the decision is applied, and anything else that would make
//! the overlay fail to load: the new text goes through the same
//! [`Overlay::from_toml`] and [`AppCatalog::with_overlay`] as at start-up.
//!
//! **Conflicts.** The plan remembers the text it was based on. A console that
//! shows the file, lets someone decide, and plans later should build the plan
//! with [`DecisionPlan::from_text`] from the text it *showed*, so an edit saved
//! by someone else in between is a conflict rather than silently merged.
//! The check runs right before the rename; two programs saving in the same
//! instant are not serialised (that would need a lock file).
//!
//! **Audit log.** One JSON object per line ([`AuditRecord`]), appended with a
//! single write and fsynced:
//!
//! ```json
//! {"time":"2026-11-24T09:14:03.120Z","who":"ana.pereira","app_id":"dropbox","before":null,"after":{"id":"dropbox","status":"monitored","reason":"Finance shares statements with the auditor","owner":"it-finance@corp.example.com","expires":"2027-03-31"},"file":"/etc/floodlight/overlay.toml"}
//! ```

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use similar::TextDiff;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use crate::catalog::{AppCatalog, AppStatus};
use crate::date::Date;
use crate::error::EnrichmentError;
use crate::files::embedded_name;
use crate::overlay::{AppRule, ExceptionRule, Overlay};

/// One decision about one app: exactly the `[[app]]` entry it writes.
///
/// Deserialises from the JSON a console sends, with the keys of the TOML
/// entry (`{"id": "dropbox", "status": "monitored", "reason": "...",
/// "expires": "2027-03-31"}`; the optional keys may be left out, unknown
/// keys are refused). A `None` owner, expiry or alternative removes that key
/// from the entry (without an alternative, the category entry's applies).
pub type Decision = AppRule;

impl AppRule {
    /// A decision without owner, expiry or alternative.
    pub fn new(app_id: impl Into<String>, status: AppStatus, reason: impl Into<String>) -> AppRule {
        AppRule { id: app_id.into(), status, reason: reason.into(), owner: None, expires: None, alternative: None }
    }

    /// The same decision with an owner.
    pub fn with_owner(mut self, owner: impl Into<String>) -> AppRule {
        self.owner = Some(owner.into());
        self
    }

    /// The same decision holding until `last_day` (inclusive).
    pub fn with_expiry(mut self, last_day: Date) -> AppRule {
        self.expires = Some(last_day);
        self
    }

    /// The same decision offering `app_id` instead.
    pub fn with_alternative(mut self, app_id: impl Into<String>) -> AppRule {
        self.alternative = Some(app_id.into());
        self
    }
}

/// Why a decision was not planned or not saved. Planning raises the variants
/// up to [`DecisionError::Invalid`]; saving raises [`DecisionError::Read`]
/// and the variants from [`DecisionError::Conflict`] on. Only
/// [`DecisionError::AuditWrite`] comes after the overlay was written.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// The overlay file exists but could not be read.
    #[error("cannot read the overlay `{}`: {source}", path.display())]
    Read {
        /// The overlay file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The overlay is a file bundled with floodlight (`embedded:...`).
    #[error("`{}` is bundled with floodlight and cannot be changed; configure an overlay file of your own", path.display())]
    Bundled {
        /// The configured name.
        path: PathBuf,
    },
    /// The overlay as it is now cannot be parsed; fix it by hand first.
    #[error("the overlay cannot be edited until it is fixed by hand: {0}")]
    CurrentInvalid(#[source] EnrichmentError),
    /// The file keeps `app` in a form this editor does not change
    /// (`app = [{ ... }]` instead of `[[app]]` tables).
    #[error("`{}`: `app` is not written as [[app]] tables; rewrite it as [[app]] entries to edit it from code", path.display())]
    Layout {
        /// The overlay file.
        path: PathBuf,
    },
    /// The app is not in the base catalog (an `[[app]]` entry can only name
    /// catalog apps; the overlay's own `[[sanctioned]]` apps are always
    /// sanctioned).
    #[error("app `{app_id}`: no such app in the catalog{}", if *own_app {
        " (it is one of the overlay's own [[sanctioned]] apps, which are always sanctioned; edit that entry by hand)"
    } else {
        ""
    })]
    UnknownApp {
        /// The id given.
        app_id: String,
        /// Whether it is one of the overlay's own `[[sanctioned]]` apps.
        own_app: bool,
    },
    /// An `[[exception]]` that names neither users nor departments (for
    /// everyone, decide the app `monitored` instead).
    #[error("app `{app_id}`: the exception names no users and no departments; to allow the app for everyone, decide it `monitored`")]
    NoScope {
        /// The app.
        app_id: String,
    },
    /// The reason is empty or blank.
    #[error("app `{app_id}`: the reason is empty; every decision must say why (comply or explain)")]
    EmptyReason {
        /// The app.
        app_id: String,
    },
    /// The expiry date is already past.
    #[error(
        "app `{app_id}`: expires {expires} is before today ({today}); the expiry is the last day the decision holds"
    )]
    ExpiryInPast {
        /// The app.
        app_id: String,
        /// The expiry given.
        expires: Date,
        /// The day the plan was made.
        today: Date,
    },
    /// A sanctioned app was given an alternative.
    #[error("app `{app_id}`: a sanctioned app has no alternative; leave out `{alternative}`")]
    SanctionedWithAlternative {
        /// The app.
        app_id: String,
        /// The alternative given.
        alternative: String,
    },
    /// The alternative is unknown or not sanctioned once the decision is applied.
    #[error("app `{app_id}`: alternative `{alternative}` is not a sanctioned app after this decision ({source})")]
    AlternativeNotSanctioned {
        /// The app.
        app_id: String,
        /// The alternative given.
        alternative: String,
        /// The overlay check's own words.
        source: EnrichmentError,
    },
    /// The overlay would not load with the decision applied (for instance,
    /// it unsanctions an app another entry offers as alternative).
    #[error("the overlay would not load after this decision: {0}")]
    Invalid(#[source] EnrichmentError),
    /// The file changed on disk since the plan read it; nothing was written.
    #[error("`{}` changed since it was read (someone else saved it); nothing was written: reload it and decide again", path.display())]
    Conflict {
        /// The overlay file.
        path: PathBuf,
    },
    /// The audit log could not be opened; nothing was written.
    #[error("cannot open the audit log `{}`: {source}; nothing was written", path.display())]
    AuditOpen {
        /// The audit log.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Writing or replacing the overlay failed; the old file is intact.
    #[error("cannot write the overlay `{}`: {source}; the old file is unchanged", path.display())]
    Write {
        /// The overlay file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The overlay was saved, but appending the audit record failed.
    #[error("the decision was saved, but the audit log `{}` could not be written: {source}", path.display())]
    AuditWrite {
        /// The audit log.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// One line of the audit log: who changed which app's entry, when, from
/// what to what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it was saved: RFC 3339, UTC, milliseconds (`2026-11-24T09:14:03.120Z`).
    pub time: String,
    /// Who decided, as the caller names them.
    pub who: String,
    /// The app.
    pub app_id: String,
    /// The app's `[[app]]` entry before (`null`: it had none).
    pub before: Option<AppRule>,
    /// The entry written.
    pub after: AppRule,
    /// The overlay file, as the caller named it.
    pub file: String,
}

/// The audit log beside `overlay`, where `floodlight decide` and the console
/// record decisions: `overlay.toml` → `overlay.audit.jsonl`.
pub fn audit_log_for(overlay: &Path) -> PathBuf {
    let stem = overlay.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "overlay".into());
    overlay.with_file_name(format!("{stem}.audit.jsonl"))
}

/// A validated decision and the overlay text it produces, ready to show
/// ([`DecisionPlan::diff`]) and to save ([`DecisionPlan::save`]).
#[derive(Debug, Clone)]
pub struct DecisionPlan {
    path: PathBuf,
    old_text: String,
    new_text: String,
    before: Option<AppRule>,
    after: AppRule,
}

impl DecisionPlan {
    /// Read the overlay at `overlay_path` (missing: empty), check `decision`
    /// against `base` (the catalog *before* any overlay) as of `today`, and
    /// compute the new text. Writes nothing.
    pub fn new(
        overlay_path: impl AsRef<Path>,
        base: &AppCatalog,
        decision: Decision,
        today: Date,
    ) -> Result<DecisionPlan, DecisionError> {
        let path = overlay_path.as_ref();
        let text = read_overlay(path)?;
        DecisionPlan::from_text(path, text, base, decision, today)
    }

    /// As [`DecisionPlan::new`], from the text the caller already holds (the
    /// text it showed the person): [`DecisionPlan::save`] then refuses if the
    /// file on disk is no longer exactly that text.
    pub fn from_text(
        overlay_path: impl AsRef<Path>,
        current_text: impl Into<String>,
        base: &AppCatalog,
        decision: Decision,
        today: Date,
    ) -> Result<DecisionPlan, DecisionError> {
        let path = overlay_path.as_ref().to_path_buf();
        if embedded_name(&path).is_some() {
            return Err(DecisionError::Bundled { path });
        }
        let origin = path.display().to_string();
        let old_text = current_text.into();
        let current = Overlay::from_toml(&old_text, &origin).map_err(DecisionError::CurrentInvalid)?;
        let after = decision;
        check_decision(&after, base, &current, today)?;
        let before = current.apps.iter().find(|r| r.id == after.id).cloned();
        let new_text = apply(&old_text, &after, &path)?;
        check_result(&new_text, &origin, base, &after, today)?;
        Ok(DecisionPlan { path, old_text, new_text, before, after })
    }

    /// The overlay file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The text the plan is based on (empty for a missing file).
    pub fn old_text(&self) -> &str {
        &self.old_text
    }

    /// The text [`DecisionPlan::save`] writes.
    pub fn new_text(&self) -> &str {
        &self.new_text
    }

    /// The app's `[[app]]` entry before the decision, if it had one.
    pub fn before(&self) -> Option<&AppRule> {
        self.before.as_ref()
    }

    /// The `[[app]]` entry the decision writes.
    pub fn after(&self) -> &AppRule {
        &self.after
    }

    /// Whether saving changes the file (`false`: the entry already says this).
    pub fn changes_file(&self) -> bool {
        self.old_text != self.new_text
    }

    /// Unified diff of the old and the new text, with headers
    /// `--- a/<file name>` and `+++ b/<file name>`; empty when nothing changes.
    pub fn diff(&self) -> String {
        unified_diff(&self.path, &self.old_text, &self.new_text)
    }

    /// Write the new text and record the decision in `audit_log` (appended,
    /// created if missing) under the name `who`.
    ///
    /// The new text goes to a temporary file next to the overlay, is
    /// fsynced, and is renamed over the overlay only if the file on disk is
    /// still the text the plan was based on ([`DecisionError::Conflict`]
    /// otherwise); the overlay keeps its permissions (a new one gets
    /// `rw-r--r--` on Unix), and a symlinked overlay stays a symlink (its
    /// target is replaced). Readers see the old or the new file, never a
    /// mixture. Then one JSON line is appended to the audit log and fsynced.
    /// Returns the audit record. A plan that changes nothing
    /// ([`DecisionPlan::changes_file`] is `false`) is still recorded: the
    /// decision was confirmed.
    pub fn save(self, audit_log: impl AsRef<Path>, who: &str) -> Result<AuditRecord, DecisionError> {
        let file = self.path.display().to_string();
        replace_and_audit(&self.path, &self.old_text, &self.new_text, audit_log.as_ref(), |time| AuditRecord {
            time,
            who: who.to_string(),
            app_id: self.after.id.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
            file,
        })
    }
}

/// Replace the overlay at `path` with `new_text` if it still holds
/// `old_text`, then append `record(time)` to `audit_path`: the save step
/// that [`DecisionPlan::save`] and [`ExceptionPlan::save`] share.
fn replace_and_audit<R: Serialize>(
    path: &Path,
    old_text: &str,
    new_text: &str,
    audit_path: &Path,
    record: impl FnOnce(String) -> R,
) -> Result<R, DecisionError> {
    let write_err = |source: io::Error| DecisionError::Write { path: path.to_path_buf(), source };
    let target = write_target(path).map_err(write_err)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(write_err)?;
    tmp.write_all(new_text.as_bytes()).map_err(write_err)?;
    match fs::metadata(&target) {
        Ok(meta) => fs::set_permissions(tmp.path(), meta.permissions()).map_err(write_err)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => new_file_permissions(tmp.path()).map_err(write_err)?,
        Err(e) => return Err(write_err(e)),
    }
    tmp.as_file().sync_all().map_err(write_err)?;

    // Last moment before the rename: is the file still what we planned on?
    if read_overlay(path)? != old_text {
        return Err(DecisionError::Conflict { path: path.to_path_buf() });
    }
    // Opened before the rename, so that a log we cannot write stops the save.
    let mut audit = OpenOptions::new()
        .create(true)
        .append(true)
        .open(audit_path)
        .map_err(|source| DecisionError::AuditOpen { path: audit_path.to_path_buf(), source })?;
    tmp.persist(&target).map_err(|e| write_err(e.error))?;
    sync_dir(&dir);

    let record = record(rfc3339_utc(SystemTime::now()));
    let audit_err = |source: io::Error| DecisionError::AuditWrite { path: audit_path.to_path_buf(), source };
    let mut line = serde_json::to_string(&record).map_err(|e| audit_err(io::Error::other(e)))?;
    line.push('\n');
    audit.write_all(line.as_bytes()).map_err(audit_err)?;
    audit.sync_all().map_err(audit_err)?;
    Ok(record)
}

/// One line of the audit log for an `[[exception]]` entry: who granted
/// which app to whom, until when. Told apart from an [`AuditRecord`] by its
/// `exception` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionAuditRecord {
    /// When it was saved: RFC 3339, UTC, milliseconds.
    pub time: String,
    /// Who granted it, as the caller names them.
    pub who: String,
    /// The app.
    pub app_id: String,
    /// The `[[exception]]` entry written.
    pub exception: ExceptionRule,
    /// The overlay file, as the caller named it.
    pub file: String,
}

/// A validated `[[exception]]` entry and the overlay text with it appended:
/// how an accepted explanation ("I need WeTransfer for the 2 GB video
/// recordings") becomes a scoped, expiring exception. Same three steps as
/// [`DecisionPlan`]: plan ([`ExceptionPlan::new`] or
/// [`ExceptionPlan::from_text`]), show ([`ExceptionPlan::diff`]), save
/// ([`ExceptionPlan::save`], with the same conflict check, atomic replace
/// and audit line).
///
/// An exception for everyone is not an `[[exception]]` entry: it is an
/// `[[app]]` decision with status `monitored` ([`DecisionPlan`]).
///
/// ```
/// use floodlight_enrichments::{AppCatalog, Date, ExceptionPlan, ExceptionRule};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let overlay = dir.path().join("overlay.toml");
/// let exception = ExceptionRule {
///     app: "wetransfer".into(),
///     users: vec!["ana@corp.example.com".into()],
///     departments: vec![],
///     reason: "Teams cannot share the 2 GB event recordings".into(),
///     owner: Some("it-collab@corp.example.com".into()),
///     expires: "2027-03-31".parse()?,
///     source: Some("nudge n-42".into()),
/// };
/// let today: Date = "2026-12-04".parse()?;
/// let plan = ExceptionPlan::new(&overlay, &AppCatalog::embedded(), exception, today)?;
/// assert!(plan.diff().contains("+[[exception]]"));
/// let record = plan.save(dir.path().join("overlay.audit.jsonl"), "it-admin")?;
/// assert_eq!(record.app_id, "wetransfer");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ExceptionPlan {
    path: PathBuf,
    old_text: String,
    new_text: String,
    exception: ExceptionRule,
}

impl ExceptionPlan {
    /// Read the overlay at `overlay_path` (missing: empty), check
    /// `exception` against `base` as of `today` and compute the new text.
    /// Writes nothing.
    pub fn new(
        overlay_path: impl AsRef<Path>,
        base: &AppCatalog,
        exception: ExceptionRule,
        today: Date,
    ) -> Result<ExceptionPlan, DecisionError> {
        let path = overlay_path.as_ref();
        let text = read_overlay(path)?;
        ExceptionPlan::from_text(path, text, base, exception, today)
    }

    /// As [`ExceptionPlan::new`], from the text the caller already holds.
    pub fn from_text(
        overlay_path: impl AsRef<Path>,
        current_text: impl Into<String>,
        base: &AppCatalog,
        exception: ExceptionRule,
        today: Date,
    ) -> Result<ExceptionPlan, DecisionError> {
        let path = overlay_path.as_ref().to_path_buf();
        if embedded_name(&path).is_some() {
            return Err(DecisionError::Bundled { path });
        }
        let origin = path.display().to_string();
        let old_text = current_text.into();
        let current = Overlay::from_toml(&old_text, &origin).map_err(DecisionError::CurrentInvalid)?;
        let app_id = exception.app.clone();
        if base.get(&app_id).is_none() {
            let own_app = current.sanctioned.iter().any(|s| s.id == app_id);
            return Err(DecisionError::UnknownApp { app_id, own_app });
        }
        if exception.reason.trim().is_empty() {
            return Err(DecisionError::EmptyReason { app_id });
        }
        if exception.expires < today {
            return Err(DecisionError::ExpiryInPast { app_id, expires: exception.expires, today });
        }
        if exception.users.is_empty() && exception.departments.is_empty() {
            return Err(DecisionError::NoScope { app_id });
        }
        let new_text = append_exception(&old_text, &exception, &path)?;
        let overlay = Overlay::from_toml(&new_text, &origin).map_err(DecisionError::Invalid)?;
        base.with_overlay(&overlay, today).map_err(DecisionError::Invalid)?;
        Ok(ExceptionPlan { path, old_text, new_text, exception })
    }

    /// The overlay file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry the plan appends.
    pub fn exception(&self) -> &ExceptionRule {
        &self.exception
    }

    /// The text [`ExceptionPlan::save`] writes.
    pub fn new_text(&self) -> &str {
        &self.new_text
    }

    /// Unified diff of the old and the new text.
    pub fn diff(&self) -> String {
        unified_diff(&self.path, &self.old_text, &self.new_text)
    }

    /// Write the new text (refusing with [`DecisionError::Conflict`] if the
    /// file changed since it was read) and append an
    /// [`ExceptionAuditRecord`] to `audit_log` under the name `who`.
    pub fn save(self, audit_log: impl AsRef<Path>, who: &str) -> Result<ExceptionAuditRecord, DecisionError> {
        let file = self.path.display().to_string();
        replace_and_audit(&self.path, &self.old_text, &self.new_text, audit_log.as_ref(), |time| ExceptionAuditRecord {
            time,
            who: who.to_string(),
            app_id: self.exception.app.clone(),
            exception: self.exception.clone(),
            file,
        })
    }
}

/// `text` with `exception` appended as a new `[[exception]]` table at the end.
fn append_exception(text: &str, exception: &ExceptionRule, path: &Path) -> Result<String, DecisionError> {
    let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        DecisionError::CurrentInvalid(EnrichmentError::Overlay {
            origin: path.display().to_string(),
            message: e.message().to_string(),
        })
    })?;
    if doc.get("exception").is_some_and(|i| !i.is_array_of_tables()) {
        return Err(DecisionError::Layout { path: path.to_path_buf() });
    }
    // Appending text keeps every byte above it: comments, order, layout.
    let strings = |v: &[String]| {
        let mut a = toml_edit::Array::new();
        v.iter().for_each(|s| a.push(s.as_str()));
        Value::Array(a)
    };
    let mut t = Table::new();
    t.insert("app", Item::Value(Value::from(exception.app.as_str())));
    if !exception.users.is_empty() {
        t.insert("users", Item::Value(strings(&exception.users)));
    }
    if !exception.departments.is_empty() {
        t.insert("departments", Item::Value(strings(&exception.departments)));
    }
    t.insert("reason", Item::Value(Value::from(exception.reason.as_str())));
    if let Some(owner) = &exception.owner {
        t.insert("owner", Item::Value(Value::from(owner.as_str())));
    }
    t.insert("expires", Item::Value(Value::from(exception.expires.to_string())));
    if let Some(source) = &exception.source {
        t.insert("source", Item::Value(Value::from(source.as_str())));
    }
    let mut entries = ArrayOfTables::new();
    entries.push(t);
    let mut one = DocumentMut::new();
    one.insert("exception", Item::ArrayOfTables(entries));
    Ok(format!("{text}{}{one}", separator(text)))
}

/// Unified diff of `old` and `new`, with headers `a/<file name>` and `b/<file name>`.
fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    TextDiff::from_lines(old, new).unified_diff().header(&format!("a/{name}"), &format!("b/{name}")).to_string()
}

/// The overlay's text; a missing file is an empty overlay.
fn read_overlay(path: &Path) -> Result<String, DecisionError> {
    if embedded_name(path).is_some() {
        return Err(DecisionError::Bundled { path: path.to_path_buf() });
    }
    match fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(DecisionError::Read { path: path.to_path_buf(), source }),
    }
}

/// The checks that need no new text, in the order a person would fix them.
fn check_decision(rule: &AppRule, base: &AppCatalog, current: &Overlay, today: Date) -> Result<(), DecisionError> {
    // Mirrors `with_overlay`: [[app]] ids are base-catalog ids only.
    if base.get(&rule.id).is_none() {
        let own_app = current.sanctioned.iter().any(|s| s.id == rule.id);
        return Err(DecisionError::UnknownApp { app_id: rule.id.clone(), own_app });
    }
    if rule.reason.trim().is_empty() {
        return Err(DecisionError::EmptyReason { app_id: rule.id.clone() });
    }
    if let Some(expires) = rule.expires.filter(|e| *e < today) {
        return Err(DecisionError::ExpiryInPast { app_id: rule.id.clone(), expires, today });
    }
    if let (AppStatus::Sanctioned, Some(alt)) = (rule.status, &rule.alternative) {
        return Err(DecisionError::SanctionedWithAlternative { app_id: rule.id.clone(), alternative: alt.clone() });
    }
    Ok(())
}

/// The new text through the same checks as at start-up. A failure that goes
/// away without the decision's alternative is about that alternative.
fn check_result(
    new_text: &str,
    origin: &str,
    base: &AppCatalog,
    rule: &AppRule,
    today: Date,
) -> Result<(), DecisionError> {
    let overlay = Overlay::from_toml(new_text, origin).map_err(DecisionError::Invalid)?;
    let Err(source) = base.with_overlay(&overlay, today) else {
        return Ok(());
    };
    if let Some(alternative) = &rule.alternative {
        let mut without = overlay.clone();
        without.apps.iter_mut().filter(|r| r.id == rule.id).for_each(|r| r.alternative = None);
        if base.with_overlay(&without, today).is_ok() {
            return Err(DecisionError::AlternativeNotSanctioned {
                app_id: rule.id.clone(),
                alternative: alternative.clone(),
                source,
            });
        }
    }
    Err(DecisionError::Invalid(source))
}

/// `text` with `rule` written into its `[[app]]` entry, or appended as a new one.
fn apply(text: &str, rule: &AppRule, path: &Path) -> Result<String, DecisionError> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        DecisionError::CurrentInvalid(EnrichmentError::Overlay {
            origin: path.display().to_string(),
            message: e.message().to_string(),
        })
    })?;
    let last_position = doc
        .as_table()
        .iter()
        .flat_map(|(_, item)| match item {
            Item::Table(t) => vec![t.position()],
            Item::ArrayOfTables(a) => a.iter().map(Table::position).collect(),
            _ => Vec::new(),
        })
        .flatten()
        .max()
        .unwrap_or(0);
    let rendered = doc.to_string();
    match doc.get_mut("app") {
        None => {}
        Some(Item::ArrayOfTables(entries)) => {
            let existing = entries.iter_mut().find(|t| t.get("id").and_then(Item::as_str) == Some(rule.id.as_str()));
            if let Some(entry) = existing {
                update_entry(entry, rule);
                return Ok(doc.to_string());
            }
        }
        Some(_) => return Err(DecisionError::Layout { path: path.to_path_buf() }),
    }
    // Append at the very end: after the last table, and after any comments
    // that follow it (toml_edit keeps those as the document's trailing text
    // and would print them after the new table).
    let mut entry = new_entry(rule);
    let trailing = doc.trailing().as_str().unwrap_or("").to_string();
    entry.decor_mut().set_prefix(format!("{trailing}{}", separator(&rendered)));
    doc.set_trailing("");
    entry.set_position(Some(last_position + 1));
    match doc.get_mut("app").and_then(Item::as_array_of_tables_mut) {
        Some(entries) => entries.push(entry),
        None => {
            let mut entries = ArrayOfTables::new();
            entries.push(entry);
            doc.insert("app", Item::ArrayOfTables(entries));
        }
    }
    Ok(doc.to_string())
}

/// What goes between the existing text and an appended entry: nothing in an
/// empty file, otherwise whatever makes one blank line.
fn separator(existing: &str) -> &'static str {
    if existing.trim().is_empty() || existing.ends_with("\n\n") {
        ""
    } else if existing.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    }
}

/// A new `[[app]]` table, keys in the documented order.
fn new_entry(rule: &AppRule) -> Table {
    let mut t = Table::new();
    t.insert("id", Item::Value(Value::from(rule.id.as_str())));
    t.insert("status", Item::Value(Value::from(rule.status.as_str())));
    t.insert("reason", Item::Value(Value::from(rule.reason.as_str())));
    if let Some(owner) = &rule.owner {
        t.insert("owner", Item::Value(Value::from(owner.as_str())));
    }
    if let Some(expires) = rule.expires {
        t.insert("expires", Item::Value(Value::from(expires.to_string())));
    }
    if let Some(alt) = &rule.alternative {
        t.insert("alternative", Item::Value(Value::from(alt.as_str())));
    }
    t
}

/// Change the keys of an existing entry that differ from `rule`; untouched
/// keys keep their text, changed ones their trailing comment.
fn update_entry(entry: &mut Table, rule: &AppRule) {
    set_str(entry, "status", Some(rule.status.as_str()));
    set_str(entry, "reason", Some(&rule.reason));
    set_str(entry, "owner", rule.owner.as_deref());
    match rule.expires {
        Some(d) if entry_date(entry) == Some(d) => {}
        Some(d) => replace_value(entry, "expires", Value::from(d.to_string())),
        None => {
            entry.remove("expires");
        }
    }
    set_str(entry, "alternative", rule.alternative.as_deref());
}

fn set_str(entry: &mut Table, key: &str, value: Option<&str>) {
    match value {
        Some(v) if entry.get(key).and_then(Item::as_str) == Some(v) => {}
        Some(v) => replace_value(entry, key, Value::from(v)),
        None => {
            entry.remove(key);
        }
    }
}

/// `expires` as written: a quoted date or a TOML date.
fn entry_date(entry: &Table) -> Option<Date> {
    match entry.get("expires")?.as_value()? {
        Value::String(s) => s.value().parse().ok(),
        Value::Datetime(d) => d.value().to_string().parse().ok(),
        _ => None,
    }
}

fn replace_value(entry: &mut Table, key: &str, mut value: Value) {
    match entry.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None => {
            entry.insert(key, Item::Value(value));
        }
    }
}

/// Where the bytes go: the overlay, or the file a symlinked overlay points to.
fn write_target(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

#[cfg(unix)]
fn new_file_permissions(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn new_file_permissions(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Make the rename durable. Best effort: some file systems refuse to sync a
/// directory, and the file itself is already complete.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), error = %e, "overlay saved, but its directory could not be synced");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// `t` as RFC 3339 in UTC with milliseconds (`2026-11-24T09:14:03.120Z`), the
/// format the pipeline's timestamps use.
fn rfc3339_utc(t: SystemTime) -> String {
    let millis: i128 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i128,
        Err(e) => -(e.duration().as_millis() as i128),
    };
    const DAY: i128 = 86_400_000;
    let date = Date::from_days_since_epoch(millis.div_euclid(DAY) as i64);
    let ms = millis.rem_euclid(DAY);
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{date}T{h:02}:{m:02}:{s:02}.{frac:03}Z")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn exception(users: &[&str], departments: &[&str], expires: &str) -> ExceptionRule {
        ExceptionRule {
            app: "wetransfer".into(),
            users: users.iter().map(|s| s.to_string()).collect(),
            departments: departments.iter().map(|s| s.to_string()).collect(),
            reason: "Teams cannot share the \"2 GB\" recordings".into(),
            owner: Some("it@corp.example.com".into()),
            expires: expires.parse().unwrap(),
            source: Some("nudge n1".into()),
        }
    }

    #[test]
    fn an_exception_is_appended_below_everything_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("overlay.toml");
        let old = "# Our decisions. Keep this comment.\n[[app]]\nid = \"dropbox\" # why\nstatus = \"monitored\"\nreason = \"x\"\n";
        fs::write(&path, old).unwrap();
        let today: Date = "2026-12-04".parse().unwrap();
        let base = AppCatalog::embedded();
        let plan = ExceptionPlan::new(&path, &base, exception(&["ana"], &["Marketing"], "2027-01-31"), today).unwrap();
        assert!(plan.new_text().starts_with(old), "{}", plan.new_text());
        assert!(plan.diff().contains("+[[exception]]"), "{}", plan.diff());
        let audit = dir.path().join("overlay.audit.jsonl");
        let record = plan.save(&audit, "it-admin").unwrap();
        assert_eq!((record.who.as_str(), record.app_id.as_str()), ("it-admin", "wetransfer"));
        // The file loads and says exactly what was planned, quotes and all.
        let text = fs::read_to_string(&path).unwrap();
        let overlay = Overlay::from_toml(&text, "t").unwrap();
        assert_eq!(overlay.exceptions, vec![exception(&["ana"], &["Marketing"], "2027-01-31")]);
        let line = fs::read_to_string(&audit).unwrap();
        let back: ExceptionAuditRecord = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(back, record);
        // An app-decision reader skips the line rather than misreading it.
        assert!(serde_json::from_str::<AuditRecord>(line.trim()).is_err());
        // A second one goes below the first.
        ExceptionPlan::new(&path, &base, exception(&["joost"], &[], "2027-02-28"), today)
            .unwrap()
            .save(&audit, "it-admin")
            .unwrap();
        let overlay = Overlay::from_toml(&fs::read_to_string(&path).unwrap(), "t").unwrap();
        assert_eq!(overlay.exceptions.len(), 2);
        assert_eq!(fs::read_to_string(&audit).unwrap().lines().count(), 2);
    }

    #[test]
    fn exceptions_without_scope_reason_or_future_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("overlay.toml");
        let today: Date = "2026-12-04".parse().unwrap();
        let base = AppCatalog::embedded();
        let plan = |x| ExceptionPlan::new(&path, &base, x, today);
        let err = plan(exception(&[], &[], "2027-01-31")).unwrap_err();
        assert!(matches!(err, DecisionError::NoScope { .. }), "{err}");
        assert!(err.to_string().contains("monitored"), "{err}");
        let err = plan(exception(&["ana"], &[], "2026-12-03")).unwrap_err();
        assert!(matches!(err, DecisionError::ExpiryInPast { .. }), "{err}");
        assert!(plan(exception(&["ana"], &[], "2026-12-04")).is_ok(), "today is the last day: fine");
        let err = plan(ExceptionRule { reason: "  ".into(), ..exception(&["ana"], &[], "2027-01-31") }).unwrap_err();
        assert!(matches!(err, DecisionError::EmptyReason { .. }), "{err}");
        let err =
            plan(ExceptionRule { app: "no-such-app".into(), ..exception(&["ana"], &[], "2027-01-31") }).unwrap_err();
        assert!(matches!(err, DecisionError::UnknownApp { .. }), "{err}");
        let err = plan(exception(&[" "], &[], "2027-01-31")).unwrap_err();
        assert!(matches!(err, DecisionError::Invalid(_)), "{err}");
        assert!(!path.exists(), "nothing was written");
        let err = ExceptionPlan::new("embedded:overlay.toml", &base, exception(&["a"], &[], "2027-01-31"), today)
            .unwrap_err();
        assert!(matches!(err, DecisionError::Bundled { .. }), "{err}");
    }

    #[test]
    fn the_audit_log_sits_beside_the_overlay() {
        assert_eq!(audit_log_for(Path::new("/etc/fl/overlay.toml")), PathBuf::from("/etc/fl/overlay.audit.jsonl"));
        assert_eq!(audit_log_for(Path::new("ops/decisions")), PathBuf::from("ops/decisions.audit.jsonl"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let at = |ms: u64| rfc3339_utc(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(1_795_511_643_120), "2026-11-24T09:14:03.120Z");
        assert_eq!(at(951_868_799_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH - Duration::from_millis(1)), "1969-12-31T23:59:59.999Z");
        let now = rfc3339_utc(SystemTime::now());
        assert_eq!((now.len(), &now[10..11], &now[23..]), (24, "T", "Z"), "{now}");
    }

    #[test]
    fn appended_entries_get_exactly_one_blank_line_before_them() {
        let rule = Decision::new("box", AppStatus::Monitored, "Pilot");
        let entry = "[[app]]\nid = \"box\"\nstatus = \"monitored\"\nreason = \"Pilot\"\n";
        let path = Path::new("o.toml");
        for (old, sep) in [
            ("", ""),
            ("\n", ""),
            ("# our overlay\n", "\n"),
            ("# our overlay\n\n", ""),
            ("# our overlay", "\n\n"),
            ("[[app]]\nid = \"zoom\"\nstatus = \"monitored\"\nreason = \"x\"\n", "\n"),
            ("[[app]]\nid = \"zoom\"\nstatus = \"monitored\"\nreason = \"x\"\n\n# end\n", "\n"),
        ] {
            assert_eq!(apply(old, &rule, path).unwrap(), format!("{old}{sep}{entry}"), "{old:?}");
        }
        // Without a final newline toml_edit ends the last line itself.
        assert_eq!(
            apply("[[app]]\nid = \"zoom\"\nstatus = \"monitored\"\nreason = \"x\"", &rule, path).unwrap(),
            format!("[[app]]\nid = \"zoom\"\nstatus = \"monitored\"\nreason = \"x\"\n\n{entry}")
        );
    }

    #[test]
    fn an_inline_app_array_is_left_alone() {
        let text = "app = [{ id = \"zoom\", status = \"monitored\", reason = \"x\" }]\n";
        let rule = Decision::new("zoom", AppStatus::Unsanctioned, "Teams only");
        let e = apply(text, &rule, Path::new("o.toml")).unwrap_err();
        assert!(matches!(e, DecisionError::Layout { .. }), "{e}");
        assert!(e.to_string().contains("not written as [[app]] tables"), "{e}");
    }

    #[test]
    fn equal_dates_keep_their_spelling() {
        let text = "[[app]]\nid = \"zoom\"\nstatus = \"monitored\"\nreason = \"x\"\nexpires = 2027-01-31 # TOML date\n";
        let rule = Decision::new("zoom", AppStatus::Monitored, "x").with_expiry("2027-01-31".parse().unwrap());
        assert_eq!(apply(text, &rule, Path::new("o.toml")).unwrap(), text);
        let later = rule.with_expiry("2027-02-28".parse().unwrap());
        assert_eq!(apply(text, &later, Path::new("o.toml")).unwrap(), text.replace("2027-01-31 #", "\"2027-02-28\" #"));
    }
}
