//! Tests of the enrichment stage over the bundled default snapshot (plus an
//! overlay where a test needs the organisation's partners).

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use floodlight_enrichments::{Date, Enrichments, Overlay};

use super::Enricher;
use crate::schema::{ClassBatchBuilder, ClassSchemas, EmailEvent, EventClass, Row, RowOrigin};

const OVERLAY: &str = r#"
[[partner]]
name = "Payroll office"
domains = ["payroll.example.nl"]
reason = "Outsourced payroll receives the HR mailbox"
expires = "2027-06-30"

[[partner]]
name = "Old agency"
domains = ["agency.example.com"]
reason = "Campaign 2025"
expires = "2026-01-31"
"#;

fn enricher() -> Enricher {
    let overlay = Overlay::from_toml(OVERLAY, "overlay.toml").expect("overlay");
    let today: Date = "2026-11-24".parse().expect("date");
    let snapshot = Enrichments::embedded_default().expect("bundled").with_overlay(&overlay, today).expect("applies");
    Enricher::new(Arc::new(snapshot), ClassSchemas::builtin())
}

/// One email batch: (sender, forward_to) per row, enriched.
fn enrich(rows: &[(&'static str, &[&'static str])]) -> RecordBatch {
    let mut b = ClassBatchBuilder::with_capacity(8);
    for (i, (sender, forward_to)) in rows.iter().enumerate() {
        let row = Row::Email(EmailEvent {
            kind: Some(Cow::Borrowed("mailbox_forwarding")),
            user: Some(Cow::Borrowed("bob.smith@corp.example.com")),
            sender: Some(Cow::Borrowed(sender)),
            forward_to: forward_to.iter().map(|a| Cow::Borrowed(*a)).collect(),
            ..Default::default()
        });
        let id = format!("e{i}");
        b.append(&row, &RowOrigin { event_id: &id, origin: "test:1", format: "test" });
    }
    let (class, batch) = b.finish().expect("batch").pop().expect("one class");
    assert_eq!(class, EventClass::Email);
    enricher().enrich(EventClass::Email, &batch).expect("enriched")
}

fn texts(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let c = batch.column_by_name(column).unwrap_or_else(|| panic!("column {column}")).as_string::<i32>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i).to_string())).collect()
}

fn bools(batch: &RecordBatch, column: &str) -> Vec<Option<bool>> {
    let c = batch.column_by_name(column).unwrap_or_else(|| panic!("column {column}")).as_boolean();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

#[test]
fn a_sender_on_a_mailbox_provider_is_a_person_not_a_vendor() {
    let batch = enrich(&[
        ("Marieke <marieke.b@hotmail.com>", &[]),
        ("help@paddle.com", &[]),
        ("x@eu.mailinator.com", &[]),
        ("colleague@corp.example.com", &[]),
        ("not an address", &[]),
    ]);
    assert_eq!(bools(&batch, "sender_is_personal"), vec![Some(true), Some(false), Some(true), Some(false), None]);
    // The app columns still say what the domain is; the rules decide.
    assert_eq!(texts(&batch, "sender_domain")[1].as_deref(), Some("paddle.com"));
    assert_eq!(texts(&batch, "app_id")[1].as_deref(), Some("paddle"));
}

#[test]
fn partners_are_named_only_when_every_external_destination_is_theirs() {
    let batch = enrich(&[
        ("a@corp.example.com", &["hr@payroll.example.nl"]),
        ("a@corp.example.com", &["hr@payroll.example.nl", "me@unknown.example.org"]),
        ("a@corp.example.com", &["team@agency.example.com"]),
        ("a@corp.example.com", &["colleague@corp.example.com"]),
    ]);
    assert_eq!(texts(&batch, "dest_partner"), vec![Some("Payroll office".to_string()), None, None, None]);
    assert_eq!(
        texts(&batch, "dest_address"),
        vec![
            Some("hr@payroll.example.nl".to_string()),
            // The unknown destination is the one that matters, whatever the order.
            Some("me@unknown.example.org".to_string()),
            // An expired agreement is no agreement.
            Some("team@agency.example.com".to_string()),
            Some("colleague@corp.example.com".to_string()),
        ]
    );
    let external = batch.column_by_name("external_dest_count").expect("column");
    let external = external.as_primitive::<arrow::datatypes::Int32Type>();
    assert_eq!(external.values().to_vec(), vec![1, 2, 1, 0], "partners are still outside the organisation");
}

/// Network rows (user, source address, device), enriched with `directory`.
fn people(directory: &str, rows: &[(Option<&'static str>, &'static str, Option<&'static str>)]) -> RecordBatch {
    use crate::schema::NetworkEvent;
    let mut snapshot = Enrichments::embedded_default().expect("bundled");
    snapshot.directory = floodlight_enrichments::Directory::from_csv(directory, "enrichments.directory", "users.csv")
        .expect("directory")
        .with_domains(["corp.example.com".to_string()]);
    let e = Enricher::new(Arc::new(snapshot), ClassSchemas::builtin());
    let mut b = ClassBatchBuilder::with_capacity(8);
    for (i, (user, ip, device)) in rows.iter().enumerate() {
        let row = Row::Network(NetworkEvent {
            user: user.map(Cow::Borrowed),
            src_ip: Some(Cow::Borrowed(ip)),
            device: device.map(Cow::Borrowed),
            host: Some(Cow::Borrowed("www.example.org")),
            ..Default::default()
        });
        let id = format!("n{i}");
        b.append(&row, &RowOrigin { event_id: &id, origin: "test:1", format: "test" });
    }
    let (class, batch) = b.finish().expect("batch").pop().expect("one class");
    e.enrich(class, &batch).expect("enriched")
}

#[test]
fn every_row_says_who_it_is_about_and_how_that_is_known() {
    let batch = people(
        "user,email,department,ips,hosts\n\
         CORP\\agarcia,ana.garcia@corp.example.com,Finance,10.1.2.3,LT-0042\n",
        &[
            (Some("CORP\\AGarcia"), "10.9.9.9", None),
            (Some("ana.garcia@corp.example.com"), "10.9.9.9", None),
            (Some("agarcia"), "10.9.9.9", None),
            // Not in the directory: the same alias rules.
            (Some("EU\\Bob"), "10.9.9.9", None),
            (Some("bob@corp.example.com"), "10.9.9.9", None),
            (Some("bob@gmail.com"), "10.9.9.9", None),
            // No user: Ana's fixed workstation, by address or device.
            (None, "10.1.2.3", None),
            (None, "10.9.9.9", Some("lt-0042.corp.example.com")),
            (None, "10.9.9.9", None),
            (Some("  "), "10.9.9.9", None),
        ],
    );
    let ids = texts(&batch, "user_id");
    let ids: Vec<Option<&str>> = ids.iter().map(|v| v.as_deref()).collect();
    assert_eq!(
        ids,
        [
            Some("agarcia"),
            Some("agarcia"),
            Some("agarcia"),
            Some("bob"),
            Some("bob"),
            Some("bob@gmail.com"),
            Some("agarcia"),
            Some("agarcia"),
            None,
            None
        ]
    );
    let sources = texts(&batch, "user_source");
    let sources: Vec<&str> = sources.iter().map(|s| s.as_deref().unwrap_or("?")).collect();
    assert_eq!(sources, ["log", "log", "log", "log", "log", "log", "directory", "directory", "none", "none"]);
    // The directory columns follow the person, whoever named them.
    let departments = texts(&batch, "user_department");
    assert_eq!(departments.iter().filter(|d| d.as_deref() == Some("Finance")).count(), 5);
    // `user` keeps what the log wrote.
    assert_eq!(texts(&batch, "user")[0].as_deref(), Some("CORP\\AGarcia"));
}
