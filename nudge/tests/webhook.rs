//! Slack and Teams delivery against a webhook server on loopback (axum): the
//! JSON each one receives, and how error answers are classified.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use floodlight_nudge::{Channel, ChannelError, Language, Message, WebhookChannel};
use serde_json::Value;

/// What the fake webhook answers, and what it received.
#[derive(Clone, Default)]
struct Hook {
    received: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
    answer: Arc<Mutex<(u16, Option<&'static str>, Duration)>>,
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: String) -> impl IntoResponse {
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    hook.received.lock().unwrap().push((headers, json));
    let (status, retry_after, delay) = *hook.answer.lock().unwrap();
    tokio::time::sleep(delay).await;
    let mut out = HeaderMap::new();
    if let Some(r) = retry_after {
        out.insert("retry-after", r.parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), out, "invalid_payload\n  from the fake")
}

/// Starts the webhook; the secret path is `/hooks/T0/B0/SECRET123`.
async fn start() -> (Hook, String) {
    let hook = Hook::default();
    *hook.answer.lock().unwrap() = (200, None, Duration::ZERO);
    let app = Router::new().route("/hooks/T0/B0/SECRET123", post(receive)).with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/T0/B0/SECRET123", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (hook, url)
}

const EXPLAIN: &str = "https://floodlight.corp.example.com/explain/abc.def";

fn message(language: Language) -> Message {
    Message {
        to_email: Some("ana.devries@corp.example.com".into()),
        to_name: Some("Ana de Vries".into()),
        language,
        subject: "About files uploaded to WeTransfer".into(),
        text: "Hi Ana,\n\nWe noticed files being uploaded to WeTransfer & <Dropbox>.\n".into(),
        html: "<p>Hi Ana,</p>".into(),
        explain_url: Some(EXPLAIN.into()),
    }
}

#[tokio::test]
async fn slack_gets_text_blocks_a_button_and_the_workflow_variables() {
    let (hook, url) = start().await;
    let channel = Channel::Slack(WebhookChannel::slack(url, Duration::from_secs(5)).unwrap());
    assert_eq!(channel.kind(), "slack");
    channel.send(&message(Language::Nl)).await.unwrap();

    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    assert_eq!(headers["content-type"], "application/json");
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("About files uploaded to WeTransfer\n\nHi Ana,"), "{text}");
    assert!(text.contains("WeTransfer &amp; &lt;Dropbox&gt;."), "mrkdwn escaping: {text}");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 2, "{body:#}");
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    let section = blocks[0]["text"]["text"].as_str().unwrap();
    assert!(section.starts_with("*About files uploaded to WeTransfer*\n\nHi Ana,"), "{section}");
    assert_eq!(blocks[1]["type"], "actions");
    let button = &blocks[1]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(button["text"]["type"], "plain_text");
    assert_eq!(button["text"]["text"], "Uitleggen");
    assert_eq!(button["url"], EXPLAIN);
    assert_eq!(body["recipient_email"], "ana.devries@corp.example.com");
    assert_eq!(body["subject"], "About files uploaded to WeTransfer");
    assert_eq!(body["explain_url"], EXPLAIN);
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_with_an_open_url_action() {
    let (hook, url) = start().await;
    let channel = Channel::Teams(WebhookChannel::teams(url, Duration::from_secs(5)).unwrap());
    assert_eq!(channel.kind(), "teams");
    channel.send(&message(Language::En)).await.unwrap();

    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let body = &received[0].1;
    assert_eq!(body["type"], "message");
    let attachments = body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &attachments[0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], "About files uploaded to WeTransfer");
    assert_eq!(card["body"][0]["weight"], "Bolder");
    assert_eq!(card["body"][1]["type"], "TextBlock");
    assert_eq!(card["body"][1]["wrap"], true);
    assert_eq!(card["body"][1]["text"], "Hi Ana,\n\nWe noticed files being uploaded to WeTransfer & <Dropbox>.");
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(card["actions"][0]["title"], "Explain");
    assert_eq!(card["actions"][0]["url"], EXPLAIN);
    assert_eq!(body["recipient_email"], "ana.devries@corp.example.com");
    assert_eq!(body["subject"], "About files uploaded to WeTransfer");
    assert_eq!(body["explain_url"], EXPLAIN);
}

#[tokio::test]
async fn without_a_link_there_is_no_button() {
    let (hook, url) = start().await;
    let m = Message { explain_url: None, to_email: None, ..message(Language::En) };
    WebhookChannel::teams(url.clone(), Duration::from_secs(5)).unwrap().send(&m).await.unwrap();
    WebhookChannel::slack(url, Duration::from_secs(5)).unwrap().send(&m).await.unwrap();
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received[0].1["attachments"][0]["content"]["actions"], serde_json::json!([]));
    assert_eq!(received[0].1["recipient_email"], "");
    assert_eq!(received[1].1["blocks"].as_array().unwrap().len(), 1);
}

async fn answer(status: u16, retry_after: Option<&'static str>) -> ChannelError {
    let (hook, url) = start().await;
    *hook.answer.lock().unwrap() = (status, retry_after, Duration::ZERO);
    let channel = WebhookChannel::slack(url, Duration::from_secs(5)).unwrap();
    let err = channel.send(&message(Language::En)).await.unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains("SECRET123") && !msg.contains("/hooks/"), "the webhook path leaked: {msg}");
    assert!(msg.contains("127.0.0.1") && msg.contains(&status.to_string()), "{msg}");
    err
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let err = answer(500, None).await;
    assert!(matches!(err, ChannelError::HttpStatus { status: 500, .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("invalid_payload from the fake"), "{err}");
}

#[tokio::test]
async fn a_bad_request_is_permanent() {
    let err = answer(400, None).await;
    assert!(!err.is_transient(), "{err}");
    assert!(!answer(404, None).await.is_transient());
}

#[tokio::test]
async fn too_many_requests_is_transient_and_says_how_long_to_wait() {
    let err = answer(429, Some("7")).await;
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn a_slow_webhook_times_out_and_is_transient() {
    let (hook, url) = start().await;
    *hook.answer.lock().unwrap() = (200, None, Duration::from_secs(5));
    let channel = WebhookChannel::teams(url, Duration::from_millis(300)).unwrap();
    let err = channel.send(&message(Language::En)).await.unwrap_err();
    assert!(matches!(err, ChannelError::HttpTransport { .. }), "{err:?}");
    assert!(err.is_transient(), "{err}");
    assert!(!err.to_string().contains("SECRET123"), "{err}");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let channel =
        WebhookChannel::slack(format!("http://127.0.0.1:{port}/hooks/SECRET123"), Duration::from_secs(5)).unwrap();
    let err = channel.send(&message(Language::En)).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(!err.to_string().contains("SECRET123"), "{err}");
}
