//! Every scenario runs twice, with the same body: on a SQLite file
//! (`sqlite::...`) and on a real PostgreSQL server (`postgres::...`) that the
//! harness in `common/` starts. No mocks.

use crate::common;

use floodlight_store::{Store, StoreError};

/// Generates `sqlite::<scenario>` and `postgres::<scenario>` tests that run
/// `scenarios::<scenario>` on a fresh database of each backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::common::TestDb::sqlite();
                    crate::backends::scenarios::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::common::TestDb::postgres(stringify!($name)).await;
                    crate::backends::scenarios::$name(&db).await;
                }
            )*
        }
    };
}

on_both_backends!(
    sessions_lifecycle,
    sessions_expire_and_purge,
    sessions_store_only_the_hash,
    triage_versions_and_conflicts,
    triage_many_and_status_filter,
    notes_in_order_and_checked,
    open_twice_is_idempotent,
    concurrent_opens,
    concurrent_set_triage_one_wins,
    bad_url_hides_the_password,
    nudges_outbox_claims_and_throttle_queries,
    nudge_answers_single_use_and_decided_once,
    concurrent_claims_never_share_a_nudge,
);

/// URLs that cannot work fail clearly, without showing the password; the
/// in-memory SQLite store works.
#[tokio::test]
async fn urls_are_checked() {
    let password = "hunter2-Secret";
    for (url, says) in [
        (format!("mysql://root:{password}@db/floodlight"), "unsupported scheme"),
        (password.to_string(), "no scheme"),
        (format!("postgres://app:{password}@[::1/floodlight"), "invalid store URL"),
        (format!("postgres://app:{password}@127.0.0.1:99999/floodlight"), "invalid store URL"),
        ("sqlite://".to_string(), "no file name"),
    ] {
        let err = Store::open(&url).await.expect_err(&url);
        assert!(matches!(err, StoreError::Url(_)), "{url}: {err:?}");
        let shown = format!("{err} / {err:?}");
        assert!(shown.contains(says), "{url}: {shown}");
        assert!(!shown.contains(password), "{url}: the password shows in {shown}");
    }

    let store = Store::open("sqlite::memory:").await.expect("in-memory store");
    assert_eq!(store.backend(), "sqlite");
    assert_eq!(format!("{store:?}"), r#"Store { backend: "sqlite", url: "sqlite::memory:" }"#);
    let update = floodlight_store::TriageUpdate { status: floodlight_store::TriageStatus::Resolved, assignee: None };
    let triage = store.set_triage("ab", update.clone(), "alice", None).await.expect("set_triage");
    assert_eq!(triage.version, 1);
    assert!(matches!(store.set_triage("ab", update, "bob", None).await, Err(StoreError::Conflict { .. })));
    store.add_note("ab", "alice", "in memory").await.expect("add_note");
    let (secret, _) =
        store.create_session("alice", "admin", std::time::Duration::from_secs(60)).await.expect("session");
    assert!(store.session(secret.expose()).await.expect("lookup").is_some());
    // Another in-memory store is another database.
    let other = Store::open("sqlite::memory:").await.expect("in-memory store");
    assert_eq!(other.triage("ab").await.expect("triage"), None);
    store.close().await;
    assert!(matches!(store.triage("ab").await, Err(StoreError::Query(_))));
}

/// PostgreSQL over TLS (rustls with ring): encrypted with `sslmode=require`,
/// verified with `verify-full` against the test server's certificate, and a
/// certificate that the web PKI does not know is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tls() {
    let db = common::TestDb::postgres("tls").await;
    let common::TestDb::Postgres { server, .. } = &db else { unreachable!("a PostgreSQL database") };
    let base = db.url();
    let verified = format!("{base}?sslmode=verify-full&sslrootcert={}", server.ca_file.display());
    for url in [format!("{base}?sslmode=require"), verified] {
        let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let update = floodlight_store::TriageUpdate { status: floodlight_store::TriageStatus::New, assignee: None };
        let seen = store.triage("tls").await.unwrap().map(|t| t.version);
        store.set_triage("tls", update, "alice", seen).await.unwrap();
        // The store's connections (still in its pool) are encrypted.
        let encrypted = db
            .raw_strings(
                "SELECT CAST(count(*) AS TEXT) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.datname = current_database() AND a.application_name = 'floodlight-console' AND s.ssl",
            )
            .await;
        assert_ne!(encrypted, ["0"], "{url}");
        store.close().await;
    }
    let err = Store::open(&format!("{base}?sslmode=verify-full")).await.unwrap_err();
    assert!(matches!(err, StoreError::Connect { backend: "postgresql", .. }), "{err:?}");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
}

mod scenarios {
    use std::collections::HashSet;
    use std::sync::Arc;
    use std::time::Duration;

    use floodlight_store::{
        now_micros, AnswerChoice, AnswerDecision, AnswerVerdict, NewAnswer, NewNudge, NudgeOutcome, NudgeState, Store,
        StoreError, Triage, TriageStatus, TriageUpdate,
    };
    use sha2::{Digest, Sha256};

    use crate::common::TestDb;

    const HOUR: Duration = Duration::from_secs(3600);

    fn update(status: TriageStatus, assignee: Option<&str>) -> TriageUpdate {
        TriageUpdate { status, assignee: assignee.map(str::to_string) }
    }

    fn is_hex64(s: &str) -> bool {
        s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
    }

    fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>, says: &str) {
        match result {
            Err(StoreError::Invalid(message)) => assert!(message.contains(says), "{message:?} should say {says:?}"),
            other => panic!("expected Invalid ({says}), got {other:?}"),
        }
    }

    pub async fn sessions_lifecycle(db: &TestDb) {
        let store = db.open().await;
        assert_eq!(store.backend(), db.backend());
        let before = now_micros();
        let (secret, session) = store.create_session(" alice-laptop ", "analyst", HOUR).await.unwrap();
        assert!(is_hex64(secret.expose()), "{}", secret.expose());
        assert!(is_hex64(&session.csrf_token));
        assert_eq!(format!("{secret:?}"), "SessionSecret(..)");
        assert!(!format!("{session:?}").contains(&session.csrf_token));
        assert_eq!((session.token_name.as_str(), session.role.as_str()), ("alice-laptop", "analyst"));
        assert!(session.created_at >= before && session.created_at <= now_micros());
        assert_eq!(session.expires_at, session.created_at + 3_600_000_000);

        assert_eq!(store.session(secret.expose()).await.unwrap(), Some(session.clone()));

        let (secret2, session2) = store.create_session("bob", "admin", HOUR).await.unwrap();
        assert_ne!(secret, secret2);
        assert_ne!(session.csrf_token, session2.csrf_token);

        // Anything but the exact secret is unknown.
        for wrong in [
            "0".repeat(64),
            String::new(),
            secret.expose()[..63].to_string(),
            secret.expose().to_uppercase(),
            format!("{} ", secret.expose()),
            "x".repeat(10_000),
        ] {
            assert_eq!(store.session(&wrong).await.unwrap(), None, "{wrong:?}");
        }

        // Logging out; twice, and of an unknown session, is fine.
        store.delete_session(secret.expose()).await.unwrap();
        assert_eq!(store.session(secret.expose()).await.unwrap(), None);
        store.delete_session(secret.expose()).await.unwrap();
        store.delete_session("no such session").await.unwrap();
        assert_eq!(store.session(secret2.expose()).await.unwrap(), Some(session2));

        assert_invalid(store.create_session("  ", "analyst", HOUR).await, "token name is empty");
        assert_invalid(store.create_session("carol", "", HOUR).await, "role is empty");
        assert_invalid(store.create_session(&"c".repeat(201), "analyst", HOUR).await, "too long");
        assert_invalid(store.create_session("carol", "analyst", Duration::MAX).await, "too long");
    }

    pub async fn sessions_expire_and_purge(db: &TestDb) {
        let store = db.open().await;
        // Expired at once; the lookup deletes it.
        let (expired, _) = store.create_session("zero", "analyst", Duration::ZERO).await.unwrap();
        assert_eq!(store.session(expired.expose()).await.unwrap(), None);

        // Live, then expired.
        let (short, _) = store.create_session("short", "analyst", Duration::from_secs(1)).await.unwrap();
        assert!(store.session(short.expose()).await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(store.session(short.expose()).await.unwrap(), None);

        for i in 0..3 {
            store.create_session(&format!("old-{i}"), "analyst", Duration::ZERO).await.unwrap();
        }
        let (live, live_session) = store.create_session("live", "admin", HOUR).await.unwrap();
        // Three: the two expired sessions above were deleted by their lookups.
        assert_eq!(store.purge_expired_sessions().await.unwrap(), 3);
        assert_eq!(store.purge_expired_sessions().await.unwrap(), 0);
        assert_eq!(store.session(live.expose()).await.unwrap(), Some(live_session));
        assert_eq!(db.raw_strings("SELECT token_name FROM console_sessions").await, ["live"]);
    }

    pub async fn sessions_store_only_the_hash(db: &TestDb) {
        let store = db.open().await;
        let (secret, session) = store.create_session("carol", "admin", HOUR).await.unwrap();
        let hash = hex::encode(Sha256::digest(secret.expose().as_bytes()));
        // Every column of the row, as text.
        let rows = db
            .raw_strings(
                "SELECT secret_sha256 || '|' || token_name || '|' || role || '|' || csrf_token || '|' || \
                 created_at || '|' || expires_at FROM console_sessions",
            )
            .await;
        assert_eq!(rows.len(), 1);
        assert!(!rows[0].contains(secret.expose()), "the secret is stored: {}", rows[0]);
        assert_eq!(
            rows[0],
            format!("{hash}|carol|admin|{}|{}|{}", session.csrf_token, session.created_at, session.expires_at)
        );
        if db.backend() == "sqlite" {
            // Not anywhere in the database's files either (the WAL included).
            let bytes = db.sqlite_file_bytes();
            let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(contains(&hash), "the scan should see the stored hash");
            assert!(!contains(secret.expose()), "the secret is in the SQLite files");
        }
    }

    pub async fn triage_versions_and_conflicts(db: &TestDb) {
        let store = db.open().await;
        let id = "a1b2c3d4e5f60718";
        assert_eq!(store.triage(id).await.unwrap(), None);
        assert!(store.triage_history(id).await.unwrap().is_empty());

        let before = now_micros();
        let t1 = store.set_triage(id, update(TriageStatus::Acknowledged, Some("  bob ")), "alice", None).await.unwrap();
        assert_eq!(
            t1,
            Triage {
                finding_id: id.into(),
                status: TriageStatus::Acknowledged,
                assignee: Some("bob".into()),
                updated_by: "alice".into(),
                updated_at: t1.updated_at,
                version: 1,
            }
        );
        assert!(t1.updated_at >= before);
        assert_eq!(store.triage(id).await.unwrap().as_ref(), Some(&t1));

        // Someone else also saw no triage: refused, nothing changes.
        let err = store.set_triage(id, update(TriageStatus::Resolved, None), "mallory", None).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { finding_id, expected: None, found: Some(1) } if finding_id == id),
            "{err:?}"
        );
        assert_eq!(store.triage(id).await.unwrap().as_ref(), Some(&t1));

        // From the version seen; an empty assignee is unassigned.
        let t2 = store.set_triage(id, update(TriageStatus::Resolved, Some("  ")), "bob", Some(1)).await.unwrap();
        assert_eq!((t2.version, t2.status, t2.assignee.as_deref()), (2, TriageStatus::Resolved, None));
        assert_eq!(store.triage(id).await.unwrap().as_ref(), Some(&t2));

        // A stale version, and one from the future: refused, nothing changes.
        for stale in [1, 7] {
            let err = store
                .set_triage(id, update(TriageStatus::FalsePositive, Some("eve")), "eve", Some(stale))
                .await
                .unwrap_err();
            assert!(
                matches!(err, StoreError::Conflict { expected: Some(e), found: Some(2), .. } if e == stale),
                "{err:?}"
            );
            assert!(err.to_string().contains("changed by someone else"), "{err}");
            assert_eq!(store.triage(id).await.unwrap().as_ref(), Some(&t2));
        }

        // A version for a finding that has no triage.
        let err = store.set_triage("ffff", update(TriageStatus::Resolved, None), "eve", Some(1)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { expected: Some(1), found: None, .. }), "{err:?}");
        assert_eq!(store.triage("ffff").await.unwrap(), None);
        assert!(store.triage_history("ffff").await.unwrap().is_empty());

        let t3 = store
            .set_triage(id, update(TriageStatus::FalsePositive, Some("Zoë O'Brien; DROP TABLE x")), "carol", Some(2))
            .await
            .unwrap();
        assert_eq!(t3.version, 3);
        assert_eq!(store.triage(id).await.unwrap().as_ref(), Some(&t3));

        // Refused input changes nothing either.
        assert_invalid(
            store.set_triage(id, update(TriageStatus::New, Some(&"x".repeat(201))), "carol", Some(3)).await,
            "assignee is too long",
        );
        assert_invalid(store.set_triage(id, update(TriageStatus::New, Some("a\0b")), "carol", Some(3)).await, "NUL");
        assert_invalid(store.set_triage(id, update(TriageStatus::New, None), " ", Some(3)).await, "empty");
        assert_invalid(store.set_triage("", update(TriageStatus::New, None), "carol", None).await, "finding id");
        assert_invalid(store.set_triage(" ab", update(TriageStatus::New, None), "carol", None).await, "spaces");
        let long = "y".repeat(200);
        let t4 = store.set_triage(id, update(TriageStatus::New, Some(&long)), "carol", Some(3)).await.unwrap();
        assert_eq!((t4.version, t4.assignee.as_deref()), (4, Some(long.as_str())));

        // The history: every change, oldest first.
        let history = store.triage_history(id).await.unwrap();
        let seen: Vec<_> = history.iter().map(|c| (c.who.as_str(), c.status, c.assignee.as_deref())).collect();
        assert_eq!(
            seen,
            [
                ("alice", TriageStatus::Acknowledged, Some("bob")),
                ("bob", TriageStatus::Resolved, None),
                ("carol", TriageStatus::FalsePositive, Some("Zoë O'Brien; DROP TABLE x")),
                ("carol", TriageStatus::New, Some(long.as_str())),
            ]
        );
        let at: Vec<i64> = history.iter().map(|c| c.at).collect();
        assert_eq!(at, [t1.updated_at, t2.updated_at, t3.updated_at, t4.updated_at]);
        assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    }

    pub async fn triage_many_and_status_filter(db: &TestDb) {
        let store = db.open().await;
        let set = |id: &'static str, status: TriageStatus, expected: Option<i64>| {
            let store = store.clone();
            async move {
                // Distinct timestamps, so "most recently changed first" is well defined.
                tokio::time::sleep(Duration::from_millis(2)).await;
                store.set_triage(id, update(status, None), "alice", expected).await.unwrap()
            }
        };
        let a = set("aa", TriageStatus::Acknowledged, None).await;
        let b = set("bb", TriageStatus::Resolved, None).await;
        let c = set("cc", TriageStatus::Acknowledged, None).await;
        let d = set("dd", TriageStatus::New, None).await;

        let asked: Vec<String> = ["aa", "bb", "zz", "aa", ""].map(String::from).to_vec();
        let many = store.triage_many(&asked).await.unwrap();
        assert_eq!(many.len(), 2, "{many:?}");
        assert_eq!(many.get("aa"), Some(&a));
        assert_eq!(many.get("bb"), Some(&b));
        assert!(store.triage_many(&[]).await.unwrap().is_empty());

        // More ids than one query takes.
        let mut lots: Vec<String> = (0..1200).map(|i| format!("{i:016x}")).collect();
        lots.extend(["cc", "dd"].map(String::from));
        let many = store.triage_many(&lots).await.unwrap();
        assert_eq!(many.keys().cloned().collect::<HashSet<_>>(), HashSet::from(["cc".into(), "dd".into()]));
        assert_eq!(many["cc"], c);
        assert_eq!(many["dd"], d);

        let with = |status, limit| {
            let store = store.clone();
            async move { store.findings_with_status(status, limit).await.unwrap() }
        };
        assert_eq!(with(TriageStatus::Acknowledged, 10).await, ["cc", "aa"]);
        assert_eq!(with(TriageStatus::Acknowledged, 1).await, ["cc"]);
        assert!(with(TriageStatus::Acknowledged, 0).await.is_empty());
        assert_eq!(with(TriageStatus::Resolved, usize::MAX).await, ["bb"]);
        assert_eq!(with(TriageStatus::New, 10).await, ["dd"]);
        assert!(with(TriageStatus::FalsePositive, 10).await.is_empty());

        set("aa", TriageStatus::Resolved, Some(1)).await;
        assert_eq!(with(TriageStatus::Resolved, 10).await, ["aa", "bb"]);
        assert_eq!(with(TriageStatus::Acknowledged, 10).await, ["cc"]);
    }

    pub async fn notes_in_order_and_checked(db: &TestDb) {
        let store = db.open().await;
        let id = "0123abcd";
        assert!(store.notes(id).await.unwrap().is_empty());
        let first = store.add_note(id, "alice", "  first  \n").await.unwrap();
        assert_eq!((first.text.as_str(), first.author.as_str(), first.finding_id.as_str()), ("first", "alice", id));
        let second = store.add_note(id, " bob ", "second\nline; DROP TABLE finding_notes; --").await.unwrap();
        let elsewhere = store.add_note("other", "carol", "elsewhere").await.unwrap();
        assert!(first.id < second.id && second.id < elsewhere.id);
        assert!(first.created_at <= second.created_at);

        assert_eq!(store.notes(id).await.unwrap(), [first.clone(), second.clone()]);
        assert_eq!(store.notes("other").await.unwrap(), [elsewhere]);
        assert!(store.notes("nothing").await.unwrap().is_empty());

        assert_invalid(store.add_note(id, "alice", "   \n\t").await, "note is empty");
        assert_invalid(store.add_note(id, "alice", &"é".repeat(10_001)).await, "too long");
        assert_invalid(store.add_note(id, "", "text").await, "author is empty");
        assert_invalid(store.add_note(id, "alice", "nul\0inside").await, "NUL");
        assert_invalid(store.add_note("", "alice", "text").await, "finding id");
        // The limit counts characters, not bytes.
        let longest = store.add_note(id, "alice", &format!(" {} ", "é".repeat(10_000))).await.unwrap();
        assert_eq!(longest.text.chars().count(), 10_000);

        assert_eq!(store.notes(id).await.unwrap(), [first, second, longest]);
    }

    pub async fn open_twice_is_idempotent(db: &TestDb) {
        let first = db.open().await;
        let t = first.set_triage("abc", update(TriageStatus::Acknowledged, None), "alice", None).await.unwrap();
        let (secret, session) = first.create_session("alice", "analyst", HOUR).await.unwrap();
        first.close().await;

        let second = db.open().await;
        let third = db.open().await;
        assert_eq!(second.triage("abc").await.unwrap(), Some(t));
        assert_eq!(third.session(secret.expose()).await.unwrap(), Some(session));
        assert_eq!(
            db.raw_strings("SELECT CAST(version AS TEXT) FROM floodlight_store_schema ORDER BY version").await,
            ["1", "2"]
        );
        assert!(format!("{second:?}").contains(db.backend()));
    }

    pub async fn concurrent_opens(db: &TestDb) {
        // Replicas starting at once on a fresh database: one migrates, the
        // others wait for it and find nothing to do.
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let url = db.url();
                tokio::spawn(async move { Store::open(&url).await })
            })
            .collect();
        for open in opens {
            let store = open.await.unwrap().unwrap_or_else(|e| panic!("concurrent open: {e}"));
            assert_eq!(store.triage("x").await.unwrap(), None);
        }
        assert_eq!(
            db.raw_strings("SELECT CAST(version AS TEXT) FROM floodlight_store_schema ORDER BY version").await,
            ["1", "2"]
        );
    }

    pub async fn concurrent_set_triage_one_wins(db: &TestDb) {
        // Two replicas (two pools), four writers per round, all with the
        // version they saw: exactly one wins each round.
        let replicas = [db.open().await, db.open().await];
        let id = "c0ffee";
        let mut expected = None;
        let mut winners = Vec::new();
        for round in 0..8 {
            let barrier = Arc::new(tokio::sync::Barrier::new(4));
            let writers: Vec<_> = (0..4)
                .map(|i| {
                    let store = replicas[i % 2].clone();
                    let barrier = barrier.clone();
                    tokio::spawn(async move {
                        let change = update(TriageStatus::Acknowledged, Some(&format!("r{round}w{i}")));
                        barrier.wait().await;
                        store.set_triage(id, change, &format!("writer{i}"), expected).await
                    })
                })
                .collect();
            let mut results = Vec::new();
            for writer in writers {
                results.push(writer.await.unwrap());
            }
            let won: Vec<&Triage> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(won.len(), 1, "round {round}: {results:?}");
            let winner = won[0].clone();
            assert_eq!(winner.version, round + 1);
            for result in &results {
                match result {
                    Ok(_) => {}
                    Err(StoreError::Conflict { expected: e, found, .. }) => {
                        assert_eq!((*e, *found), (expected, Some(winner.version)), "round {round}")
                    }
                    Err(e) => panic!("round {round}: {e}"),
                }
            }
            expected = Some(winner.version);
            winners.push(winner);
        }
        assert_eq!(replicas[1].triage(id).await.unwrap().as_ref(), winners.last());
        let history = replicas[0].triage_history(id).await.unwrap();
        let history: Vec<_> = history.into_iter().map(|c| (c.who, c.assignee)).collect();
        let expected: Vec<_> = winners.into_iter().map(|t| (t.updated_by, t.assignee)).collect();
        assert_eq!(history, expected);
    }

    pub async fn bad_url_hides_the_password(db: &TestDb) {
        let password = "hunter2-Secret";
        let err = Store::open(&db.unreachable_url(password)).await.unwrap_err();
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains(password), "the password shows in {shown}");
        match db.backend() {
            "sqlite" => {
                assert!(matches!(err, StoreError::Url(_)), "{err:?}");
                assert!(shown.contains("no-such-dir") && shown.contains("does not exist"), "{shown}");
            }
            _ => {
                assert!(matches!(err, StoreError::Connect { backend: "postgresql", .. }), "{err:?}");
                assert!(shown.contains("no_such_database"), "{shown}");
            }
        }
        // A working URL with a password: the store's Debug hides it.
        let store = Store::open(&db.url_with_password(password)).await.unwrap();
        let debug = format!("{store:?}");
        assert!(!debug.contains(password), "{debug}");
        if db.backend() == "postgresql" {
            assert!(debug.contains(":***@127.0.0.1"), "{debug}");
        }
    }

    fn new_nudge(finding_id: &str, person: &str, app: &str) -> NewNudge {
        NewNudge {
            finding_id: finding_id.into(),
            rule_id: "SS-04".into(),
            rule_title: "Upload to a PDF converter".into(),
            severity: "medium".into(),
            family: "shadow_saas".into(),
            person: person.into(),
            person_name: Some("Ana Pereira".into()),
            recipient: Some(format!("{person}@corp.example.com")),
            department: Some("Legal".into()),
            app_id: Some(app.into()),
            app_name: Some("Smallpdf".into()),
            app_category: Some("file_conversion".into()),
            alternative: Some("Adobe Acrobat".into()),
            event_count: Some(3),
            bytes: Some(2_400_000),
            first_seen: Some(1_000),
            last_seen: Some(2_000),
            channel: "email".into(),
            language: "nl".into(),
            not_before: 0,
            link_expires_at: i64::MAX,
        }
    }

    pub async fn nudges_outbox_claims_and_throttle_queries(db: &TestDb) {
        let store = db.open().await;
        let queued = store.enqueue_nudge(&new_nudge("f1", "ana", "smallpdf")).await.unwrap().expect("queued");
        assert_eq!(queued.state, NudgeState::Pending);
        assert_eq!(queued.id.len(), 32);
        assert_eq!(queued.facts, new_nudge("f1", "ana", "smallpdf"), "every fact round-trips");
        // One nudge per finding: a replay or a new revision queues nothing.
        assert_eq!(store.enqueue_nudge(&new_nudge("f1", "ana", "smallpdf")).await.unwrap(), None);
        let mut later = new_nudge("f2", "ana", "smallpdf");
        later.not_before = 5_000;
        let later = store.enqueue_nudge(&later).await.unwrap().unwrap();

        // At t=1000 only f1 is due; claiming it twice gives it once.
        let claimed = store.claim_due_nudges(1_000, 10, 60_000).await.unwrap();
        assert_eq!(claimed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), [queued.id.as_str()]);
        assert_eq!(claimed[0].state, NudgeState::Sending);
        assert!(store.claim_due_nudges(1_000, 10, 60_000).await.unwrap().is_empty(), "claimed: not due again");
        // A sender that died: its claim is taken over once the lease ran out.
        let retaken = store.claim_due_nudges(1_000 + 60_001, 10, 60_000).await.unwrap();
        assert!(retaken.iter().any(|n| n.id == queued.id), "stale claim retaken");
        assert!(retaken.iter().any(|n| n.id == later.id), "f2 is due by now");

        store.finish_nudge(&queued.id, &NudgeOutcome::Sent { subject: "Over Smallpdf".into() }).await.unwrap();
        let sent = store.nudge(&queued.id).await.unwrap().unwrap();
        assert_eq!((sent.state, sent.subject.as_deref(), sent.attempts), (NudgeState::Sent, Some("Over Smallpdf"), 1));
        let sent_at = sent.sent_at.expect("sent_at");
        assert_eq!(store.nudge_for_finding("f1").await.unwrap().map(|n| n.id), Some(queued.id.clone()));

        // Throttle and cap queries.
        assert_eq!(store.last_nudge_to("ana", Some("smallpdf"), 0, &later.id).await.unwrap(), Some(sent_at));
        assert_eq!(store.last_nudge_to("ana", Some("smallpdf"), 0, &queued.id).await.unwrap(), None, "itself excluded");
        assert_eq!(store.last_nudge_to("ana", Some("wetransfer"), 0, &later.id).await.unwrap(), None);
        assert_eq!(store.last_nudge_to("bob", Some("smallpdf"), 0, &later.id).await.unwrap(), None);
        assert_eq!(store.last_nudge_to("ana", Some("smallpdf"), sent_at + 1, &later.id).await.unwrap(), None);
        assert_eq!(store.count_sent_since(0).await.unwrap(), 1);
        assert_eq!(store.count_sent_since(sent_at + 1).await.unwrap(), 0);

        // Deferred goes back to pending with its reason; skipped and failed keep theirs.
        let outcome = NudgeOutcome::Deferred { reason: "quiet hours".into(), not_before: 9_000, attempted: false };
        store.finish_nudge(&later.id, &outcome).await.unwrap();
        let d = store.nudge(&later.id).await.unwrap().unwrap();
        assert_eq!(
            (d.state, d.reason.as_deref(), d.facts.not_before),
            (NudgeState::Pending, Some("quiet hours"), 9_000)
        );
        assert!(store.claim_due_nudges(8_999, 10, 60_000).await.unwrap().is_empty());
        assert_eq!(store.claim_due_nudges(9_000, 10, 60_000).await.unwrap().len(), 1);
        store.finish_nudge(&later.id, &NudgeOutcome::Skipped { reason: "throttled".into() }).await.unwrap();
        let s = store.nudge(&later.id).await.unwrap().unwrap();
        assert_eq!((s.state, s.reason.as_deref(), s.sent_at), (NudgeState::Skipped, Some("throttled"), None));
        assert_eq!(store.count_sent_since(0).await.unwrap(), 1, "skipped does not count");
        let log = store.recent_nudges(10).await.unwrap();
        assert_eq!(log.len(), 2);
    }

    pub async fn nudge_answers_single_use_and_decided_once(db: &TestDb) {
        let store = db.open().await;
        let n = store.enqueue_nudge(&new_nudge("f9", "ana", "smallpdf")).await.unwrap().unwrap();
        let need = |reason: Option<&str>, days| NewAnswer {
            choice: AnswerChoice::Need,
            reason: reason.map(str::to_string),
            requested_days: days,
        };
        assert_invalid(store.answer_nudge(&n.id, &need(None, Some(30))).await, "say why");
        assert_invalid(store.answer_nudge(&n.id, &need(Some("x"), Some(0))).await, "between 1 and 366");
        assert_invalid(store.answer_nudge("nope", &need(Some("x"), None)).await, "no such nudge");
        let a = store
            .answer_nudge(&n.id, &need(Some("  Scanned contracts; Acrobat licence pending  "), Some(60)))
            .await
            .unwrap();
        assert_eq!(
            (a.choice, a.reason.as_deref(), a.requested_days),
            (AnswerChoice::Need, Some("Scanned contracts; Acrobat licence pending"), Some(60))
        );
        assert_eq!(a.decision, None);
        // Single use: a second answer, even a different one, is refused and changes nothing.
        let again = NewAnswer { choice: AnswerChoice::NotMe, reason: None, requested_days: None };
        assert_invalid(store.answer_nudge(&n.id, &again).await, "already used");
        assert_eq!(store.answer(&n.id).await.unwrap(), Some(a.clone()));
        let listed = store.answers_since(0, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].0.id.as_str(), &listed[0].1), (n.id.as_str(), &a));

        // Declining needs a reply; a decision is made once.
        let decline =
            AnswerVerdict { decision: AnswerDecision::Declined, scope: None, reply: None, exception_expires: None };
        assert_invalid(store.decide_answer(&n.id, &decline, "it-admin").await, "reply");
        let grant = AnswerVerdict {
            decision: AnswerDecision::Granted,
            scope: Some("person".into()),
            reply: None,
            exception_expires: Some("2027-01-31".into()),
        };
        let decided = store.decide_answer(&n.id, &grant, "it-admin").await.unwrap();
        assert_eq!(
            (
                decided.decision,
                decided.scope.as_deref(),
                decided.exception_expires.as_deref(),
                decided.decided_by.as_deref()
            ),
            (Some(AnswerDecision::Granted), Some("person"), Some("2027-01-31"), Some("it-admin"))
        );
        assert_invalid(store.decide_answer(&n.id, &grant, "someone-else").await, "already decided");
        assert_eq!(store.answer(&n.id).await.unwrap().unwrap().decided_by.as_deref(), Some("it-admin"));
        // A switch answer keeps no free text.
        let m = store.enqueue_nudge(&new_nudge("f10", "bob", "smallpdf")).await.unwrap().unwrap();
        let switch = NewAnswer { choice: AnswerChoice::Switch, reason: Some("ok".into()), requested_days: Some(3) };
        let s = store.answer_nudge(&m.id, &switch).await.unwrap();
        assert_eq!((s.reason, s.requested_days), (None, None));
    }

    pub async fn concurrent_claims_never_share_a_nudge(db: &TestDb) {
        // Two replicas' senders claim from the same outbox at once: every
        // nudge is claimed exactly once.
        let a = db.open().await;
        let b = db.open().await;
        for i in 0..40 {
            a.enqueue_nudge(&new_nudge(&format!("f{i}"), &format!("p{i}"), "smallpdf")).await.unwrap().unwrap();
        }
        let (x, y) = tokio::join!(
            async {
                // A claim that loses a race returns fewer than asked for;
                // a sender claims until nothing is left.
                let mut got = Vec::new();
                for _ in 0..40 {
                    let batch = a.claim_due_nudges(1, 3, 60_000_000).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    got.extend(batch);
                }
                got
            },
            async {
                // A claim that loses a race returns fewer than asked for;
                // a sender claims until nothing is left.
                let mut got = Vec::new();
                for _ in 0..40 {
                    let batch = b.claim_due_nudges(1, 3, 60_000_000).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    got.extend(batch);
                }
                got
            }
        );
        let mut ids: Vec<String> = x.iter().chain(&y).map(|n| n.id.clone()).collect();
        let claimed = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), claimed, "a nudge was claimed twice");
        assert_eq!(claimed, 40, "every nudge claimed");
    }
}
