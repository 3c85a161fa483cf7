//! The explain page: where a nudge's link lands (`GET /explain/<token>`).
//!
//! No login: the token's signature is the authentication. It names one
//! nudge and an expiry; a token that was altered, signed with another
//! secret or is past its expiry gets a page saying so (HTTP 403 or 410) and
//! nothing else. The page shows the person what was seen (their own finding
//! only) and asks one question with three answers — "I'll switch to
//! <alternative>", "I need this app because …" (free text and how long), or
//! "This wasn't me". The first answer is stored with the finding and closes
//! the link: the same link then says it was used (HTTP 410).
//!
//! The page is in the nudge's language, works without JavaScript, and sends
//! no referrer (the token is in its address).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::Utc;
use floodlight_nudge::{Language, LinkError};
use floodlight_store::{AnswerChoice, NewAnswer, Nudge, StoreError};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::Nudger;
use crate::console::assets;

/// The words of the page, per language.
struct Words {
    title: &'static str,
    intro: &'static str,
    question: &'static str,
    switch: &'static str,
    switch_generic: &'static str,
    need: &'static str,
    need_reason: &'static str,
    need_days: &'static str,
    not_me: &'static str,
    send: &'static str,
    thanks: &'static str,
    thanks_detail: &'static str,
    used: &'static str,
    expired: &'static str,
    invalid: &'static str,
    reason_required: &'static str,
    days: [(&'static str, i64); 4],
}

const EN: Words = Words {
    title: "Tell us why",
    intro: "We noticed this and would like to understand it:",
    question: "What is the situation?",
    switch: "I'll switch to",
    switch_generic: "I'll stop using it",
    need: "I need this app because…",
    need_reason: "What do you need it for, and what does the sanctioned tool not do?",
    need_days: "For how long?",
    not_me: "This wasn't me",
    send: "Send my answer",
    thanks: "Thank you",
    thanks_detail: "Your answer went to IT. If you asked for an exception, you will hear back.",
    used: "This link was already used: your answer is with IT.",
    expired: "This link has expired. Ask IT if you still want to explain.",
    invalid: "This link is not valid. Use the link from the message exactly as it was sent.",
    reason_required: "Please say why you need it.",
    days: [("a week", 7), ("a month", 30), ("three months", 90), ("a year", 365)],
};

const NL: Words = Words {
    title: "Vertel ons waarom",
    intro: "Dit viel ons op en we willen het graag begrijpen:",
    question: "Hoe zit het?",
    switch: "Ik stap over op",
    switch_generic: "Ik stop ermee",
    need: "Ik heb deze app nodig, want…",
    need_reason: "Waarvoor heb je hem nodig, en wat kan het goedgekeurde alternatief niet?",
    need_days: "Voor hoe lang?",
    not_me: "Dit was ik niet",
    send: "Verstuur mijn antwoord",
    thanks: "Dank je wel",
    thanks_detail: "Je antwoord is bij IT. Als je om een uitzondering vroeg, hoor je nog van ons.",
    used: "Deze link is al gebruikt: je antwoord is bij IT.",
    expired: "Deze link is verlopen. Vraag IT als je het nog wilt uitleggen.",
    invalid: "Deze link is niet geldig. Gebruik de link uit het bericht precies zoals hij verstuurd is.",
    reason_required: "Vertel alsjeblieft waarom je hem nodig hebt.",
    days: [("een week", 7), ("een maand", 30), ("drie maanden", 90), ("een jaar", 365)],
};

fn words(lang: Language) -> &'static Words {
    match lang {
        Language::Nl => &NL,
        Language::En => &EN,
    }
}

fn shell(lang: Language, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="stylesheet" href=(assets::url("console.css"));
            }
            body .bare { main #main .explain { (body) } }
        }
    }
}

fn answer(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup).into_response();
    let h = r.headers_mut();
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    r
}

fn message(lang: Language, status: StatusCode, text: &str) -> Response {
    let w = words(lang);
    answer(status, shell(lang, w.title, html! { h1 { (w.title) } p .done role="status" { (text) } }))
}

/// The nudge a token names, or the page that refuses it.
async fn resolve(nudger: &Nudger, token: &str) -> Result<Nudge, Response> {
    let lang = nudger.language;
    let claims = match nudger.verify(token, Utc::now()) {
        Ok(c) => c,
        Err(LinkError::Expired { .. }) => return Err(message(lang, StatusCode::GONE, words(lang).expired)),
        Err(e) => {
            tracing::info!(target: "floodlight_nudges", error = %e, "explain link refused");
            return Err(message(lang, StatusCode::FORBIDDEN, words(lang).invalid));
        }
    };
    match nudger.store.nudge(&claims.nudge_id).await {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err(message(lang, StatusCode::FORBIDDEN, words(lang).invalid)),
        Err(e) => Err(store_failure(&e)),
    }
}

fn store_failure(e: &StoreError) -> Response {
    tracing::error!(target: "floodlight_nudges", error = %e, "explain page: store error");
    (StatusCode::SERVICE_UNAVAILABLE, "The service is busy; try again in a minute.").into_response()
}

fn lang_of(nudger: &Nudger, nudge: &Nudge) -> Language {
    nudge.facts.language.parse().unwrap_or(nudger.language)
}

/// `GET /explain/{token}`: the question, or why it cannot be asked.
pub async fn form(State(nudger): State<Arc<Nudger>>, Path(token): Path<String>) -> Response {
    let nudge = match resolve(&nudger, &token).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let lang = lang_of(&nudger, &nudge);
    match nudger.store.answer(&nudge.id).await {
        Ok(Some(_)) => return message(lang, StatusCode::GONE, words(lang).used),
        Ok(None) => {}
        Err(e) => return store_failure(&e),
    }
    page(&nudger, &nudge, &token, None, StatusCode::OK)
}

fn page(nudger: &Nudger, nudge: &Nudge, token: &str, problem: Option<&str>, status: StatusCode) -> Response {
    let lang = lang_of(nudger, nudge);
    let w = words(lang);
    let f = &nudge.facts;
    let alternative = nudger.alternative_name(f.alternative.as_deref());
    let app = f.app_name.as_deref().or(f.app_id.as_deref()).unwrap_or("?");
    let body = html! {
        h1 { (w.title) }
        p { (w.intro) }
        p .seen { strong { (f.rule_title) } @if f.app_id.is_some() { " — " (app) } }
        @if let Some(p) = problem { p .problem role="alert" { (p) } }
        form method="post" action=(format!("/explain/{token}")) {
            fieldset {
                legend { (w.question) }
                label .choice { input type="radio" name="choice" value="switch" required;
                    @if let Some(a) = &alternative { (w.switch) " " (a) } @else { (w.switch_generic) } }
                label .choice { input type="radio" name="choice" value="need"; (w.need) }
                label .sub { (w.need_reason)
                    textarea name="reason" rows="4" maxlength="2000" {} }
                label .sub { (w.need_days) " "
                    select name="days" {
                        @for (label, days) in w.days { option value=(days) selected[days == 90] { (label) } }
                    }
                }
                label .choice { input type="radio" name="choice" value="not_me"; (w.not_me) }
            }
            button type="submit" { (w.send) }
        }
    };
    answer(status, shell(lang, w.title, body))
}

/// The form's fields.
#[derive(Debug, Deserialize)]
pub struct ExplainForm {
    choice: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    days: Option<String>,
}

/// `POST /explain/{token}`: store the answer (the first one wins).
pub async fn submit(
    State(nudger): State<Arc<Nudger>>,
    Path(token): Path<String>,
    Form(form): Form<ExplainForm>,
) -> Response {
    let nudge = match resolve(&nudger, &token).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let lang = lang_of(&nudger, &nudge);
    let w = words(lang);
    let choice = match form.choice.as_str() {
        "switch" => AnswerChoice::Switch,
        "need" => AnswerChoice::Need,
        "not_me" => AnswerChoice::NotMe,
        _ => return page(&nudger, &nudge, &token, Some(w.question), StatusCode::UNPROCESSABLE_ENTITY),
    };
    let reason = form.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if choice == AnswerChoice::Need && reason.is_none() {
        return page(&nudger, &nudge, &token, Some(w.reason_required), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let requested_days = match choice {
        AnswerChoice::Need => form.days.as_deref().and_then(|d| d.trim().parse::<i64>().ok()).map(|d| d.clamp(1, 366)),
        _ => None,
    };
    let new = NewAnswer { choice, reason: reason.map(str::to_string), requested_days };
    match nudger.store.answer_nudge(&nudge.id, &new).await {
        Ok(_) => {
            tracing::info!(target: "floodlight_nudges", nudge = %nudge.id, finding = %nudge.facts.finding_id,
                choice = ?choice, "explanation received");
            answer(
                StatusCode::OK,
                shell(
                    lang,
                    w.thanks,
                    html! {
                        h1 { (w.thanks) }
                        p .done role="status" { (w.thanks_detail) }
                        p .seen { strong { (nudge.facts.rule_title) } }
                    },
                ),
            )
        }
        // The first answer wins; a second (another tab, a replay) is told so.
        Err(StoreError::Invalid(_)) if matches!(nudger.store.answer(&nudge.id).await, Ok(Some(_))) => {
            message(lang, StatusCode::GONE, w.used)
        }
        Err(StoreError::Invalid(problem)) => {
            page(&nudger, &nudge, &token, Some(&problem), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => store_failure(&e),
    }
}
