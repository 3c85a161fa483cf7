//! Nudges: telling a person, promptly and kindly, what was seen, why it
//! matters and what to use instead — and letting them explain.
//!
//! The loop has four parts, each in this folder or beside it:
//!
//! 1. **Queue.** The [`NudgeSink`] sits beside the other sinks of `run`. For
//!    every new finding a `[[nudges.rule]]` selects, it hands the finding to
//!    the [`Nudger`], which looks the person up in the directory (address,
//!    name, department, hence language) and queues one nudge in the store's
//!    outbox. A finding is nudged about at most once (the store refuses a
//!    second row for it), so replays and new revisions send nothing new.
//! 2. **Send.** [`Nudger::deliver_due`] claims what is due and, for each
//!    nudge, in this order: skips a finding triaged *false positive*, skips a
//!    person already nudged about the same app within `period`, defers
//!    during quiet hours and once the daily cap is reached, renders the
//!    templates in the person's language with a signed, expiring explain
//!    link, and sends it (or, in dry run, writes it to a JSON-lines file).
//!    A server that is down or busy is tried again later (five attempts);
//!    a refused address or password is recorded as failed. Every outcome is
//!    kept in the outbox — which is therefore the log of every message
//!    sent — and logged (without the message's content).
//! 3. **Explain.** The link opens [`explain`]'s page on `serve`: no login,
//!    the signature is the authentication and the first answer closes it.
//! 4. **Decide.** The console's explanations page turns a "need" answer into
//!    an overlay exception, or declines it; either way the person gets a
//!    reply ([`Nudger::send_reply`]).
//!
//! Privacy: a message is built from one finding about its recipient only;
//! no other person's name, address or activity goes into it.

pub mod explain;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use floodlight_enrichments::{AppCatalog, Directory};
use floodlight_nudge::{
    Channel, ChannelError, EmailChannel, EmailSettings, Language, LinkClaims, LinkSigner, Message, NudgeFacts,
    ReplyFacts, ReplyOutcome, SmtpTls, Templates, WebhookChannel,
};
use floodlight_pipeline::config::Config;
use floodlight_pipeline::nudge_config::NudgesConfig;
use floodlight_pipeline::schema::Finding;
use floodlight_pipeline::sinks::{Output, Sink, SinkError};
use floodlight_store::{Answer, AnswerDecision, NewNudge, Nudge, NudgeOutcome, Store, StoreError, TriageStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ServerError;

/// A failed delivery is tried this many times before it is recorded as failed.
const MAX_ATTEMPTS: i64 = 5;
/// How long a claimed nudge stays claimed before another sender may take it.
const LEASE: Duration = Duration::from_secs(300);
/// How many nudges one delivery round takes.
const ROUND: i64 = 100;

/// What the sender needs: settings, templates, the link signer, channels,
/// the directory and the catalog. Shared by `run` (queue and send) and
/// `serve` (send, the explain page and replies).
pub struct Nudger {
    store: Store,
    /// The `[nudges]` table as written (rules, cap, languages, organisation).
    cfg: NudgesConfig,
    public_url: String,
    link_ttl: Duration,
    period: Duration,
    quiet: Option<QuietHours>,
    /// The default language, parsed.
    language: Language,
    templates: Templates,
    signer: LinkSigner,
    email: Option<Channel>,
    slack: Option<Channel>,
    teams: Option<Channel>,
    directory: Directory,
    catalog: AppCatalog,
    dry_run: Option<(PathBuf, Mutex<()>)>,
}

impl std::fmt::Debug for Nudger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nudger")
            .field("enabled", &self.cfg.enabled)
            .field("public_url", &self.public_url)
            .field("dry_run", &self.dry_run.as_ref().map(|(p, _)| p))
            .finish_non_exhaustive()
    }
}

/// Quiet hours: local minutes after midnight and the zone.
#[derive(Debug, Clone, Copy)]
struct QuietHours {
    start: u32,
    end: u32,
    zone: Tz,
}

impl QuietHours {
    /// When the quiet period around `now` ends, if `now` is in one.
    fn ends_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&self.zone);
        let minute = local.hour() * 60 + local.minute();
        let quiet = if self.start <= self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        };
        if !quiet {
            return None;
        }
        let end_time = NaiveTime::from_hms_opt(self.end / 60, self.end % 60, 0)?;
        let mut day = local.date_naive();
        if minute >= self.end && self.start > self.end {
            day = day.succ_opt()?;
        }
        // A gap in local time (daylight saving) moves the end to the next
        // valid instant; an overlap takes the earlier one.
        let end = (0..=120).find_map(|m| {
            self.zone.from_local_datetime(&(day.and_time(end_time) + chrono::Duration::minutes(m))).earliest()
        })?;
        Some(end.with_timezone(&Utc))
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// A secret from an environment variable or a file, trimmed.
fn secret(setting: &str, env: Option<&String>, file: Option<&PathBuf>, base: &Path) -> Result<String, ServerError> {
    let value = match (env, file) {
        (Some(var), _) => std::env::var(var)
            .map_err(|_| ServerError::Nudges(format!("{setting}: environment variable `{var}` is not set")))?,
        (None, Some(path)) => {
            let path = base.join(path);
            std::fs::read_to_string(&path)
                .map_err(|e| ServerError::Nudges(format!("{setting}: cannot read `{}`: {e}", path.display())))?
        }
        (None, None) => return Err(ServerError::Nudges(format!("{setting}: not set"))),
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(ServerError::Nudges(format!("{setting}: the secret is empty")));
    }
    Ok(value)
}

fn language(code: &str) -> Result<Language, ServerError> {
    code.parse::<Language>().map_err(|e| ServerError::Nudges(format!("{e}")))
}

fn duration(setting: &str, v: &str) -> Result<Duration, ServerError> {
    humantime::parse_duration(v.trim()).map_err(|e| ServerError::Nudges(format!("{setting}: {e}")))
}

impl Nudger {
    /// The nudger `cfg` describes, on `store`, or `None` without a
    /// `[nudges]` table. Reads the secrets, builds the channels and loads
    /// the templates now, so a mistake stops the command before it runs.
    pub fn from_config(cfg: &Config, base: &Path, store: Store) -> Result<Option<Arc<Nudger>>, ServerError> {
        let Some(n) = &cfg.nudges else { return Ok(None) };
        let problems = n.problems();
        if !problems.is_empty() {
            return Err(ServerError::Config(problems.into_iter().map(|(s, m)| (format!("nudges.{s}"), m)).collect()));
        }
        Nudger::build(n, cfg, base, store).map(|n| Some(Arc::new(n)))
    }

    fn build(n: &NudgesConfig, cfg: &Config, base: &Path, store: Store) -> Result<Nudger, ServerError> {
        let link_secret = secret("link_secret_env", n.link_secret_env.as_ref(), n.link_secret_file.as_ref(), base)?;
        let signer =
            LinkSigner::new(link_secret.as_bytes()).map_err(|e| ServerError::Nudges(format!("link_secret: {e}")))?;
        let quiet = match &n.quiet_hours {
            None => None,
            Some(q) => {
                let (start, end) = q.minutes().map_err(|e| ServerError::Nudges(format!("quiet_hours: {e}")))?;
                let zone: Tz = q
                    .timezone
                    .parse()
                    .map_err(|_| ServerError::Nudges(format!("quiet_hours.timezone: `{}`", q.timezone)))?;
                Some(QuietHours { start, end, zone })
            }
        };
        let mut templates = match &n.templates {
            Some(dir) => Templates::with_overrides(&base.join(dir))
                .map_err(|e| ServerError::Nudges(format!("templates: {e}")))?,
            None => Templates::builtin(),
        };
        if let Some(q) = quiet {
            templates = templates.with_time_zone(q.zone);
        }
        let email = match &n.email {
            None => None,
            Some(e) => {
                let tls = match e.tls.as_str() {
                    "tls" => SmtpTls::Tls,
                    "none" => SmtpTls::None,
                    _ => SmtpTls::StartTls,
                };
                let password = match (&e.password_env, &e.password_file) {
                    (None, None) => None,
                    (env, file) => Some(secret("email.password_env", env.as_ref(), file.as_ref(), base)?),
                };
                let settings = EmailSettings {
                    host: e.host.clone(),
                    port: e.port.unwrap_or(match tls {
                        SmtpTls::StartTls => 587,
                        SmtpTls::Tls => 465,
                        SmtpTls::None => 25,
                    }),
                    tls,
                    username: e.username.clone(),
                    password,
                    from: e.from.clone(),
                    reply_to: e.reply_to.clone(),
                    ca_file: e.ca_file.as_ref().map(|p| base.join(p)),
                    timeout: duration("email.timeout", &e.timeout)?,
                };
                let channel =
                    EmailChannel::new(settings).map_err(|err| ServerError::Nudges(format!("email: {err}")))?;
                Some(Channel::Email(channel))
            }
        };
        let webhook = |name: &str, w: &floodlight_pipeline::nudge_config::WebhookConfig| {
            let url = secret(&format!("{name}.webhook_env"), w.webhook_env.as_ref(), w.webhook_file.as_ref(), base)?;
            let timeout = duration(&format!("{name}.timeout"), &w.timeout)?;
            let made = if name == "slack" {
                WebhookChannel::slack(url, timeout).map(Channel::Slack)
            } else {
                WebhookChannel::teams(url, timeout).map(Channel::Teams)
            };
            made.map_err(|err| ServerError::Nudges(format!("{name}: {err}")))
        };
        let slack = n.slack.as_ref().map(|w| webhook("slack", w)).transpose()?;
        let teams = n.teams.as_ref().map(|w| webhook("teams", w)).transpose()?;
        let directory = Directory::from_config(&cfg.enrichments, base)
            .map_err(|e| ServerError::Nudges(format!("the directory: {e}")))?;
        let catalog = floodlight_enrichments::effective_catalog(&cfg.enrichments, base)
            .map_err(|e| ServerError::Nudges(format!("the catalog: {e}")))?;
        Ok(Nudger {
            store,
            cfg: n.clone(),
            public_url: n.public_url.trim().trim_end_matches('/').to_string(),
            link_ttl: n.link_ttl().map_err(|e| ServerError::Nudges(format!("link_ttl: {e}")))?,
            period: n.period().map_err(|e| ServerError::Nudges(format!("period: {e}")))?,
            quiet,
            language: language(&n.language)?,
            templates,
            signer,
            email,
            slack,
            teams,
            directory,
            catalog,
            dry_run: n.dry_run.then(|| (base.join(&n.dry_run_path), Mutex::new(()))),
        })
    }

    /// The store the outbox and the answers live in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The language for a person in `department`.
    fn language_for(&self, department: Option<&str>) -> Language {
        language(self.cfg.language_for(department)).unwrap_or(self.language)
    }

    /// The channel the first matching `[[nudges.rule]]` names for `f`.
    pub fn channel_for(&self, f: &Finding) -> Option<&str> {
        if !self.cfg.enabled {
            return None;
        }
        self.cfg.rules.iter().find(|r| r.matches(&f.rule_id, &f.family, &f.severity)).map(|r| r.channel.as_str())
    }

    /// Queue a nudge for `f` if a rule selects it and it names a person.
    /// `None`: not selected, covered by an overlay exception (the person's
    /// explanation was accepted: a discovery rule may still record the use,
    /// at `info`, but nobody is asked again), or the finding already has a
    /// nudge.
    pub async fn enqueue(&self, f: &Finding, now: DateTime<Utc>) -> Result<Option<Nudge>, StoreError> {
        let Some(channel) = self.channel_for(f) else { return Ok(None) };
        if excepted(f) || attributed(f) {
            return Ok(None);
        }
        let Some(user) = f.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) else { return Ok(None) };
        let entry = self.directory.lookup(user);
        let person = entry.map_or_else(|| user.to_lowercase(), |e| e.user.to_lowercase());
        let recipient = entry.and_then(|e| e.email.clone()).or_else(|| user.contains('@').then(|| user.to_lowercase()));
        let department = entry.and_then(|e| e.department.clone());
        let alternative = f.app_alternative.clone().or_else(|| {
            let app = self.catalog.get(f.app_id.as_deref()?)?;
            app.alternative.clone()
        });
        let nudge = NewNudge {
            finding_id: f.finding_id.clone(),
            rule_id: f.rule_id.clone(),
            rule_title: f.rule_title.clone(),
            severity: f.severity.clone(),
            family: f.family.clone(),
            person,
            person_name: entry.and_then(|e| e.display_name.clone()),
            recipient,
            language: self.language_for(department.as_deref()).as_str().to_string(),
            department,
            app_id: f.app_id.clone(),
            app_name: f.app_name.clone(),
            app_category: f.app_category.clone(),
            alternative,
            event_count: f.event_count,
            bytes: f.bytes,
            first_seen: f.first_seen.map(|t| t.micros()),
            last_seen: f.last_seen.map(|t| t.micros()),
            channel: channel.to_string(),
            not_before: micros(now),
            link_expires_at: micros(now) + self.link_ttl.as_micros() as i64,
        };
        let queued = self.store.enqueue_nudge(&nudge).await?;
        if let Some(q) = &queued {
            tracing::info!(target: "floodlight_nudges", nudge = %q.id, finding = %f.finding_id, rule = %f.rule_id,
                channel, "nudge queued");
        }
        Ok(queued)
    }

    /// The explain link of `nudge`.
    pub fn explain_url(&self, nudge: &Nudge) -> String {
        let claims = LinkClaims { nudge_id: nudge.id.clone(), expires_at: from_micros(nudge.facts.link_expires_at) };
        format!("{}/explain/{}", self.public_url, self.signer.sign(&claims))
    }

    /// Check an explain-link token.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaims, floodlight_nudge::LinkError> {
        self.signer.verify(token, now)
    }

    /// The sanctioned alternative's name and address, by catalog id (or as given).
    fn alternative(&self, id: Option<&str>) -> (Option<String>, Option<String>) {
        let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else { return (None, None) };
        // Findings carry the alternative's name; configs and catalogs its id.
        let app = self.catalog.get(id).or_else(|| self.catalog.iter().find(|a| a.name.eq_ignore_ascii_case(id)));
        match app {
            Some(app) => (Some(app.name.clone()), app.domains.first().map(|d| format!("https://{d}/"))),
            None => (Some(id.to_string()), None),
        }
    }

    /// The human-readable name of an alternative id.
    pub fn alternative_name(&self, id: Option<&str>) -> Option<String> {
        self.alternative(id).0
    }

    fn channel(&self, name: &str) -> Option<&Channel> {
        match name {
            "email" => self.email.as_ref(),
            "slack" => self.slack.as_ref(),
            "teams" => self.teams.as_ref(),
            _ => None,
        }
    }

    /// One delivery round: claim what is due at `now` and send it. Returns
    /// how many nudges were sent (or written in dry run).
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut sent = 0;
        loop {
            let due = self.store.claim_due_nudges(micros(now), ROUND, LEASE.as_micros() as i64).await?;
            if due.is_empty() {
                return Ok(sent);
            }
            for nudge in due {
                let outcome = self.attempt(&nudge, now).await?;
                if matches!(outcome, NudgeOutcome::Sent { .. } | NudgeOutcome::DryRun { .. }) {
                    sent += 1;
                }
                log_outcome(&nudge, &outcome);
                self.store.finish_nudge(&nudge.id, &outcome).await?;
            }
            // A claim that lost races to another sender returns fewer than
            // asked for: go on until nothing is due. Nothing finished here
            // is due again at the same `now` (deferrals are to later).
        }
    }

    async fn attempt(&self, nudge: &Nudge, now: DateTime<Utc>) -> Result<NudgeOutcome, StoreError> {
        let f = &nudge.facts;
        if let Some(t) = self.store.triage(&f.finding_id).await? {
            if t.status == TriageStatus::FalsePositive {
                return Ok(NudgeOutcome::Skipped { reason: "the finding is triaged false positive".into() });
            }
        }
        let since = micros(now) - self.period.as_micros() as i64;
        if let Some(at) = self.store.last_nudge_to(&f.person, f.app_id.as_deref(), since, &nudge.id).await? {
            return Ok(NudgeOutcome::Skipped {
                reason: format!(
                    "throttled: {} was nudged about {} at {} (one per {})",
                    f.person,
                    f.app_name.as_deref().or(f.app_id.as_deref()).unwrap_or("this"),
                    from_micros(at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    humantime::format_duration(self.period)
                ),
            });
        }
        if let Some(end) = self.quiet.and_then(|q| q.ends_after(now)) {
            return Ok(NudgeOutcome::Deferred {
                reason: "quiet hours".into(),
                not_before: micros(end),
                attempted: false,
            });
        }
        let day_start = now.date_naive().and_hms_opt(0, 0, 0).map(|d| d.and_utc()).unwrap_or(now);
        if self.store.count_sent_since(micros(day_start)).await? >= i64::from(self.cfg.daily_cap) {
            let tomorrow = day_start + chrono::Duration::days(1);
            return Ok(NudgeOutcome::Deferred {
                reason: format!("the daily cap of {} messages is reached", self.cfg.daily_cap),
                not_before: micros(tomorrow),
                attempted: false,
            });
        }
        if f.channel == "email" && f.recipient.is_none() {
            return Ok(NudgeOutcome::Skipped {
                reason: format!("no e-mail address for {} in the directory", f.person),
            });
        }
        let lang = language(&f.language).unwrap_or(self.language);
        let (alternative_name, alternative_url) = self.alternative(f.alternative.as_deref());
        let explain_url = self.explain_url(nudge);
        let stamp = |us: Option<i64>| us.map(|u| from_micros(u).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let facts = NudgeFacts {
            rule_id: f.rule_id.clone(),
            rule_title: f.rule_title.clone(),
            family: f.family.clone(),
            severity: f.severity.clone(),
            person_name: f.person_name.clone(),
            app_name: f.app_name.clone(),
            app_category: f.app_category.clone(),
            alternative_name,
            alternative_url,
            event_count: f.event_count,
            bytes: f.bytes,
            first_seen: stamp(f.first_seen),
            last_seen: stamp(f.last_seen),
            explain_url: explain_url.clone(),
            link_expires: stamp(Some(f.link_expires_at)).unwrap_or_default(),
            organisation: self.cfg.organisation.clone(),
        };
        let rendered = match self.templates.render_nudge(lang, &facts) {
            Ok(r) => r,
            Err(e) => return Ok(NudgeOutcome::Failed { reason: format!("template: {e}") }),
        };
        let mut message = Message::from_rendered(rendered, lang);
        message.to_email = f.recipient.clone();
        message.to_name = f.person_name.clone();
        message.explain_url = Some(explain_url);
        let subject = message.subject.clone();
        if let Some((path, lock)) = &self.dry_run {
            return Ok(match write_dry_run(path, lock, nudge, &message) {
                Ok(()) => NudgeOutcome::DryRun { subject },
                Err(e) => NudgeOutcome::Deferred {
                    reason: format!("cannot write the dry-run file `{}`: {e}", path.display()),
                    not_before: micros(now + chrono::Duration::minutes(1)),
                    attempted: true,
                },
            });
        }
        let Some(channel) = self.channel(&f.channel) else {
            return Ok(NudgeOutcome::Failed { reason: format!("channel `{}` is not configured", f.channel) });
        };
        Ok(match channel.send(&message).await {
            Ok(()) => NudgeOutcome::Sent { subject },
            Err(e) => failed(&e, nudge.attempts, now),
        })
    }

    /// Tell the person what IT decided about their answer, over the
    /// channel the nudge went out on (or write it to the dry-run file).
    pub async fn send_reply(&self, nudge: &Nudge, answer: &Answer) -> Result<(), String> {
        let f = &nudge.facts;
        let lang = language(&f.language).unwrap_or(self.language);
        let outcome = match answer.decision {
            Some(AnswerDecision::Granted) => {
                ReplyOutcome::Granted { until: answer.exception_expires.clone().unwrap_or_default() }
            }
            _ => ReplyOutcome::Declined,
        };
        let (alternative_name, alternative_url) = self.alternative(f.alternative.as_deref());
        let facts = ReplyFacts {
            person_name: f.person_name.clone(),
            app_name: f.app_name.clone().or_else(|| f.app_id.clone()).unwrap_or_default(),
            outcome,
            reply: answer.reply.clone(),
            alternative_name,
            alternative_url,
            organisation: self.cfg.organisation.clone(),
        };
        let rendered = self.templates.render_reply(lang, &facts).map_err(|e| e.to_string())?;
        let mut message = Message::from_rendered(rendered, lang);
        message.to_email = f.recipient.clone();
        message.to_name = f.person_name.clone();
        let result = if let Some((path, lock)) = &self.dry_run {
            write_dry_run(path, lock, nudge, &message).map_err(|e| e.to_string())
        } else {
            match self.channel(&f.channel) {
                Some(channel) => channel.send(&message).await.map_err(|e| e.to_string()),
                None => Err(format!("channel `{}` is not configured", f.channel)),
            }
        };
        match &result {
            Ok(()) => tracing::info!(target: "floodlight_nudges", nudge = %nudge.id, channel = %f.channel,
                to = f.recipient.as_deref().unwrap_or(&f.person), "reply sent"),
            Err(e) => tracing::warn!(target: "floodlight_nudges", nudge = %nudge.id, channel = %f.channel,
                error = %e, "reply not sent"),
        }
        result
    }

    /// Queue the findings that arrive on `findings` and send what is due
    /// every `interval`, until `stop`; then queue what is still waiting and
    /// send once more. `run` cancels `stop` once its pipeline has finished.
    pub async fn run(
        self: Arc<Self>,
        mut findings: Option<mpsc::UnboundedReceiver<Queued>>,
        interval: Duration,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = async {
                match findings.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                batch = next => match batch {
                    Some(q) => self.queue(q).await,
                    None => findings = None,
                },
                _ = tick.tick() => self.round().await,
                _ = stop.cancelled() => break,
            }
        }
        if let Some(rx) = findings.as_mut() {
            while let Ok(q) = rx.try_recv() {
                self.queue(q).await;
            }
        }
        self.round().await;
    }

    async fn queue(&self, q: Queued) {
        let now = Utc::now();
        for f in &q.findings {
            if let Err(e) = self.enqueue(f, now).await {
                tracing::error!(target: "floodlight_nudges", finding = %f.finding_id, error = %e,
                    "cannot queue a nudge; the batch is marked failed");
                q.ack.fail();
            }
        }
        // Dropping the token tells the source the findings are safe in the outbox.
        drop(q.ack);
    }

    async fn round(&self) {
        if let Err(e) = self.deliver_due(Utc::now()).await {
            tracing::error!(target: "floodlight_nudges", error = %e, "nudge delivery round failed; retrying later");
        }
    }
}

/// Findings on their way from the sink to the outbox, with the batch's
/// acknowledgement (released once they are stored).
#[derive(Debug)]
pub struct Queued {
    /// The findings a rule selected.
    pub findings: Vec<Finding>,
    /// The source batch's token.
    pub ack: floodlight_pipeline::ack::AckToken,
}

/// The pipeline sink that hands selected findings to the [`Nudger`].
pub struct NudgeSink {
    nudger: Arc<Nudger>,
    tx: mpsc::UnboundedSender<Queued>,
}

impl NudgeSink {
    /// A sink feeding `nudger`, and the receiving end for [`Nudger::run`].
    pub fn new(nudger: Arc<Nudger>) -> (NudgeSink, mpsc::UnboundedReceiver<Queued>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (NudgeSink { nudger, tx }, rx)
    }
}

impl Sink for NudgeSink {
    fn name(&self) -> &str {
        "nudges"
    }

    fn kind(&self) -> &'static str {
        "nudges"
    }

    fn writes_events(&self) -> bool {
        false
    }

    fn write(&mut self, output: &Output) -> Result<u64, SinkError> {
        let findings: Vec<Finding> = output
            .findings
            .iter()
            .filter(|f| self.nudger.channel_for(f).is_some() && f.user.is_some())
            .cloned()
            .collect();
        if findings.is_empty() {
            return Ok(0);
        }
        let n = findings.len() as u64;
        self.tx
            .send(Queued { findings, ack: output.ack.clone() })
            .map_err(|_| SinkError::Encode { sink: "nudges".into(), message: "the nudge sender has stopped".into() })?;
        Ok(n)
    }

    fn flush(&mut self, _force: bool) -> Result<(), SinkError> {
        Ok(())
    }
}

/// The outcome for a delivery error after `attempts` earlier attempts.
fn failed(e: &ChannelError, attempts: i64, now: DateTime<Utc>) -> NudgeOutcome {
    if !e.is_transient() || attempts + 1 >= MAX_ATTEMPTS {
        return NudgeOutcome::Failed { reason: e.to_string() };
    }
    // 1, 4, 16, 64 minutes, or what the server asked for.
    // Never sooner than 30 s, even when a server says `Retry-After: 0`.
    let backoff = e
        .retry_after()
        .unwrap_or(Duration::from_secs(60 * 4u64.pow(attempts.clamp(0, 4) as u32)))
        .max(Duration::from_secs(30));
    NudgeOutcome::Deferred {
        reason: e.to_string(),
        not_before: micros(now) + backoff.as_micros() as i64,
        attempted: true,
    }
}

fn log_outcome(nudge: &Nudge, outcome: &NudgeOutcome) {
    let f = &nudge.facts;
    let to = f.recipient.as_deref().unwrap_or(&f.person);
    match outcome {
        NudgeOutcome::Sent { .. } => tracing::info!(target: "floodlight_nudges", nudge = %nudge.id,
            finding = %f.finding_id, channel = %f.channel, to, "nudge sent"),
        NudgeOutcome::DryRun { .. } => tracing::info!(target: "floodlight_nudges", nudge = %nudge.id,
            finding = %f.finding_id, channel = %f.channel, to, "nudge written (dry run)"),
        NudgeOutcome::Skipped { reason } => tracing::info!(target: "floodlight_nudges", nudge = %nudge.id,
            finding = %f.finding_id, %reason, "nudge skipped"),
        NudgeOutcome::Deferred { reason, .. } => tracing::info!(target: "floodlight_nudges", nudge = %nudge.id,
            finding = %f.finding_id, %reason, "nudge deferred"),
        NudgeOutcome::Failed { reason } => tracing::warn!(target: "floodlight_nudges", nudge = %nudge.id,
            finding = %f.finding_id, channel = %f.channel, %reason, "nudge failed"),
    }
}

/// Append one JSON line: what would have been sent.
fn write_dry_run(path: &Path, lock: &Mutex<()>, nudge: &Nudge, m: &Message) -> std::io::Result<()> {
    let line = serde_json::json!({
        "nudge_id": nudge.id,
        "finding_id": nudge.facts.finding_id,
        "rule_id": nudge.facts.rule_id,
        "channel": nudge.facts.channel,
        "to": m.to_email,
        "to_name": m.to_name,
        "language": m.language.as_str(),
        "subject": m.subject,
        "text": m.text,
        "explain_url": m.explain_url,
        "at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(file, "{line}")?;
    file.sync_data()
}

/// The finding's evidence field `key`, when the evidence has it.
fn evidence(f: &Finding, key: &str) -> Option<serde_json::Value> {
    let evidence = f.evidence.as_deref()?;
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(evidence).ok()?.remove(key)
}

/// Whether the finding's evidence says an overlay exception covers it (a
/// non-null `app_exception`, as the discovery rules report it).
fn excepted(f: &Finding) -> bool {
    evidence(f, "app_exception").is_some_and(|x| !x.is_null())
}

/// Whether the finding names its person by attribution (`user_source =
/// 'ip_lease'`: the one seen on the address then), not because a log named
/// them: a colleague may have been at the desk, so nobody is nudged on it.
fn attributed(f: &Finding) -> bool {
    evidence(f, "user_source").is_some_and(|x| x == "ip_lease")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_over_midnight_end_the_next_morning_in_local_time() {
        let q = QuietHours { start: 19 * 60, end: 8 * 60, zone: "Europe/Amsterdam".parse().unwrap() };
        // 20:30 Amsterdam (CET, UTC+1) → 08:00 the next day = 07:00 UTC.
        assert_eq!(q.ends_after(at("2026-12-04T19:30:00Z")), Some(at("2026-12-05T07:00:00Z")));
        // 03:00 Amsterdam → 08:00 the same day.
        assert_eq!(q.ends_after(at("2026-12-05T02:00:00Z")), Some(at("2026-12-05T07:00:00Z")));
        // 12:00 Amsterdam: not quiet.
        assert_eq!(q.ends_after(at("2026-12-05T11:00:00Z")), None);
        // Summer time (CEST, UTC+2).
        assert_eq!(q.ends_after(at("2026-07-01T20:00:00Z")), Some(at("2026-07-02T06:00:00Z")));
    }

    #[test]
    fn quiet_hours_within_a_day() {
        let q = QuietHours { start: 12 * 60, end: 13 * 60, zone: Tz::UTC };
        assert_eq!(q.ends_after(at("2026-12-04T12:15:00Z")), Some(at("2026-12-04T13:00:00Z")));
        assert_eq!(q.ends_after(at("2026-12-04T13:00:00Z")), None);
        assert_eq!(q.ends_after(at("2026-12-04T11:59:00Z")), None);
    }

    #[test]
    fn transient_errors_back_off_and_give_up() {
        let now = at("2026-12-04T10:00:00Z");
        let e = ChannelError::HttpStatus {
            kind: "slack",
            host: "h".into(),
            status: 503,
            body: String::new(),
            retry_after: None,
        };
        match failed(&e, 0, now) {
            NudgeOutcome::Deferred { not_before, attempted, .. } => {
                assert!(attempted);
                assert_eq!(not_before, micros(now) + 60_000_000);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(failed(&e, MAX_ATTEMPTS - 1, now), NudgeOutcome::Failed { .. }));
        let permanent = ChannelError::NoRecipient;
        assert!(matches!(failed(&permanent, 0, now), NudgeOutcome::Failed { .. }));
    }
}
