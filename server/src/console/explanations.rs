//! `/explanations`: what people answered to their nudges, and IT's decisions.
//!
//! The top of the page is the evidence IT needs to fix the sanctioned tool:
//! answers grouped by app and by sanctioned alternative ("14 people say they
//! need WeTransfer instead of Teams file sharing"), with their own words.
//! Below, every "I need this" answer still open has two forms (admins only):
//!
//! - **Grant** writes an overlay exception — for the person
//!   (`[[exception]]` with `users`), their directory department
//!   (`[[exception]]` with `departments`) or everyone (the app's `[[app]]`
//!   entry becomes `monitored`) — with the person's words as the reason, an
//!   owner and an expiry, through the same validated, audited, conflict-checked
//!   save as the app decisions. The next run raises no finding for that scope
//!   until the expiry.
//! - **Decline** records the reply.
//!
//! Either way the person gets a reply over the channel the nudge used. The
//! last part of the page lists the messages sent (the outbox is the log of
//! every message).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use floodlight_enrichments::{AppStatus, Date, Decision, ExceptionPlan, ExceptionRule};
use floodlight_pipeline::analyst_config::Role;
use floodlight_store::{Answer, AnswerChoice, AnswerDecision, AnswerVerdict, Nudge, StoreError};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;

use super::decisions::Editable;
use super::layout::{self, page, path_segment, Section};
use super::session::{Viewer, CSRF_FIELD};
use super::ConsoleState;

/// How many answers the page reads.
const LIMIT: i64 = 2000;

/// One group of answers: an app (or an alternative) and the counts.
#[derive(Debug, Default, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AnswerGroup {
    /// The app's catalog id, or the alternative's.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Answers in total.
    pub answers: u64,
    /// "I'll switch".
    pub switch: u64,
    /// "I need this".
    pub need: u64,
    /// "This wasn't me".
    pub not_me: u64,
    /// Distinct people who answered.
    pub people: u64,
    /// The "need" reasons, newest first (at most 20).
    pub reasons: Vec<String>,
}

/// Group `answers` by app and by alternative, busiest first.
pub fn group(answers: &[(Nudge, Answer)], alt_name: impl Fn(&str) -> String) -> (Vec<AnswerGroup>, Vec<AnswerGroup>) {
    let mut by_app: BTreeMap<String, (AnswerGroup, std::collections::BTreeSet<String>)> = BTreeMap::new();
    let mut by_alt: BTreeMap<String, (AnswerGroup, std::collections::BTreeSet<String>)> = BTreeMap::new();
    for (n, a) in answers {
        let f = &n.facts;
        let app_key = f.app_id.clone().unwrap_or_else(|| f.rule_id.clone());
        let app_name = f.app_name.clone().unwrap_or_else(|| app_key.clone());
        let mut targets = vec![(&mut by_app, app_key, app_name)];
        if let Some(alt) = &f.alternative {
            targets.push((&mut by_alt, alt.clone(), alt_name(alt)));
        }
        for (map, key, name) in targets {
            let (g, people) = map.entry(key.clone()).or_insert_with(|| {
                (AnswerGroup { key: key.clone(), name: name.clone(), ..Default::default() }, Default::default())
            });
            g.answers += 1;
            match a.choice {
                AnswerChoice::Switch => g.switch += 1,
                AnswerChoice::Need => g.need += 1,
                AnswerChoice::NotMe => g.not_me += 1,
            }
            people.insert(f.person.clone());
            g.people = people.len() as u64;
            if let (AnswerChoice::Need, Some(r)) = (a.choice, &a.reason) {
                if g.reasons.len() < 20 {
                    g.reasons.push(r.clone());
                }
            }
        }
    }
    let sorted = |m: BTreeMap<String, (AnswerGroup, _)>| {
        let mut v: Vec<AnswerGroup> = m.into_values().map(|(g, _)| g).collect();
        v.sort_by(|a, b| b.need.cmp(&a.need).then(b.answers.cmp(&a.answers)).then(a.key.cmp(&b.key)));
        v
    };
    (sorted(by_app), sorted(by_alt))
}

fn choice_word(c: AnswerChoice) -> &'static str {
    match c {
        AnswerChoice::Switch => "will switch",
        AnswerChoice::Need => "needs it",
        AnswerChoice::NotMe => "wasn't me",
    }
}

/// `GET /explanations`.
pub async fn page_handler(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("replied") => Some("Decision saved; the person was sent a reply.".to_string()),
        Some("reply-failed") => {
            Some("Decision saved, but the reply could not be sent (see the server log).".to_string())
        }
        Some("no-reply") => Some("Decision saved; nudges are not configured, so no reply was sent.".to_string()),
        _ => None,
    };
    render(&state, &viewer, notice, StatusCode::OK).await
}

/// `?done=` after a decision.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn render(state: &ConsoleState, viewer: &Viewer, problem: Option<String>, status: StatusCode) -> Response {
    let answers = match state.store.answers_since(0, LIMIT).await {
        Ok(a) => a,
        Err(e) => return layout::store_error(&e),
    };
    let sent = match state.store.recent_nudges(50).await {
        Ok(n) => n,
        Err(e) => return layout::store_error(&e),
    };
    let nudger = state.nudger.clone();
    let alt_name =
        |id: &str| nudger.as_ref().and_then(|n| n.alternative_name(Some(id))).unwrap_or_else(|| id.to_string());
    let (by_app, by_alt) = group(&answers, alt_name);
    let open: Vec<&(Nudge, Answer)> =
        answers.iter().filter(|(_, a)| a.choice == AnswerChoice::Need && a.decision.is_none()).collect();
    let decided: Vec<&(Nudge, Answer)> = answers.iter().filter(|(_, a)| a.decision.is_some()).take(50).collect();
    let admin = viewer.caller.role == Role::Admin;
    let editable = state.decisions.editable();
    let today = Date::today_utc();
    let body = html! {
        h1 { "Explanations" }
        @if state.nudger.is_none() {
            p .note { "Nudges are not configured: add a " code { "[nudges]" } " table (docs/nudges.md)." }
        }
        @if let Some(p) = &problem { p .problem role=(if status.is_success() { "status" } else { "alert" }) { (p) } }
        section {
            h2 { "By app" }
            (groups_table(&by_app, "App"))
        }
        section {
            h2 { "By sanctioned alternative" }
            p .hint { "What people say the sanctioned tool does not do for them." }
            (groups_table(&by_alt, "Alternative"))
        }
        section #open {
            h2 { "Waiting for a decision (" (open.len()) ")" }
            @if open.is_empty() { p { "No open requests." } }
            @if let Editable::No(why) = &editable { p .note { (why) } }
            @for (n, a) in &open {
                (open_request(n, a, viewer, admin && matches!(editable, Editable::Yes(_)), today))
            }
        }
        section {
            h2 { "Decided" }
            table {
                thead { tr { th { "Person" } th { "App" } th { "Decision" } th { "Scope" } th { "Until" } th { "By" } } }
                tbody {
                    @for (n, a) in &decided {
                        tr {
                            td { (layout::person_link(&n.facts.person)) }
                            td { (n.facts.app_name.as_deref().unwrap_or("")) }
                            td { (a.decision.map_or("", |d| d.as_str())) }
                            td { (a.scope.as_deref().unwrap_or("")) }
                            td { (a.exception_expires.as_deref().unwrap_or("")) }
                            td { (a.decided_by.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Messages sent" }
            table {
                thead { tr { th { "Queued" } th { "To" } th { "Channel" } th { "State" } th { "Subject / reason" } th { "Finding" } } }
                tbody {
                    @for n in &sent {
                        tr {
                            td { (layout::micros_time(n.created_at)) }
                            td { (n.facts.recipient.as_deref().unwrap_or(&n.facts.person)) }
                            td { (n.facts.channel) }
                            td { (n.state.as_str()) }
                            td { (n.subject.as_deref().or(n.reason.as_deref()).unwrap_or("")) }
                            td { a href=(format!("/findings/{}", path_segment(&n.facts.finding_id))) { (n.facts.rule_id) } }
                        }
                    }
                }
            }
        }
    };
    (status, page(viewer, Section::Explanations, "Explanations", body)).into_response()
}

fn groups_table(groups: &[AnswerGroup], what: &str) -> Markup {
    html! {
        @if groups.is_empty() { p { "No answers yet." } } @else {
            table {
                thead { tr { th { (what) } th { "Answers" } th { "Need it" } th { "Will switch" } th { "Wasn't me" } th { "People" } th { "In their words" } } }
                tbody {
                    @for g in groups {
                        tr {
                            td { (g.name) }
                            td { (g.answers) }
                            td { (g.need) }
                            td { (g.switch) }
                            td { (g.not_me) }
                            td { (g.people) }
                            td { @for r in g.reasons.iter().take(3) { q { (r) } br; } }
                        }
                    }
                }
            }
        }
    }
}

fn open_request(n: &Nudge, a: &Answer, viewer: &Viewer, can_decide: bool, today: Date) -> Markup {
    let f = &n.facts;
    let days = a.requested_days.unwrap_or(90).clamp(1, 366);
    let until = Date::from_days_since_epoch(today.days_since_epoch() + days);
    let id = path_segment(&n.id);
    html! {
        article .request id=(format!("request-{}", n.id)) {
            h3 { (f.person_name.as_deref().unwrap_or(&f.person)) " needs " (f.app_name.as_deref().unwrap_or("?")) }
            p { q .reason { (a.reason.as_deref().unwrap_or("")) } }
            p .meta { (f.rule_id) " · " (choice_word(a.choice)) " · asked for " (days) " days"
                @if let Some(d) = &f.department { " · " (d) } }
            @if can_decide {
                form method="post" action=(format!("/explanations/{id}/grant")) .grant {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    fieldset {
                        legend { "Grant an exception" }
                        label { input type="radio" name="scope" value="user" checked; " this person" }
                        @if let Some(d) = &f.department {
                            label { input type="radio" name="scope" value="department"; " the department " (d) }
                        }
                        label { input type="radio" name="scope" value="everyone"; " everyone" }
                    }
                    label { "Until " input type="date" name="expires" value=(until.to_string()) required; }
                    label { "Owner " input type="text" name="owner" value=(viewer.name()) maxlength="200"; }
                    label { "Reply to the person (optional) " textarea name="reply" rows="2" maxlength="2000" {} }
                    button type="submit" { "Grant" }
                }
                form method="post" action=(format!("/explanations/{id}/decline")) .decline {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    label { "Reply (required) " textarea name="reply" rows="2" maxlength="2000" required {} }
                    button type="submit" { "Decline" }
                }
            } @else {
                p .hint { "An admin can grant or decline this." }
            }
        }
    }
}

/// The grant form.
#[derive(Debug, Deserialize)]
pub struct GrantForm {
    scope: String,
    expires: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    reply: Option<String>,
}

/// The decline form.
#[derive(Debug, Deserialize)]
pub struct DeclineForm {
    #[serde(default)]
    reply: Option<String>,
}

async fn load(state: &ConsoleState, id: &str) -> Result<(Nudge, Answer), String> {
    let nudge = state.store.nudge(id).await.map_err(|e| e.to_string())?.ok_or("no such nudge")?;
    let answer = state.store.answer(id).await.map_err(|e| e.to_string())?.ok_or("this nudge has no answer")?;
    if answer.decision.is_some() {
        return Err("this answer was already decided".into());
    }
    Ok((nudge, answer))
}

/// `POST /explanations/{id}/grant`: write the exception, record the
/// decision, reply to the person.
pub async fn grant(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<GrantForm>,
) -> Response {
    if viewer.caller.role != Role::Admin {
        return render(&state, &viewer, Some("Only an admin can grant exceptions.".into()), StatusCode::FORBIDDEN)
            .await;
    }
    let refuse = |p: String| async { render(&state, &viewer, Some(p), StatusCode::UNPROCESSABLE_ENTITY).await };
    let (nudge, answer) = match load(&state, &id).await {
        Ok(x) => x,
        Err(p) => return refuse(p).await,
    };
    let f = &nudge.facts;
    let Some(app_id) = f.app_id.clone() else { return refuse("the finding names no app".into()).await };
    let expires: Date = match form.expires.trim().parse() {
        Ok(d) => d,
        Err(_) => return refuse(format!("`{}` is not a date (YYYY-MM-DD)", form.expires)).await,
    };
    let reason = format!(
        "{}: \"{}\"",
        f.person_name.as_deref().unwrap_or(&f.person),
        answer.reason.as_deref().unwrap_or("").trim()
    );
    let owner = form.owner.as_deref().map(str::trim).filter(|o| !o.is_empty()).map(str::to_string);
    let current = state.decisions.current(&state.lake).await;
    let today = Date::today_utc();
    let path = match state.decisions.editable() {
        Editable::Yes(p) => p,
        Editable::No(why) => return refuse(why).await,
    };
    let audit = floodlight_enrichments::decision::audit_log_for(&path);
    let (scope, saved) = match form.scope.as_str() {
        "user" | "department" => {
            let department = f.department.clone();
            let (users, departments, scope) = if form.scope == "user" {
                (vec![f.person.clone()], vec![], format!("user:{}", f.person))
            } else {
                let Some(d) = department else {
                    return refuse("the person has no department in the directory".into()).await;
                };
                (vec![], vec![d.clone()], format!("department:{d}"))
            };
            let exception = ExceptionRule {
                app: app_id.clone(),
                users,
                departments,
                reason,
                owner,
                expires,
                source: Some(format!("nudge {}", nudge.id)),
            };
            let saved = ExceptionPlan::from_text(&path, &current.text, state.decisions.base(), exception, today)
                .and_then(|plan| plan.save(&audit, viewer.name()).map(|_| ()));
            (scope, saved)
        }
        "everyone" => {
            let mut decision = Decision::new(app_id.clone(), AppStatus::Monitored, reason).with_expiry(expires);
            decision.owner = owner;
            let saved = state
                .decisions
                .plan(&current.text, decision, today)
                .and_then(|plan| state.decisions.save(plan, viewer.name()).map(|_| ()));
            ("everyone".to_string(), saved)
        }
        other => return refuse(format!("unknown scope `{other}`")).await,
    };
    if let Err(e) = saved {
        return refuse(e.to_string()).await;
    }
    state.decisions.current(&state.lake).await;
    tracing::info!(target: "floodlight_server", nudge = %nudge.id, app = %app_id, %scope, who = %viewer.name(),
        until = %expires, "console: exception granted");
    let verdict = AnswerVerdict {
        decision: AnswerDecision::Granted,
        scope: Some(scope),
        reply: form.reply.clone(),
        exception_expires: Some(expires.to_string()),
    };
    finish(&state, &viewer, &nudge, &verdict).await
}

/// `POST /explanations/{id}/decline`: record the decision and reply.
pub async fn decline(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<DeclineForm>,
) -> Response {
    if viewer.caller.role != Role::Admin {
        return render(&state, &viewer, Some("Only an admin can decline requests.".into()), StatusCode::FORBIDDEN)
            .await;
    }
    let (nudge, _) = match load(&state, &id).await {
        Ok(x) => x,
        Err(p) => return render(&state, &viewer, Some(p), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let verdict =
        AnswerVerdict { decision: AnswerDecision::Declined, scope: None, reply: form.reply, exception_expires: None };
    finish(&state, &viewer, &nudge, &verdict).await
}

async fn finish(state: &ConsoleState, viewer: &Viewer, nudge: &Nudge, verdict: &AnswerVerdict) -> Response {
    let answer = match state.store.decide_answer(&nudge.id, verdict, viewer.name()).await {
        Ok(a) => a,
        Err(StoreError::Invalid(p)) => return render(state, viewer, Some(p), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => return layout::store_error(&e),
    };
    let note = match &state.nudger {
        Some(n) => match n.send_reply(nudge, &answer).await {
            Ok(()) => "replied",
            Err(_) => "reply-failed",
        },
        None => "no-reply",
    };
    Redirect::to(&format!("/explanations?done={note}")).into_response()
}
