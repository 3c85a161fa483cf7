//! Triage of findings: what analysts decided about each one, who changed it
//! when, and their notes.
//!
//! The pipeline's findings are immutable rows in the lake, identified by a
//! hex id string. Triage is kept beside them, keyed by that id:
//!
//! - `finding_triage`: the current [`Triage`] of a finding (a [`TriageStatus`],
//!   an optional assignee, who changed it last and when, and a `version`).
//!   A finding without a row has never been triaged; show it as
//!   [`TriageStatus::New`].
//! - `finding_triage_history`: one [`TriageChange`] per version, never
//!   changed, so the console can show who did what.
//! - `finding_notes`: free-text [`Note`]s, oldest first.
//!
//! **Optimistic concurrency.** Two analysts (maybe on two replicas) open the
//! same finding and both change it: the second must not silently undo the
//! first. So the console sends back the `version` the person saw, and
//! [`Store::set_triage`] changes the row only if it still has that version,
//! atomically (`UPDATE ... WHERE version = $n`, or for a first triage
//! `INSERT ... ON CONFLICT DO NOTHING`); otherwise nothing changes and it
//! returns [`StoreError::Conflict`] with the version stored now. The
//! console then shows the current state and lets the person decide again.
//!
//! ```no_run
//! # async fn demo(store: floodlight_store::Store) -> Result<(), floodlight_store::StoreError> {
//! use floodlight_store::{StoreError, TriageStatus, TriageUpdate};
//! let seen = store.triage("9f2c4e").await?.map(|t| t.version); // shown in the form
//! let update = TriageUpdate { status: TriageStatus::Resolved, assignee: None };
//! match store.set_triage("9f2c4e", update, "alice", seen).await {
//!     Ok(t) => println!("now version {}", t.version),
//!     Err(StoreError::Conflict { found, .. }) => println!("changed meanwhile (now {found:?}): reload"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! Inputs are checked the same way on both backends: names and notes are
//! trimmed, must not be empty, have length limits ([`MAX_NAME_CHARS`],
//! [`MAX_NOTE_CHARS`], [`MAX_FINDING_ID_CHARS`]) and may not contain NUL
//! characters (PostgreSQL cannot store them); a refusal is
//! [`StoreError::Invalid`] with a message for the person.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{now_micros, BeginWrite, Store, StoreError};

/// Longest finding id accepted by the writing methods, in characters.
pub const MAX_FINDING_ID_CHARS: usize = 256;
/// Longest assignee, author, token name or role, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest note, in characters (after trimming).
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Ids per query in [`Store::triage_many`] (well under every backend's limit
/// on bound parameters).
const IDS_PER_QUERY: usize = 500;

/// Where a finding is in its triage. Serialised (and stored) in snake case:
/// `"new"`, `"acknowledged"`, `"resolved"`, `"false_positive"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageStatus {
    /// Not looked at yet (also what a finding without triage is).
    New,
    /// Someone is on it.
    Acknowledged,
    /// Dealt with (the app was approved, blocked, or removed).
    Resolved,
    /// Not shadow IT after all.
    FalsePositive,
}

impl TriageStatus {
    /// Every status, in workflow order (for a select box or filter links).
    pub const ALL: &'static [TriageStatus] =
        &[TriageStatus::New, TriageStatus::Acknowledged, TriageStatus::Resolved, TriageStatus::FalsePositive];

    /// The stored and serialised name: `"new"`, `"acknowledged"`,
    /// `"resolved"`, `"false_positive"`. [`FromStr`] parses it back.
    pub fn as_str(self) -> &'static str {
        match self {
            TriageStatus::New => "new",
            TriageStatus::Acknowledged => "acknowledged",
            TriageStatus::Resolved => "resolved",
            TriageStatus::FalsePositive => "false_positive",
        }
    }

    /// The name for people: `"New"`, `"Acknowledged"`, `"Resolved"`,
    /// `"False positive"`.
    pub fn label(self) -> &'static str {
        match self {
            TriageStatus::New => "New",
            TriageStatus::Acknowledged => "Acknowledged",
            TriageStatus::Resolved => "Resolved",
            TriageStatus::FalsePositive => "False positive",
        }
    }
}

impl fmt::Display for TriageStatus {
    /// Writes [`as_str`](TriageStatus::as_str).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TriageStatus {
    type Err = StoreError;

    /// Parses [`as_str`](TriageStatus::as_str)'s names (exactly);
    /// anything else is [`StoreError::Invalid`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TriageStatus::ALL.iter().copied().find(|status| status.as_str() == s).ok_or_else(|| {
            StoreError::Invalid(format!(
                "unknown triage status `{}` (expected one of: new, acknowledged, resolved, false_positive)",
                s.chars().take(40).collect::<String>()
            ))
        })
    }
}

/// A change of triage asked for by a person (the form's fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageUpdate {
    /// The new status.
    pub status: TriageStatus,
    /// Who should handle it: trimmed; `None` or empty means unassigned; at
    /// most [`MAX_NAME_CHARS`] characters.
    pub assignee: Option<String>,
}

/// The current triage of a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Triage {
    /// The finding (the pipeline's hex id).
    pub finding_id: String,
    /// Its status.
    pub status: TriageStatus,
    /// Who handles it, if anyone.
    pub assignee: Option<String>,
    /// Who made the last change.
    pub updated_by: String,
    /// When, in microseconds since the Unix epoch.
    pub updated_at: i64,
    /// 1 after the first change, +1 for each one after: send it back to
    /// [`Store::set_triage`] as `expected_version`.
    pub version: i64,
}

/// One change in a finding's triage history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TriageChange {
    /// Who made it.
    pub who: String,
    /// When, in microseconds since the Unix epoch.
    pub at: i64,
    /// The status it set.
    pub status: TriageStatus,
    /// The assignee it set (`None`: unassigned).
    pub assignee: Option<String>,
}

/// A note on a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Unique, increasing in the order notes were added.
    pub id: i64,
    /// The finding.
    pub finding_id: String,
    /// Who wrote it.
    pub author: String,
    /// The note, trimmed.
    pub text: String,
    /// When, in microseconds since the Unix epoch.
    pub created_at: i64,
}

/// `finding_id, status, assignee, updated_by, updated_at, version`.
type TriageRow = (String, String, Option<String>, String, i64, i64);
const TRIAGE_COLUMNS: &str = "finding_id, status, assignee, updated_by, updated_at, version";

fn status_from_db(status: &str) -> Result<TriageStatus, StoreError> {
    TriageStatus::from_str(status)
        .map_err(|_| StoreError::Corrupt(format!("unknown triage status `{status}` (written by a newer release?)")))
}

fn triage_from_row(
    (finding_id, status, assignee, updated_by, updated_at, version): TriageRow,
) -> Result<Triage, StoreError> {
    Ok(Triage { finding_id, status: status_from_db(&status)?, assignee, updated_by, updated_at, version })
}

/// `value` trimmed; refused when empty, longer than `max` characters, or
/// holding a NUL character. `what` names it in the message.
pub(crate) fn required_text<'a>(what: &str, value: &'a str, max: usize) -> Result<&'a str, StoreError> {
    match optional_text(what, value, max)? {
        Some(value) => Ok(value),
        None => Err(StoreError::Invalid(format!("the {what} is empty"))),
    }
}

/// Like [`required_text`], but empty (after trimming) is `None`.
fn optional_text<'a>(what: &str, value: &'a str, max: usize) -> Result<Option<&'a str>, StoreError> {
    let value = value.trim();
    if value.contains('\0') {
        return Err(StoreError::Invalid(format!("the {what} contains a NUL character")));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(StoreError::Invalid(format!("the {what} is too long ({chars} characters, at most {max})")));
    }
    Ok((!value.is_empty()).then_some(value))
}

/// A finding id to write under: non-empty, no surrounding spaces, no NUL,
/// at most [`MAX_FINDING_ID_CHARS`].
fn finding_id_arg(finding_id: &str) -> Result<&str, StoreError> {
    let id = required_text("finding id", finding_id, MAX_FINDING_ID_CHARS)?;
    if id.len() != finding_id.len() {
        return Err(StoreError::Invalid("the finding id has leading or trailing spaces".to_string()));
    }
    Ok(id)
}

impl Store {
    /// The current triage of `finding_id`, or `None` if it was never triaged.
    pub async fn triage(&self, finding_id: &str) -> Result<Option<Triage>, StoreError> {
        let sql = format!("SELECT {TRIAGE_COLUMNS} FROM finding_triage WHERE finding_id = $1");
        let row: Option<TriageRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(finding_id).fetch_optional(pool).await?
        });
        row.map(triage_from_row).transpose()
    }

    /// The triage of many findings at once (a list page), keyed by finding id;
    /// ids never triaged are absent. Duplicates in `finding_ids` are fine.
    pub async fn triage_many(&self, finding_ids: &[String]) -> Result<HashMap<String, Triage>, StoreError> {
        let mut ids: Vec<&str> = finding_ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            // Only placeholders are formatted into the SQL; the ids are bound.
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {TRIAGE_COLUMNS} FROM finding_triage WHERE finding_id IN ({})",
                placeholders.join(", ")
            );
            let rows: Vec<TriageRow> = with_pool!(self, pool => {
                let mut query = sqlx::query_as(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.fetch_all(pool).await?
            });
            for row in rows {
                let triage = triage_from_row(row)?;
                out.insert(triage.finding_id.clone(), triage);
            }
        }
        Ok(out)
    }

    /// Sets the status and assignee of `finding_id` as `who`.
    ///
    /// `expected_version` is the [`Triage::version`] the person saw, `None`
    /// if they saw no triage. If the stored version is different (someone
    /// changed it meanwhile, on any replica), nothing changes and the result
    /// is [`StoreError::Conflict`] with the version found. Otherwise the row
    /// is written with the version incremented (1 for a first triage), the
    /// change is appended to the history, atomically, and the new triage is
    /// returned. Every call is a change, even one that sets the same values.
    ///
    /// Refused with [`StoreError::Invalid`]: an empty `who` or finding id, an
    /// assignee longer than [`MAX_NAME_CHARS`] (an empty one means unassigned).
    pub async fn set_triage(
        &self,
        finding_id: &str,
        update: TriageUpdate,
        who: &str,
        expected_version: Option<i64>,
    ) -> Result<Triage, StoreError> {
        let finding_id = finding_id_arg(finding_id)?;
        let who = required_text("name of who changes the triage", who, MAX_NAME_CHARS)?;
        let assignee = optional_text("assignee", update.assignee.as_deref().unwrap_or_default(), MAX_NAME_CHARS)?;
        let status = update.status.as_str();
        let now = now_micros();
        // Ok(new version), or Err(version found) when the expected one is not there.
        let outcome: Result<i64, Option<i64>> = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let written: Option<i64> = match expected_version {
                None => sqlx::query_scalar(
                    "INSERT INTO finding_triage (finding_id, status, assignee, updated_by, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (finding_id) DO NOTHING RETURNING version",
                )
                .bind(finding_id)
                .bind(status)
                .bind(assignee)
                .bind(who)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?,
                Some(expected) => sqlx::query_scalar(
                    "UPDATE finding_triage SET status = $2, assignee = $3, updated_by = $4, updated_at = $5, \
                     version = version + 1 WHERE finding_id = $1 AND version = $6 RETURNING version",
                )
                .bind(finding_id)
                .bind(status)
                .bind(assignee)
                .bind(who)
                .bind(now)
                .bind(expected)
                .fetch_optional(&mut *tx)
                .await?,
            };
            match written {
                Some(version) => {
                    sqlx::query(
                        "INSERT INTO finding_triage_history \
                         (finding_id, version, changed_by, changed_at, status, assignee) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(finding_id)
                    .bind(version)
                    .bind(who)
                    .bind(now)
                    .bind(status)
                    .bind(assignee)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(version)
                }
                None => {
                    let found: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM finding_triage WHERE finding_id = $1")
                            .bind(finding_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    tx.rollback().await?;
                    Err(found)
                }
            }
        });
        match outcome {
            Ok(version) => Ok(Triage {
                finding_id: finding_id.to_string(),
                status: update.status,
                assignee: assignee.map(str::to_string),
                updated_by: who.to_string(),
                updated_at: now,
                version,
            }),
            Err(found) => {
                Err(StoreError::Conflict { finding_id: finding_id.to_string(), expected: expected_version, found })
            }
        }
    }

    /// Every change of `finding_id`'s triage, oldest first (empty if never
    /// triaged).
    pub async fn triage_history(&self, finding_id: &str) -> Result<Vec<TriageChange>, StoreError> {
        let rows: Vec<(String, i64, String, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT changed_by, changed_at, status, assignee FROM finding_triage_history \
                 WHERE finding_id = $1 ORDER BY version",
            )
            .bind(finding_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(who, at, status, assignee)| Ok(TriageChange { who, at, status: status_from_db(&status)?, assignee }))
            .collect()
    }

    /// Adds a note by `author` to `finding_id` and returns it. The text is
    /// trimmed; empty, or longer than [`MAX_NOTE_CHARS`] characters, is
    /// refused with [`StoreError::Invalid`] (so is an empty author).
    pub async fn add_note(&self, finding_id: &str, author: &str, text: &str) -> Result<Note, StoreError> {
        let finding_id = finding_id_arg(finding_id)?;
        let author = required_text("author", author, MAX_NAME_CHARS)?;
        let text = required_text("note", text, MAX_NOTE_CHARS)?;
        let now = now_micros();
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO finding_notes (finding_id, author, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(finding_id)
            .bind(author)
            .bind(text)
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        Ok(Note {
            id,
            finding_id: finding_id.to_string(),
            author: author.to_string(),
            text: text.to_string(),
            created_at: now,
        })
    }

    /// The notes of `finding_id`, oldest first.
    pub async fn notes(&self, finding_id: &str) -> Result<Vec<Note>, StoreError> {
        let rows: Vec<(i64, String, String, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, finding_id, author, body, created_at FROM finding_notes WHERE finding_id = $1 ORDER BY id",
            )
            .bind(finding_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, finding_id, author, text, created_at)| Note { id, finding_id, author, text, created_at })
            .collect())
    }

    /// Ids of the findings whose triage status is `status`, most recently
    /// changed first, at most `limit`. Findings never triaged are not
    /// included, not even for [`TriageStatus::New`]: only those explicitly
    /// set to it.
    pub async fn findings_with_status(&self, status: TriageStatus, limit: usize) -> Result<Vec<String>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT finding_id FROM finding_triage WHERE status = $1 \
                 ORDER BY updated_at DESC, finding_id LIMIT $2",
            )
            .bind(status.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in TriageStatus::ALL {
            assert_eq!(status.as_str().parse::<TriageStatus>().unwrap(), *status);
            assert_eq!(serde_json::to_string(status).unwrap(), format!("\"{}\"", status.as_str()));
            assert_eq!(serde_json::from_str::<TriageStatus>(&format!("\"{status}\"")).unwrap(), *status);
        }
        assert_eq!(TriageStatus::FalsePositive.label(), "False positive");
        assert!(matches!("False positive".parse::<TriageStatus>(), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn text_checks() {
        assert_eq!(required_text("note", "  hi \n", 10).unwrap(), "hi");
        assert!(matches!(required_text("note", " \t", 10), Err(StoreError::Invalid(m)) if m == "the note is empty"));
        assert!(required_text("note", &"é".repeat(10), 10).is_ok());
        assert!(required_text("note", &"é".repeat(11), 10).is_err());
        assert!(required_text("note", "a\0b", 10).is_err());
        assert_eq!(optional_text("assignee", "  ", 10).unwrap(), None);
        assert!(finding_id_arg(" ab").is_err());
        assert_eq!(finding_id_arg("ab12").unwrap(), "ab12");
    }
}
