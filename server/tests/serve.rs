//! The server on a real socket: plain HTTP, HTTPS with a self-signed
//! certificate, graceful shutdown, start-up errors.

use crate::common;

use std::time::Duration;

use common::*;
use floodlight_server::{serve, serve_on, ConnectionLimits, ServerError, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

type Started = (std::net::SocketAddr, CancellationToken, tokio::task::JoinHandle<Result<(), ServerError>>, TestApi);

/// Start `serve_on` on 127.0.0.1:0; returns the address, the stop token and the task.
async fn start(tls: Option<Tls>) -> Started {
    start_with(tls, ConnectionLimits::default()).await
}

async fn start_with(tls: Option<Tls>, limits: ConnectionLimits) -> Started {
    let t = api().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let task = tokio::spawn(serve_on(listener, t.app.clone(), tls, limits, stop.clone()));
    (addr, stop, task, t)
}

/// What the server sends on `stream` until it closes it (`None`: still open after `wait`).
async fn until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(wait, stream.read_to_end(&mut got)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_header_is_cut_off() {
    let limits = ConnectionLimits { header_read_timeout: Duration::from_millis(500) };
    let (addr, stop, task, _t) = start_with(None, limits).await;

    // Half a request header, then silence (a slowloris client).
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    let started = std::time::Instant::now();
    let answer = until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(answer.is_some(), "the connection is still open 5 s after a 500 ms header limit");
    assert!(started.elapsed() >= Duration::from_millis(400), "closed before the limit: {:?}", started.elapsed());
    assert!(!answer.unwrap_or_default().contains("200 OK"), "no request was answered");

    // A client that sends its header in time is served on the same server.
    let mut prompt = TcpStream::connect(addr).await.expect("connect");
    prompt
        .write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(&mut prompt, Duration::from_secs(5)).await.expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_and_graceful_shutdown() {
    let (addr, stop, task, _t) = start(None).await;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("http://{addr}/api/v1/query"))
        .bearer_auth(ANALYST_TOKEN)
        .json(&serde_json::json!({ "sql": "SELECT count(*) AS n FROM findings_latest" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["rows"], serde_json::json!([{"n": 7}]));

    stop.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), task).await.expect("stops").expect("join");
    assert!(result.is_ok(), "{result:?}");
    assert!(client.get(format!("http://{addr}/api/v1/openapi.json")).send().await.is_err(), "still listening");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert_pem = cert.cert.pem();
    std::fs::write(dir.path().join("tls.crt"), &cert_pem).expect("write cert");
    std::fs::write(dir.path().join("tls.key"), cert.key_pair.serialize_pem()).expect("write key");
    let tls = Tls::from_pem_files(&dir.path().join("tls.crt"), &dir.path().join("tls.key")).expect("tls");

    let (addr, stop, task, _t) = start(Some(tls)).await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("root"))
        .resolve("localhost", addr)
        .build()
        .expect("client");
    let r = client
        .get(format!("https://localhost:{}/api/v1/findings/f-01", addr.port()))
        .bearer_auth(ANALYST_TOKEN)
        .send()
        .await
        .expect("https request");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["finding"]["revision"], 2);

    // Plain HTTP to the HTTPS port does not get an answer.
    let plain = reqwest::Client::new().get(format!("http://{addr}/api/v1/openapi.json")).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));

    // A client that does not trust the certificate refuses it.
    let untrusting = reqwest::Client::builder().resolve("localhost", addr).build().expect("client");
    assert!(untrusting.get(format!("https://localhost:{}/api/v1/openapi.json", addr.port())).send().await.is_err());

    stop.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), task).await.expect("stops").expect("join");
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn start_up_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = open_lake(dir.path(), limits()).await;

    let mut cfg = server_config();
    cfg.tokens.clear();
    let e = serve(lake.clone(), &cfg, dir.path(), None, CancellationToken::new()).await.expect_err("no tokens");
    assert!(matches!(e, ServerError::Config(_)) && e.to_string().contains("no tokens"), "{e}");

    let mut cfg = server_config();
    cfg.tls_cert = Some("missing.crt".into());
    cfg.tls_key = Some("missing.key".into());
    let e = serve(lake.clone(), &cfg, dir.path(), None, CancellationToken::new()).await.expect_err("no cert");
    assert!(matches!(e, ServerError::Tls(_)) && e.to_string().contains("missing.crt"), "{e}");

    std::fs::write(dir.path().join("bad.crt"), "not a certificate").expect("write");
    std::fs::write(dir.path().join("bad.key"), "not a key").expect("write");
    assert!(matches!(
        Tls::from_pem_files(&dir.path().join("bad.crt"), &dir.path().join("bad.key")),
        Err(ServerError::Tls(_))
    ));

    // The port is taken.
    let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mut cfg = server_config();
    cfg.listen = taken.local_addr().expect("addr");
    let e = serve(lake, &cfg, dir.path(), None, CancellationToken::new()).await.expect_err("in use");
    assert!(matches!(e, ServerError::Bind { .. }), "{e}");
}
