//! One criterion benchmark per parser: raw lines to an Arrow batch of the
//! format's event class, through the decode stage the pipeline runs
//! (`decode::stage::decode_batch`: decoder, origin columns, Arrow builders),
//! on one core.
//!
//! ```sh
//! cargo bench --workspace --bench parsers                                  # every format
//! cargo bench --workspace --bench parsers -- panos                         # one format
//! cargo bench --workspace --bench parsers -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Input per format: 8,192 records. The ten formats of the realistic mix
//! (`tests/support/corpus.rs`) use its generated lines (2,000 users, varied
//! hosts, IPs and times); the others repeat the real or documented sample
//! lines of `tests/data/vendor/` that the format parses. Criterion reports
//! bytes/s (`thrpt`); the bench prints each input's bytes per line on start,
//! so lines/s = bytes/s ÷ bytes per line. Figures: `benches/RESULTS.md`.

/// The allocator the `floodlight` binary uses (src/main.rs), so the figures are its.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use floodlight_pipeline::ack::AckToken;
use floodlight_pipeline::decode::decoder_for;
use floodlight_pipeline::decode::stage::decode_batch;
use floodlight_pipeline::schema::VendorFieldsFilter;
use floodlight_pipeline::source::{RawBatch, RawRecord};

#[path = "../tests/support/corpus.rs"]
mod corpus;

const RECORDS: usize = 8192;

/// The records (and header lines) one format is measured on.
struct Input {
    format: &'static str,
    headers: Vec<Bytes>,
    records: Vec<Bytes>,
}

fn generated(format: &'static str, line: fn(&mut corpus::Mix, usize) -> String) -> Input {
    let mut mix = corpus::Mix::new(11);
    let headers = if format == "zeek-conn" {
        corpus::ZEEK_CONN_HEADER.lines().map(|l| Bytes::from(l.to_string())).collect()
    } else {
        Vec::new()
    };
    Input { format, headers, records: (0..RECORDS).map(|i| Bytes::from(line(&mut mix, i))).collect() }
}

/// The sample's lines that `format` parses, repeated to `RECORDS`; `#`
/// lines are the header context (Zeek, W3C).
fn sample(format: &'static str, text: &str) -> Input {
    let decoder = decoder_for(format).expect("format");
    let headers: Vec<Bytes> = text.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::from(l.to_string())).collect();
    let ctx = floodlight_pipeline::decode::RecordContext::with_headers(&headers);
    let good: Vec<Bytes> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter(|l| {
            let mut out = Vec::new();
            matches!(
                decoder.decode(l.as_bytes(), ctx, &mut out),
                Ok(floodlight_pipeline::decode::DecodeOutcome::Parsed(_))
            )
        })
        .map(|l| Bytes::from(l.to_string()))
        .collect();
    assert!(!good.is_empty(), "{format}: no sample line parses");
    let records = good.iter().cycle().take(RECORDS).cloned().collect();
    Input { format, headers, records }
}

fn inputs() -> Vec<Input> {
    let mut v: Vec<Input> = vec![
        generated("panos", corpus::panos_traffic),
        generated("fortigate", corpus::fortigate),
        generated("zeek-conn", corpus::zeek_conn),
        generated("zeek-dns", corpus::zeek_dns_json),
        generated("bind-query", corpus::bind_query),
        generated("umbrella-dns", corpus::umbrella),
        generated("okta", corpus::okta_signin),
        generated("entra-signin", corpus::entra_signin),
        generated("m365-audit", corpus::m365_audit),
    ];
    v.extend([
        sample("cisco-asa", include_str!("../tests/data/vendor/cisco-asa/asa-syslog.log")),
        sample("squid", include_str!("../tests/data/vendor/squid/access-documented.log")),
        sample("cef", include_str!("../tests/data/vendor/cef/cef-documented.log")),
        sample("w3c", include_str!("../tests/data/vendor/w3c/iis-u_ex240305.log")),
        // Zeek's test baseline masks its times (`XXXXXXXXXX.XXXXXX`): give them one.
        sample(
            "zeek-http",
            &include_str!("../tests/data/vendor/zeek/opt.basic_http.log")
                .replace("XXXXXXXXXX.XXXXXX", "1795510800.250000"),
        ),
        sample("zeek-ssl", include_str!("../tests/data/vendor/zeek/ssl-doc.log")),
        sample("windows-dns", include_str!("../tests/data/vendor/windows-dns/windns-sample-lines.txt")),
        sample("entra-audit", include_str!("../tests/data/vendor/entra/entra-audit.documented.jsonl")),
        sample(
            "google-workspace",
            include_str!("../tests/data/vendor/google-workspace/google-workspace.documented.jsonl"),
        ),
        sample("github-audit", include_str!("../tests/data/vendor/github/github-audit.documented.jsonl")),
        sample("github-webhook", include_str!("../tests/data/vendor/github/github-webhook.jsonl")),
        sample("m365-message-trace", include_str!("../tests/data/vendor/m365/message-trace.documented.jsonl")),
    ]);
    v
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for input in inputs() {
        let decoder = decoder_for(input.format).expect("format");
        let bytes: usize = input.records.iter().map(|r| r.len() + 1).sum();
        eprintln!("{}: {} bytes per line", input.format, bytes / input.records.len());
        let raw = RawBatch {
            source: Arc::from("bench"),
            partition: None,
            format: Arc::from(input.format),
            headers: Arc::from(input.headers),
            records: input.records.iter().enumerate().map(|(i, r)| RawRecord::new(i as u64, r.clone())).collect(),
            ack: AckToken::detached(0),
            pos: floodlight_pipeline::event_time::StreamPos::detached(),
        };
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::from_parameter(input.format), &raw, |b, raw| {
            b.iter(|| {
                let d = decode_batch(decoder.as_ref(), raw, &VendorFieldsFilter::All).expect("decode");
                assert!(d.rows > 0);
                d
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
