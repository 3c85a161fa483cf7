//! The whole rule pack over enriched batches, and what planning would cost.
//!
//! ```sh
//! cargo bench --workspace --bench rules                          # criterion: rows/s through every rule
//! cargo bench --workspace --bench rules -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! Two measurements:
//!
//! * `rule_pack/<class>`: one enriched batch of 8,192 events (realistic mix
//!   from `tests/support/corpus.rs`, decoded and enriched once up front) run
//!   through `DetectionEngine::detect`: every rule that reads the class,
//!   state updates and dedup included. Throughput is rows per second.
//! * `planning/<rule>`: what it would cost to plan the rule's SQL for every
//!   batch (`SessionContext::sql` + physical planning), next to
//!   `executing/<rule>`: re-executing the plan planned once. floodlight does
//!   only the latter per batch; the ratio is what compile-once saves.

/// The allocator the `floodlight` binary uses (src/main.rs), so the figures are its.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use floodlight_pipeline::ack::AckToken;
use floodlight_pipeline::decode::decoder_for;
use floodlight_pipeline::decode::stage::decode_batch;
use floodlight_pipeline::detect::{engine, load_rules, DetectionEngine, RuleSettings, RuleSource};
use floodlight_pipeline::schema::VendorFieldsFilter;
use floodlight_pipeline::schema::{ClassSchemas, EventClass};
use floodlight_pipeline::source::{RawBatch, RawRecord};
use floodlight_pipeline::transform::Enricher;

#[path = "../tests/support/corpus.rs"]
mod corpus;

/// One enriched batch of `rows` records of `format` made by `line`.
fn batch(
    enricher: &Enricher,
    format: &str,
    rows: usize,
    line: fn(&mut corpus::Mix, usize) -> String,
) -> (EventClass, RecordBatch) {
    let mut mix = corpus::Mix::new(7);
    let headers: Vec<Bytes> = if format == "zeek-conn" {
        corpus::ZEEK_CONN_HEADER.lines().map(|l| Bytes::from(l.to_string())).collect()
    } else {
        Vec::new()
    };
    let raw = RawBatch {
        source: Arc::from("bench"),
        partition: None,
        format: Arc::from(format),
        headers: Arc::from(headers),
        records: (0..rows).map(|i| RawRecord::new(i as u64, Bytes::from(line(&mut mix, i)))).collect(),
        ack: AckToken::detached(0),
        pos: floodlight_pipeline::event_time::StreamPos::detached(),
    };
    let decoder = decoder_for(format).expect("format");
    let decoded = decode_batch(decoder.as_ref(), &raw, &VendorFieldsFilter::All).expect("decode");
    let (class, b) = decoded.batches.into_iter().next().expect("rows");
    (class, enricher.enrich(class, &b).expect("enrich"))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let schemas = ClassSchemas::builtin();
    let (defs, errors) = load_rules(&RuleSource::Embedded, &RuleSettings::default());
    assert!(errors.is_empty(), "{errors:?}");
    let engine = rt.block_on(DetectionEngine::compile(defs.clone(), &schemas)).expect("rules compile");
    let enrichments = floodlight_enrichments::Enrichments::embedded_default().expect("bundled enrichments");
    let enricher = Enricher::new(Arc::new(enrichments), schemas.clone());
    let n = 8192;
    let inputs = [
        batch(&enricher, "panos", n, corpus::panos_url),
        batch(&enricher, "fortigate", n, corpus::fortigate),
        batch(&enricher, "zeek-dns", n, corpus::zeek_dns_json),
        batch(&enricher, "okta", n, corpus::okta_signin),
        batch(&enricher, "m365-audit", n, corpus::m365_audit),
    ];
    let mut group = c.benchmark_group("rule_pack");
    for (i, (class, b)) in inputs.iter().enumerate() {
        let rules = engine.rules().iter().filter(|r| r.def.classes().contains(class)).count();
        group.throughput(Throughput::Elements(b.num_rows() as u64));
        group.bench_with_input(BenchmarkId::new(format!("{class}-{i}"), format!("{rules} rules")), b, |bench, b| {
            bench.iter(|| rt.block_on(engine.match_batch(*class, b, None, 0)))
        });
    }
    group.finish();

    // Planning per batch versus executing a plan planned once, per streaming rule.
    let session = engine::rule_session(&schemas).expect("session");
    let (class, b) = &inputs[0];
    let mut group = c.benchmark_group("planning_vs_executing");
    for def in defs.iter().filter(|d| d.classes().contains(class) && d.mode.name() == "streaming") {
        let plan = rt.block_on(engine::compile(&session, &def.sql)).expect("plan");
        group.bench_function(BenchmarkId::new("plan", def.id()), |bench| {
            bench.iter(|| rt.block_on(engine::compile(&session, &def.sql)).expect("plan"))
        });
        let base = session.task_ctx();
        group.bench_function(BenchmarkId::new("execute", def.id()), |bench| {
            bench.iter(|| {
                let task =
                    engine::task_context(&base, engine::MicroBatchInput { table: class.as_str(), batch: b.clone() });
                rt.block_on(engine::execute(&plan, task)).expect("execute")
            })
        });
    }
    group.finish();
    let _ = Path::new(".");
}

criterion_group!(benches, bench);
criterion_main!(benches);
