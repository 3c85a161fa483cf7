//! The full enrichment of decoded batches, one core: app catalog (longest
//! suffix over 1,081 apps), destination GeoIP, user directory for
//! `network`; GeoIP (all six MaxMind test databases), network type and
//! directory for `auth`; e-mail classes for `email`.
//!
//! ```sh
//! cargo bench --workspace --bench enrich
//! cargo bench --workspace --bench enrich -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Input: 8,192 rows per batch from the realistic mix
//! (`tests/support/corpus.rs`: 2,000 users, a few hundred hosts and
//! thousands of IPs, the repetition real logs have), decoded once up front.
//! The stage looks each distinct key up once per batch and the GeoIP cache
//! survives across batches, as in the pipeline. Throughput is rows/s.
//! Figures: `benches/RESULTS.md`.

/// The allocator the `floodlight` binary uses (src/main.rs), so the figures are its.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use floodlight_enrichments::{EnrichmentConfig, Enrichments};
use floodlight_pipeline::ack::AckToken;
use floodlight_pipeline::decode::decoder_for;
use floodlight_pipeline::decode::stage::decode_batch;
use floodlight_pipeline::schema::VendorFieldsFilter;
use floodlight_pipeline::schema::{ClassSchemas, EventClass};
use floodlight_pipeline::source::{RawBatch, RawRecord};
use floodlight_pipeline::transform::Enricher;

#[path = "../tests/support/corpus.rs"]
mod corpus;

const ROWS: usize = 8192;

fn decoded(format: &str, line: fn(&mut corpus::Mix, usize) -> String) -> (EventClass, RecordBatch) {
    let mut mix = corpus::Mix::new(3);
    let raw = RawBatch {
        source: Arc::from("bench"),
        partition: None,
        format: Arc::from(format),
        headers: Arc::from(Vec::<Bytes>::new()),
        records: (0..ROWS).map(|i| RawRecord::new(i as u64, Bytes::from(line(&mut mix, i)))).collect(),
        ack: AckToken::detached(0),
        pos: floodlight_pipeline::event_time::StreamPos::detached(),
    };
    let decoder = decoder_for(format).expect("format");
    decode_batch(decoder.as_ref(), &raw, &VendorFieldsFilter::All)
        .expect("decode")
        .batches
        .into_iter()
        .next()
        .expect("rows")
}

fn bench(c: &mut Criterion) {
    let cfg: EnrichmentConfig = toml::from_str(
        "corporate_cidrs = [\"89.160.20.112/28\", \"10.0.0.0/8\"]\ncorporate_domains = [\"corp.example.com\"]\n\
         directory = \"embedded:demo/users.csv\"\noverlay = \"embedded:demo/overlay.toml\"\n[geoip]\ndemo = true\n",
    )
    .expect("config");
    let enrichments = Enrichments::load(&cfg, std::path::Path::new(".")).expect("bundled enrichments");
    let enricher = Enricher::new(Arc::new(enrichments), ClassSchemas::builtin());
    let inputs = [
        ("network/panos-url", decoded("panos", corpus::panos_url)),
        ("network/panos-traffic", decoded("panos", corpus::panos_traffic)),
        ("network/fortigate", decoded("fortigate", corpus::fortigate)),
        ("dns/zeek-dns", decoded("zeek-dns", corpus::zeek_dns_json)),
        ("auth/okta", decoded("okta", corpus::okta_signin)),
        ("email/m365-audit", decoded("m365-audit", corpus::m365_audit)),
    ];
    let mut group = c.benchmark_group("enrich");
    for (name, (class, batch)) in &inputs {
        group.throughput(Throughput::Elements(batch.num_rows() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), batch, |b, batch| {
            b.iter(|| enricher.enrich(*class, batch).expect("enrich"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
