//! The attribution stage over enriched batches: sightings from firewall
//! rows, held DNS rows, release in event time, and enrichment with the person.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use floodlight_enrichments::Enrichments;

use super::*;
use crate::schema::{ClassBatchBuilder, ClassSchemas, DnsEvent, NetworkEvent, Row, RowOrigin, Timestamp};
use crate::transform::Enricher;

const MIN: i64 = 60_000_000;
/// 2026-11-24 00:00 UTC, microseconds.
const DAY: i64 = 1_795_478_400_000_000;
const INTERVAL: i64 = MIN;

fn at(h: i64, m: i64) -> Timestamp {
    Timestamp(DAY + (h * 60 + m) * MIN)
}

fn enricher() -> Enricher {
    Enricher::new(Arc::new(Enrichments::embedded_default().expect("bundled")), ClassSchemas::builtin())
}

/// Firewall sessions: (time, user, source address) to SharePoint.
fn firewall(e: &Enricher, rows: &[(Timestamp, &'static str, &'static str)]) -> RecordBatch {
    let mut b = ClassBatchBuilder::with_capacity(8);
    for (i, (t, user, ip)) in rows.iter().enumerate() {
        let row = Row::Network(NetworkEvent {
            time: *t,
            src_ip: Some(Cow::Borrowed(ip)),
            user: Some(Cow::Borrowed(user)),
            host: Some(Cow::Borrowed("corp-my.sharepoint.com")),
            ..Default::default()
        });
        b.append(&row, &RowOrigin { event_id: &format!("n{i}"), origin: "test:fw", format: "test" });
    }
    let (class, batch) = b.finish().expect("batch").pop().expect("one class");
    e.enrich(class, &batch).expect("enriched")
}

/// DNS queries without a user: (time, client address, query).
fn dns(e: &Enricher, rows: &[(Timestamp, &'static str, &'static str)]) -> RecordBatch {
    let mut b = ClassBatchBuilder::with_capacity(8);
    for (i, (t, ip, query)) in rows.iter().enumerate() {
        let row = Row::Dns(DnsEvent {
            time: *t,
            client_ip: Some(Cow::Borrowed(ip)),
            query: Some(Cow::Borrowed(query)),
            ..Default::default()
        });
        b.append(&row, &RowOrigin { event_id: &format!("d{i}"), origin: "test:dns", format: "test" });
    }
    let (class, batch) = b.finish().expect("batch").pop().expect("one class");
    e.enrich(class, &batch).expect("enriched")
}

fn texts(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let c = batch.column_by_name(column).unwrap_or_else(|| panic!("column {column}")).as_string::<i32>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i).to_string())).collect()
}

fn kept(mask: &Option<BooleanArray>) -> Vec<bool> {
    mask.as_ref().map_or_else(Vec::new, |m| m.values().iter().collect())
}

/// The desk changes hands at noon; DNS names only the desk.
fn day(e: &Enricher) -> (RecordBatch, RecordBatch) {
    let fw = firewall(
        e,
        &[
            (at(8, 2), "CORP\\lena.visser", "10.1.21.13"),
            (at(9, 30), "LENA.VISSER", "10.1.21.13"),
            (at(11, 40), "lena.visser@corp.example.com", "10.1.21.13"),
            (at(13, 0), "ana.pereira", "10.1.21.13"),
            (at(14, 0), "ana.pereira", "10.1.21.13"),
            // The same sighting again (another session that second): learned once.
            (at(14, 0), "ANA.PEREIRA", "10.1.21.13"),
            (at(14, 40), "ana.pereira", "10.1.21.13"),
            // A public address is never a sighting.
            (at(13, 0), "ana.pereira", "89.160.20.113"),
        ],
    );
    let q = dns(
        e,
        &[
            (at(10, 5), "10.1.21.13", "router1.teamviewer.com"),
            (at(14, 20), "10.1.21.13", "relay-1.net.anydesk.com"),
            // Not an unsanctioned app: not held.
            (at(14, 21), "10.1.21.13", "www.example.org"),
            // Nobody was ever seen on this desk.
            (at(14, 22), "10.1.22.99", "relay-1.net.anydesk.com"),
            // Not an internal address.
            (at(14, 23), "89.160.20.113", "relay-1.net.anydesk.com"),
        ],
    );
    (fw, q)
}

#[test]
fn held_rows_get_the_person_on_their_address_at_their_time() {
    let e = enricher();
    let (fw, q) = day(&e);
    assert_eq!(texts(&fw, "user_id")[0].as_deref(), Some("lena.visser"), "aliases made canonical");
    assert_eq!(texts(&q, "user_source"), vec![Some("none".to_string()); 5]);
    let a = Attribution::new(AttributionSettings::default());
    let mut deferred = Deferred::default();
    // The DNS batch comes first: the order batches arrive in does not matter.
    let keep = a.split(EventClass::Dns, &q, |_| true, &mut deferred).unwrap();
    assert_eq!(kept(&keep), [false, false, true, false, true]);
    assert_eq!(a.split(EventClass::Network, &fw, |_| true, &mut deferred).unwrap(), None);
    assert_eq!((deferred.held_rows(), deferred.sightings.len()), (3, 6));
    assert!(a.file(deferred, INTERVAL).unwrap().is_empty());
    assert_eq!(a.held_rows(), 3);

    // Before the watermark passes 10:06 nothing is released.
    assert!(a.release(Some(DAY + 10 * 60 * MIN), INTERVAL).is_empty());
    let out = a.release(None, INTERVAL);
    let people: Vec<Option<String>> = out.iter().flat_map(|r| r.leased.iter().map(|p| p.map(str::to_string))).collect();
    assert_eq!(people, [Some("lena.visser".into()), Some("ana.pereira".into()), None]);
    assert_eq!(a.held_rows(), 0);

    // Enriched again: the person, how they are known, and their rows still name no user.
    let r = &out[1];
    let batch = e.enrich_attributed(r.class, &r.batch, &r.leased).unwrap();
    assert_eq!(texts(&batch, "user_id"), [Some("ana.pereira".to_string())]);
    assert_eq!(texts(&batch, "user_source"), [Some("ip_lease".to_string())]);
    assert_eq!(texts(&batch, "user"), [None]);
    assert_eq!(texts(&batch, "app_id"), [Some("anydesk".to_string())]);
    let r = &out[2];
    let batch = e.enrich_attributed(r.class, &r.batch, &r.leased).unwrap();
    assert_eq!((texts(&batch, "user_id"), texts(&batch, "user_source")), (vec![None], vec![Some("none".into())]));
}

#[test]
fn a_row_behind_what_was_released_is_attributed_at_once_and_late_sightings_are_not_learned() {
    let e = enricher();
    let (fw, q) = day(&e);
    let a = Attribution::new(AttributionSettings::default());
    let mut deferred = Deferred::default();
    a.split(EventClass::Network, &fw, |_| true, &mut deferred).unwrap();
    a.file(deferred, INTERVAL).unwrap();
    assert!(a.release(Some(at(15, 0).0), INTERVAL).is_empty(), "sightings only");
    // The DNS stream starts after attribution passed 15:00: its rows come
    // back at once, attributed with what the table still holds (Lena's
    // morning is forgotten by then: more than max_age before 15:00).
    let mut deferred = Deferred::default();
    a.split(EventClass::Dns, &q, |_| true, &mut deferred).unwrap();
    let now = a.file(deferred, INTERVAL).unwrap();
    let people: Vec<Option<&str>> = now.iter().flat_map(|r| r.leased.iter()).collect();
    assert_eq!(people, [None, Some("ana.pereira"), None]);
    // A sighting behind what was released is counted, not learned.
    let late = firewall(&e, &[(at(14, 50), "tom.bakker", "10.1.21.14")]);
    let mut deferred = Deferred::default();
    a.split(EventClass::Network, &late, |_| true, &mut deferred).unwrap();
    a.file(deferred, INTERVAL).unwrap();
    assert_eq!(a.snapshot().leases.at("10.1.21.14", at(14, 55).0, 60 * MIN), None);
}

#[test]
fn rows_late_for_their_stream_and_disabled_attribution_are_left_alone() {
    let e = enricher();
    let (fw, q) = day(&e);
    let a = Attribution::new(AttributionSettings::default());
    let mut deferred = Deferred::default();
    // Late rows go the usual way (the rules dead-letter them), unheld and unlearned.
    assert_eq!(a.split(EventClass::Dns, &q, |_| false, &mut deferred).unwrap(), None);
    assert_eq!(a.split(EventClass::Network, &fw, |_| false, &mut deferred).unwrap(), None);
    assert!(deferred.is_empty());
    let off = Attribution::new(AttributionSettings { enabled: false, ..AttributionSettings::default() });
    assert_eq!(off.split(EventClass::Dns, &q, |_| true, &mut deferred).unwrap(), None);
    assert!(deferred.is_empty());
    // `rows = "all"` holds every user-less row from an internal address.
    let all = Attribution::new(AttributionSettings { rows: HeldRows::All, ..AttributionSettings::default() });
    let keep = all.split(EventClass::Dns, &q, |_| true, &mut deferred).unwrap();
    assert_eq!(kept(&keep), [false, false, false, false, true]);
}

#[test]
fn held_rows_and_the_table_survive_a_checkpoint() {
    let e = enricher();
    let (fw, q) = day(&e);
    let a = Attribution::new(AttributionSettings::default());
    let mut deferred = Deferred::default();
    a.split(EventClass::Network, &fw, |_| true, &mut deferred).unwrap();
    a.split(EventClass::Dns, &q, |_| true, &mut deferred).unwrap();
    a.file(deferred, INTERVAL).unwrap();
    a.release(Some(at(12, 0).0), INTERVAL);
    let json = serde_json::to_string(&a.snapshot()).unwrap();
    let b = Attribution::new(AttributionSettings::default());
    b.restore(serde_json::from_str(&json).unwrap());
    assert_eq!(b.held_rows(), 2);
    let people: Vec<Option<String>> = b
        .release(None, INTERVAL)
        .iter()
        .flat_map(|r| r.leased.iter().map(|p| p.map(str::to_string)).collect::<Vec<_>>())
        .collect();
    assert_eq!(people, [Some("ana.pereira".into()), None]);
}
