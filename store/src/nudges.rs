//! Nudges and answers: the store side of "comply or explain".
//!
//! When a finding is about a person, floodlight can tell them (a *nudge*) and
//! ask why they needed the app. Two tables hold that conversation:
//!
//! - `nudges`: one row per message about one finding to one person. It is an
//!   **outbox**: the pipeline inserts a row in state `pending` in the same
//!   step that writes the finding ([`Store::enqueue_nudge`]; at most one per
//!   finding, so replays and revisions never nudge twice), and a sender
//!   claims due rows ([`Store::claim_due_nudges`]), sends, and records the
//!   outcome ([`Store::finish_nudge`]). Because the row is written before the
//!   source batch is acknowledged, a crash between the finding and the
//!   message loses nothing: the next sender finds the row. A claim is a
//!   lease: a sender that died mid-send leaves a `sending` row that another
//!   sender takes over once the lease has run out (at-least-once delivery).
//!   Sent rows stay: they are the log of every message (who, channel,
//!   address, subject, when) that the console shows.
//! - `nudge_answers`: the person's answer, from the signed link
//!   ([`Store::answer_nudge`]: the first answer wins, a second one is
//!   refused, so the link is single use), and IT's decision on it
//!   ([`Store::decide_answer`]: granted as an exception, or declined with a
//!   reply; decided once).
//!
//! The throttling questions the sender asks are answered here too:
//! [`Store::last_nudge_to`] (one nudge per person and app per period) and
//! [`Store::count_sent_since`] (the daily cap).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::triage::required_text;
use crate::{now_micros, Store, StoreError};

/// Longest free-text answer or reply, in characters.
pub const MAX_ANSWER_CHARS: usize = 4_000;

/// Where a nudge is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NudgeState {
    /// Waiting to be sent (possibly not before `not_before`).
    Pending,
    /// Claimed by a sender.
    Sending,
    /// Delivered to the channel.
    Sent,
    /// Rendered and written to the dry-run file instead of sent.
    DryRun,
    /// Not sent, on purpose (`reason` says why: throttled, false positive, no address).
    Skipped,
    /// Could not be sent (`reason` says why).
    Failed,
}

impl NudgeState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            NudgeState::Pending => "pending",
            NudgeState::Sending => "sending",
            NudgeState::Sent => "sent",
            NudgeState::DryRun => "dry_run",
            NudgeState::Skipped => "skipped",
            NudgeState::Failed => "failed",
        }
    }
}

impl FromStr for NudgeState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => NudgeState::Pending,
            "sending" => NudgeState::Sending,
            "sent" => NudgeState::Sent,
            "dry_run" => NudgeState::DryRun,
            "skipped" => NudgeState::Skipped,
            "failed" => NudgeState::Failed,
            other => return Err(StoreError::Corrupt(format!("unknown nudge state `{other}`"))),
        })
    }
}

impl fmt::Display for NudgeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A nudge to queue: the finding's facts the message needs, whom it goes
/// to, and how. Only the person's own data: nothing about anyone else.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewNudge {
    /// The finding it is about (one nudge per finding).
    pub finding_id: String,
    /// Rule id (`SS-04`).
    pub rule_id: String,
    /// Rule title.
    pub rule_title: String,
    /// Finding severity.
    pub severity: String,
    /// Rule family (`shadow_saas`, `email_forwarding`, `public_network`).
    pub family: String,
    /// The person, canonical (directory user name, lower case).
    pub person: String,
    /// Their display name.
    pub person_name: Option<String>,
    /// Their address (e-mail; webhooks pass it on to the workflow).
    pub recipient: Option<String>,
    /// Their department (for exceptions scoped to it).
    pub department: Option<String>,
    /// App id (throttling is per person and app).
    pub app_id: Option<String>,
    /// App name.
    pub app_name: Option<String>,
    /// App category.
    pub app_category: Option<String>,
    /// Name of the sanctioned alternative.
    pub alternative: Option<String>,
    /// Matching events.
    pub event_count: Option<i64>,
    /// Bytes involved.
    pub bytes: Option<i64>,
    /// First matching event (µs).
    pub first_seen: Option<i64>,
    /// Last matching event (µs).
    pub last_seen: Option<i64>,
    /// `email`, `slack` or `teams`.
    pub channel: String,
    /// Language code (`en`, `nl`).
    pub language: String,
    /// Not to be sent before (µs; quiet hours).
    pub not_before: i64,
    /// When the explain link stops working (µs).
    pub link_expires_at: i64,
}

/// A stored nudge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nudge {
    /// Random id (32 hex digits), carried by the signed link.
    pub id: String,
    /// Everything it was queued with.
    #[serde(flatten)]
    pub facts: NewNudge,
    /// Where it is.
    pub state: NudgeState,
    /// Why skipped, failed or deferred.
    pub reason: Option<String>,
    /// Send attempts so far.
    pub attempts: i64,
    /// The subject sent.
    pub subject: Option<String>,
    /// Queued at (µs).
    pub created_at: i64,
    /// Sent (or written in dry run) at (µs).
    pub sent_at: Option<i64>,
}

/// How a send attempt ended, for [`Store::finish_nudge`].
#[derive(Debug, Clone, PartialEq)]
pub enum NudgeOutcome {
    /// Delivered with this subject.
    Sent {
        /// Subject line.
        subject: String,
    },
    /// Written to the dry-run file with this subject.
    DryRun {
        /// Subject line.
        subject: String,
    },
    /// Not sent, on purpose.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Not sent, for good.
    Failed {
        /// Why.
        reason: String,
    },
    /// Back to pending, not before `not_before` (quiet hours, the daily cap, a transient error).
    Deferred {
        /// Why.
        reason: String,
        /// µs.
        not_before: i64,
        /// Whether this was a failed attempt (counts towards the attempt limit).
        attempted: bool,
    },
}

/// What the person answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerChoice {
    /// "I'll switch to the alternative."
    Switch,
    /// "I need this app because …"
    Need,
    /// "This wasn't me."
    NotMe,
}

impl AnswerChoice {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerChoice::Switch => "switch",
            AnswerChoice::Need => "need",
            AnswerChoice::NotMe => "not_me",
        }
    }
}

impl FromStr for AnswerChoice {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "switch" => AnswerChoice::Switch,
            "need" => AnswerChoice::Need,
            "not_me" => AnswerChoice::NotMe,
            other => return Err(StoreError::Invalid(format!("unknown answer `{other}`"))),
        })
    }
}

/// IT's decision on an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerDecision {
    /// Turned into an overlay exception.
    Granted,
    /// Declined, with a reply sent to the person.
    Declined,
}

impl AnswerDecision {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerDecision::Granted => "granted",
            AnswerDecision::Declined => "declined",
        }
    }
}

/// A person's answer, as given on the explain page.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnswer {
    /// What they chose.
    pub choice: AnswerChoice,
    /// Their words (required for `need`).
    pub reason: Option<String>,
    /// How long they need the app, in days (`need` only).
    pub requested_days: Option<i64>,
}

/// A stored answer and IT's decision on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The nudge it answers.
    pub nudge_id: String,
    /// What they chose.
    pub choice: AnswerChoice,
    /// Their words.
    pub reason: Option<String>,
    /// Requested duration in days.
    pub requested_days: Option<i64>,
    /// When (µs).
    pub answered_at: i64,
    /// IT's decision, once made.
    pub decision: Option<AnswerDecision>,
    /// Scope of a granted exception (`person`, `department`, `everyone`).
    pub scope: Option<String>,
    /// IT's reply to the person.
    pub reply: Option<String>,
    /// Last day of a granted exception (`YYYY-MM-DD`).
    pub exception_expires: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When (µs).
    pub decided_at: Option<i64>,
}

/// IT's decision, for [`Store::decide_answer`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerVerdict {
    /// Granted or declined.
    pub decision: AnswerDecision,
    /// For a grant: `person`, `department` or `everyone`.
    pub scope: Option<String>,
    /// Words for the person (required to decline).
    pub reply: Option<String>,
    /// For a grant: the exception's last day.
    pub exception_expires: Option<String>,
}

const NUDGE_COLUMNS: &str = "id, finding_id, rule_id, rule_title, severity, family, person, person_name, recipient, \
     department, app_id, app_name, app_category, alternative, event_count, bytes, first_seen, last_seen, channel, \
     language, state, reason, not_before, attempts, subject, created_at, sent_at, link_expires_at";

/// A `nudges` row as stored.
#[derive(sqlx::FromRow)]
struct RawNudge {
    id: String,
    finding_id: String,
    rule_id: String,
    rule_title: String,
    severity: String,
    family: String,
    person: String,
    person_name: Option<String>,
    recipient: Option<String>,
    department: Option<String>,
    app_id: Option<String>,
    app_name: Option<String>,
    app_category: Option<String>,
    alternative: Option<String>,
    event_count: Option<i64>,
    bytes: Option<i64>,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    channel: String,
    language: String,
    state: String,
    reason: Option<String>,
    not_before: i64,
    attempts: i64,
    subject: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
    link_expires_at: i64,
}

fn nudge_from_raw(r: RawNudge) -> Result<Nudge, StoreError> {
    Ok(Nudge {
        id: r.id,
        facts: NewNudge {
            finding_id: r.finding_id,
            rule_id: r.rule_id,
            rule_title: r.rule_title,
            severity: r.severity,
            family: r.family,
            person: r.person,
            person_name: r.person_name,
            recipient: r.recipient,
            department: r.department,
            app_id: r.app_id,
            app_name: r.app_name,
            app_category: r.app_category,
            alternative: r.alternative,
            event_count: r.event_count,
            bytes: r.bytes,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            channel: r.channel,
            language: r.language,
            not_before: r.not_before,
            link_expires_at: r.link_expires_at,
        },
        state: r.state.parse()?,
        reason: r.reason,
        attempts: r.attempts,
        subject: r.subject,
        created_at: r.created_at,
        sent_at: r.sent_at,
    })
}

const ANSWER_COLUMNS: &str = "nudge_id, choice, reason, requested_days, answered_at, decision, scope, reply, \
     exception_expires, decided_by, decided_at";

#[derive(sqlx::FromRow)]
struct RawAnswer {
    nudge_id: String,
    choice: String,
    reason: Option<String>,
    requested_days: Option<i64>,
    answered_at: i64,
    decision: Option<String>,
    scope: Option<String>,
    reply: Option<String>,
    exception_expires: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<i64>,
}

fn answer_from_raw(r: RawAnswer) -> Result<Answer, StoreError> {
    let decision = match r.decision.as_deref() {
        None => None,
        Some("granted") => Some(AnswerDecision::Granted),
        Some("declined") => Some(AnswerDecision::Declined),
        Some(other) => return Err(StoreError::Corrupt(format!("unknown answer decision `{other}`"))),
    };
    Ok(Answer {
        nudge_id: r.nudge_id,
        choice: r.choice.parse().map_err(|_| StoreError::Corrupt(format!("unknown answer `{}`", r.choice)))?,
        reason: r.reason,
        requested_days: r.requested_days,
        answered_at: r.answered_at,
        decision,
        scope: r.scope,
        reply: r.reply,
        exception_expires: r.exception_expires,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
    })
}

/// Free text: trimmed, no NUL, at most `max` characters; empty is `None`.
fn free_text(what: &str, value: Option<&str>, max: usize) -> Result<Option<String>, StoreError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    Ok(Some(required_text(what, value, max)?.to_string()))
}

impl Store {
    /// Queue a nudge for a finding. Returns the stored nudge, or `None` when
    /// the finding already has one (a replay, or a new revision of the same
    /// finding): a finding is nudged about at most once.
    pub async fn enqueue_nudge(&self, nudge: &NewNudge) -> Result<Option<Nudge>, StoreError> {
        let finding_id = required_text("finding id", &nudge.finding_id, crate::MAX_FINDING_ID_CHARS)?;
        let person = required_text("person", &nudge.person, crate::MAX_NAME_CHARS)?;
        let id = crate::sessions::random_hex()?[..32].to_string();
        let now = now_micros();
        let sql = format!(
            "INSERT INTO nudges ({NUDGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, $17, $18, $19, $20, 'pending', NULL, $21, 0, NULL, $22, NULL, $23) \
             ON CONFLICT (finding_id) DO NOTHING"
        );
        let n = nudge;
        let inserted = with_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(&id)
                .bind(finding_id)
                .bind(&n.rule_id)
                .bind(&n.rule_title)
                .bind(&n.severity)
                .bind(&n.family)
                .bind(person)
                .bind(&n.person_name)
                .bind(&n.recipient)
                .bind(&n.department)
                .bind(&n.app_id)
                .bind(&n.app_name)
                .bind(&n.app_category)
                .bind(&n.alternative)
                .bind(n.event_count)
                .bind(n.bytes)
                .bind(n.first_seen)
                .bind(n.last_seen)
                .bind(&n.channel)
                .bind(&n.language)
                .bind(n.not_before)
                .bind(now)
                .bind(n.link_expires_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if inserted == 0 {
            return Ok(None);
        }
        self.nudge(&id).await
    }

    /// The nudge with this id.
    pub async fn nudge(&self, id: &str) -> Result<Option<Nudge>, StoreError> {
        let sql = format!("SELECT {NUDGE_COLUMNS} FROM nudges WHERE id = $1");
        let row: Option<RawNudge> = with_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        row.map(nudge_from_raw).transpose()
    }

    /// The nudge about a finding, if there is one.
    pub async fn nudge_for_finding(&self, finding_id: &str) -> Result<Option<Nudge>, StoreError> {
        let sql = format!("SELECT {NUDGE_COLUMNS} FROM nudges WHERE finding_id = $1");
        let row: Option<RawNudge> =
            with_pool!(self, pool => sqlx::query_as(&sql).bind(finding_id).fetch_optional(pool).await?);
        row.map(nudge_from_raw).transpose()
    }

    /// The latest nudges, newest first (the console's message log).
    pub async fn recent_nudges(&self, limit: i64) -> Result<Vec<Nudge>, StoreError> {
        let sql = format!("SELECT {NUDGE_COLUMNS} FROM nudges ORDER BY created_at DESC, id LIMIT $1");
        let rows: Vec<RawNudge> = with_pool!(self, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await?);
        rows.into_iter().map(nudge_from_raw).collect()
    }

    /// Claim up to `limit` nudges that are due at `now` (µs): pending ones
    /// whose `not_before` has come, and `sending` ones whose claim is older
    /// than `lease_micros` (their sender died). Oldest first. Each row is
    /// claimed with a conditional update, so two senders never claim the
    /// same nudge.
    pub async fn claim_due_nudges(&self, now: i64, limit: i64, lease_micros: i64) -> Result<Vec<Nudge>, StoreError> {
        let stale = now.saturating_sub(lease_micros);
        let candidates: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id FROM nudges WHERE (state = 'pending' AND not_before <= $1) \
                 OR (state = 'sending' AND claimed_at < $2) ORDER BY not_before, created_at, id LIMIT $3",
            )
            .bind(now)
            .bind(stale)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut claimed = Vec::new();
        for (id,) in candidates {
            let got = with_pool!(self, pool => {
                sqlx::query(
                    "UPDATE nudges SET state = 'sending', claimed_at = $1 WHERE id = $2 \
                     AND ((state = 'pending' AND not_before <= $1) OR (state = 'sending' AND claimed_at < $3))",
                )
                .bind(now)
                .bind(&id)
                .bind(stale)
                .execute(pool)
                .await?
                .rows_affected()
            });
            if got == 1 {
                if let Some(n) = self.nudge(&id).await? {
                    claimed.push(n);
                }
            }
        }
        Ok(claimed)
    }

    /// Record how the attempt on a claimed nudge ended.
    pub async fn finish_nudge(&self, id: &str, outcome: &NudgeOutcome) -> Result<(), StoreError> {
        let now = now_micros();
        let (state, reason, subject, sent_at, not_before, attempted): (_, Option<&str>, Option<&str>, _, _, bool) =
            match outcome {
                NudgeOutcome::Sent { subject } => ("sent", None, Some(subject), Some(now), None, true),
                NudgeOutcome::DryRun { subject } => ("dry_run", None, Some(subject), Some(now), None, false),
                NudgeOutcome::Skipped { reason } => ("skipped", Some(reason), None, None, None, false),
                NudgeOutcome::Failed { reason } => ("failed", Some(reason), None, None, None, true),
                NudgeOutcome::Deferred { reason, not_before, attempted } => {
                    ("pending", Some(reason), None, None, Some(*not_before), *attempted)
                }
            };
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE nudges SET state = $1, reason = $2, subject = coalesce($3, subject), sent_at = $4, \
                 not_before = coalesce($5, not_before), attempts = attempts + $6, claimed_at = NULL WHERE id = $7",
            )
            .bind(state)
            .bind(reason)
            .bind(subject)
            .bind(sent_at)
            .bind(not_before)
            .bind(i64::from(attempted))
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// When `person` was last nudged (sent or dry run) about `app_id` at or
    /// after `since` (µs), other than by nudge `except`: the throttle.
    pub async fn last_nudge_to(
        &self,
        person: &str,
        app_id: Option<&str>,
        since: i64,
        except: &str,
    ) -> Result<Option<i64>, StoreError> {
        let at: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT max(sent_at) FROM nudges WHERE person = $1 AND coalesce(app_id, '') = coalesce($2, '') \
                 AND state IN ('sent', 'dry_run') AND sent_at >= $3 AND id <> $4",
            )
            .bind(person)
            .bind(app_id)
            .bind(since)
            .bind(except)
            .fetch_one(pool)
            .await?
        });
        Ok(at)
    }

    /// How many nudges were sent (or written in dry run) at or after `since` (µs): the daily cap.
    pub async fn count_sent_since(&self, since: i64) -> Result<i64, StoreError> {
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT count(*) FROM nudges WHERE state IN ('sent', 'dry_run') AND sent_at >= $1")
                .bind(since)
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    /// Store the person's answer to nudge `nudge_id`. The first answer wins:
    /// a second one is refused with [`StoreError::Invalid`] ("already
    /// used"), which makes the link single use. A `need` answer must say why.
    pub async fn answer_nudge(&self, nudge_id: &str, answer: &NewAnswer) -> Result<Answer, StoreError> {
        let reason = free_text("answer", answer.reason.as_deref(), MAX_ANSWER_CHARS)?;
        if answer.choice == AnswerChoice::Need && reason.is_none() {
            return Err(StoreError::Invalid("say why you need the app".to_string()));
        }
        let days = match (answer.choice, answer.requested_days) {
            (AnswerChoice::Need, Some(d)) if !(1..=366).contains(&d) => {
                return Err(StoreError::Invalid("ask for between 1 and 366 days".to_string()))
            }
            (AnswerChoice::Need, d) => d,
            _ => None,
        };
        let reason = if answer.choice == AnswerChoice::Switch { None } else { reason };
        let now = now_micros();
        let inserted = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO nudge_answers (nudge_id, choice, reason, requested_days, answered_at) \
                 SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM nudges WHERE id = $1) \
                 ON CONFLICT (nudge_id) DO NOTHING",
            )
            .bind(nudge_id)
            .bind(answer.choice.as_str())
            .bind(&reason)
            .bind(days)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 0 {
            return Err(match self.answer(nudge_id).await? {
                Some(_) => StoreError::Invalid("this link was already used: the answer is recorded".to_string()),
                None => StoreError::Invalid("no such nudge".to_string()),
            });
        }
        self.answer(nudge_id).await?.ok_or_else(|| StoreError::Corrupt("the answer just stored is gone".to_string()))
    }

    /// The answer to nudge `nudge_id`, if there is one.
    pub async fn answer(&self, nudge_id: &str) -> Result<Option<Answer>, StoreError> {
        let sql = format!("SELECT {ANSWER_COLUMNS} FROM nudge_answers WHERE nudge_id = $1");
        let row: Option<RawAnswer> =
            with_pool!(self, pool => sqlx::query_as(&sql).bind(nudge_id).fetch_optional(pool).await?);
        row.map(answer_from_raw).transpose()
    }

    /// Answers given at or after `since` (µs), newest first, with their nudges.
    pub async fn answers_since(&self, since: i64, limit: i64) -> Result<Vec<(Nudge, Answer)>, StoreError> {
        let sql = format!(
            "SELECT {ANSWER_COLUMNS} FROM nudge_answers WHERE answered_at >= $1 ORDER BY answered_at DESC, nudge_id \
             LIMIT $2"
        );
        let rows: Vec<RawAnswer> =
            with_pool!(self, pool => sqlx::query_as(&sql).bind(since).bind(limit).fetch_all(pool).await?);
        // Their nudges in one query, not one per answer.
        let nudges_sql = format!(
            "SELECT {NUDGE_COLUMNS} FROM nudges WHERE id IN (SELECT nudge_id FROM nudge_answers \
             WHERE answered_at >= $1 ORDER BY answered_at DESC, nudge_id LIMIT $2)"
        );
        let nudges: Vec<RawNudge> =
            with_pool!(self, pool => sqlx::query_as(&nudges_sql).bind(since).bind(limit).fetch_all(pool).await?);
        let mut by_id = std::collections::HashMap::with_capacity(nudges.len());
        for raw in nudges {
            let nudge = nudge_from_raw(raw)?;
            by_id.insert(nudge.id.clone(), nudge);
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let answer = answer_from_raw(row)?;
            if let Some(nudge) = by_id.remove(&answer.nudge_id) {
                out.push((nudge, answer));
            }
        }
        Ok(out)
    }

    /// Record IT's decision on the answer to `nudge_id`, once: a second
    /// decision is refused ([`StoreError::Invalid`]). Declining needs a reply.
    pub async fn decide_answer(
        &self,
        nudge_id: &str,
        verdict: &AnswerVerdict,
        who: &str,
    ) -> Result<Answer, StoreError> {
        let who = required_text("name of who decides", who, crate::MAX_NAME_CHARS)?;
        let reply = free_text("reply", verdict.reply.as_deref(), MAX_ANSWER_CHARS)?;
        if verdict.decision == AnswerDecision::Declined && reply.is_none() {
            return Err(StoreError::Invalid("write a reply that says why the request is declined".to_string()));
        }
        let changed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE nudge_answers SET decision = $1, scope = $2, reply = $3, exception_expires = $4, \
                 decided_by = $5, decided_at = $6 WHERE nudge_id = $7 AND decision IS NULL",
            )
            .bind(verdict.decision.as_str())
            .bind(&verdict.scope)
            .bind(&reply)
            .bind(&verdict.exception_expires)
            .bind(who)
            .bind(now_micros())
            .bind(nudge_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        let current = self.answer(nudge_id).await?;
        match (changed, current) {
            (1, Some(a)) => Ok(a),
            (_, Some(_)) => Err(StoreError::Invalid("this answer was already decided".to_string())),
            (_, None) => Err(StoreError::Invalid("no answer to decide on".to_string())),
        }
    }
}
