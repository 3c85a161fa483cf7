//! Crate-level lookup benchmarks: GeoIP cold vs cached vs a realistic mix,
//! directory joins, email classes.
//!
//! `cargo bench -p floodlight-enrichments --bench lookups` (release). Every
//! benchmark runs batches of `BATCH` lookups and reports elements (lookups)
//! per second. The GeoIP set-up is the bundled MaxMind test databases (all
//! seven) with two custom columns; the IPs are drawn from ranges the test
//! databases cover, so misses do real tree walks and decodes. Production
//! databases are deeper and their records larger, so a real cache miss costs
//! more than here; the hit path does not depend on the database.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use floodlight_enrichments::{Directory, EmailClassifier, GeoFieldConfig, GeoIp};

const BATCH: usize = 10_000;

/// Prefixes the test databases cover (IPv4 base, host bits to vary).
const V4_RANGES: &[([u8; 4], u32)] = &[
    ([1, 0, 0, 0], 16),     // Connection-Type, ASN (Google), Anonymous-IP 1.2/16
    ([1, 128, 0, 0], 21),   // ASN + ISP (Telstra)
    ([12, 81, 0, 0], 16),   // ASN + ISP (AT&T)
    ([38, 0, 0, 0], 22),    // ASN (Cogent)
    ([81, 2, 69, 0], 8),    // City, Enterprise, Anonymous-IP
    ([89, 160, 20, 0], 8),  // City, ASN, Enterprise
    ([214, 78, 120, 0], 8), // City, Enterprise (Starlink), Connection-Type
    ([70, 192, 0, 0], 21),  // ASN (Verizon Wireless)
];

/// The `n`-th IP of the covered ranges (a new one for each `n`, cycling
/// through ranges; one in eight is IPv6).
fn covered_ip(n: u32) -> IpAddr {
    if n % 8 == 7 {
        return IpAddr::V6(Ipv6Addr::new(0x2001, 0x218, 0, 0, 0, 0, (n >> 16) as u16, n as u16));
    }
    let (base, bits) = V4_RANGES[(n as usize) % V4_RANGES.len()];
    let host = (n / V4_RANGES.len() as u32) % (1u32 << bits);
    IpAddr::V4(Ipv4Addr::from(u32::from_be_bytes(base) | host))
}

fn geo(cache_size: usize) -> GeoIp {
    let field = |column: &str, database: &str, path: &str| GeoFieldConfig {
        column: column.into(),
        database: database.into(),
        path: path.into(),
        column_type: "string".into(),
    };
    GeoIp::test_databases()
        .expect("bundled test databases")
        .with_corporate_cidrs(["10.0.0.0/8".parse().expect("cidr")])
        .with_cache_size(cache_size)
        .with_fields(&[
            field("geo_postal", "city", "postal.code"),
            field("geo_subdivision", "city", "subdivisions.0.iso_code"),
        ])
        .expect("custom columns")
}

/// 90% of lookups over `hot.len()` (1,000) known IPs, 10% over IPs never
/// seen before (`fresh` counts them across batches).
fn mixed_batch(g: &GeoIp, hot: &[IpAddr], fresh: &AtomicU32, seed: &mut u64, n: usize) -> usize {
    let mut acc = 0usize;
    for _ in 0..n {
        // xorshift: cheap, deterministic
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let ip = if *seed % 10 == 0 {
            covered_ip(1_000_000 + fresh.fetch_add(1, Ordering::Relaxed))
        } else {
            hot[(*seed >> 8) as usize % hot.len()]
        };
        acc += g.lookup_record(ip).info.network_type as usize;
    }
    acc
}

fn geoip(c: &mut Criterion) {
    let hot: Vec<IpAddr> = (0..1_000).map(covered_ip).collect();
    let mut grp = c.benchmark_group("geoip");
    grp.throughput(Throughput::Elements(BATCH as u64));
    grp.measurement_time(Duration::from_secs(4)).sample_size(20);

    let cold = geo(0);
    grp.bench_function("uncached (every lookup reads all 7 databases)", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for i in 0..BATCH as u32 {
                acc += cold.lookup_uncached(covered_ip(i)).info.network_type as usize;
            }
            black_box(acc)
        })
    });

    let warm = geo(100_000);
    for ip in &hot {
        warm.lookup_record(*ip);
    }
    grp.bench_function("cached, all hits (1,000 distinct IPs)", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for i in 0..BATCH {
                acc += warm.lookup_record(hot[i % hot.len()]).info.network_type as usize;
            }
            black_box(acc)
        })
    });

    let mixed = geo(100_000);
    let fresh = AtomicU32::new(0);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    grp.bench_function("cached, 90% over 1,000 IPs + 10% fresh", |b| {
        b.iter(|| black_box(mixed_batch(&mixed, &hot, &fresh, &mut seed, BATCH)))
    });

    let shared = Arc::new(geo(100_000));
    let fresh2 = Arc::new(AtomicU32::new(0));
    grp.bench_function("cached, 90/10 mix, 2 threads sharing the cache (per-thread batch)", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let handles: Vec<_> = (0..2u64)
                .map(|t| {
                    let (g, hot, fresh) = (Arc::clone(&shared), hot.clone(), Arc::clone(&fresh2));
                    std::thread::spawn(move || {
                        let mut seed = 0x2545_F491_4F6C_DD1Du64 ^ (t + 1);
                        for _ in 0..iters {
                            black_box(mixed_batch(&g, &hot, &fresh, &mut seed, BATCH));
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("bench thread");
            }
            start.elapsed()
        })
    });
    grp.finish();
    let st = mixed.cache_stats();
    eprintln!(
        "geoip mix cache: {} hits, {} misses ({:.1}% hits), {} IPs held",
        st.hits,
        st.misses,
        100.0 * st.hits as f64 / (st.hits + st.misses).max(1) as f64,
        st.len
    );
}

fn directory(c: &mut Criterion) {
    let mut csv = String::from("user,email,display_name,department,manager,role,flags,aliases\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "u{i:05},first{i}.last{i}@corp.example.com,First{i} Last{i},Dept {},u{:05},Role,vip;travels,alias{i}@corp.example.com\n",
            i % 40,
            i / 10
        ));
    }
    let d = Directory::from_csv(&csv, "enrichments.directory", "bench.csv").expect("directory");
    let keys: Vec<String> = (0..1_000)
        .map(|i| match i % 5 {
            0 => format!("u{:05}", i * 7),
            1 => format!("CORP\\U{:05}", i * 7),
            2 => format!("u{:05}@corp.example.com", i * 7),
            3 => format!("First{}.Last{}@corp.example.com", i * 7, i * 7),
            _ => format!("stranger{i}@gmail.com"),
        })
        .collect();
    let mut grp = c.benchmark_group("directory");
    grp.throughput(Throughput::Elements(BATCH as u64));
    grp.measurement_time(Duration::from_secs(3)).sample_size(20);
    grp.bench_function("lookup (user, DOMAIN\\user, UPN, email, miss; 10,000 people)", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for i in 0..BATCH {
                found += usize::from(d.lookup(&keys[i % keys.len()]).is_some());
            }
            black_box(found)
        })
    });
    grp.finish();
}

fn email(c: &mut Criterion) {
    let k = EmailClassifier::embedded(["corp.example.com".to_string()]);
    let addrs: Vec<String> = (0..1_000)
        .map(|i| match i % 4 {
            0 => format!("Person {i} <person{i}@gmail.com>"),
            1 => format!("smtp:x{i}@mailinator.com"),
            2 => format!("colleague{i}@eu.corp.example.com"),
            _ => format!("ops{i}@partner{i}.example.net"),
        })
        .collect();
    let mut grp = c.benchmark_group("email");
    grp.throughput(Throughput::Elements(BATCH as u64));
    grp.measurement_time(Duration::from_secs(3)).sample_size(20);
    grp.bench_function("classify", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for i in 0..BATCH {
                n += usize::from(k.classify(&addrs[i % addrs.len()]).is_personal);
            }
            black_box(n)
        })
    });
    grp.bench_function("resembles_user", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for i in 0..BATCH {
                let dest = if i % 2 == 0 { "anagarcia88" } else { "bob.smith" };
                n += usize::from(floodlight_enrichments::resembles_user(
                    "ana.garcia@corp.example.com",
                    Some("Ana García"),
                    dest,
                ));
            }
            black_box(n)
        })
    });
    grp.finish();
}

criterion_group!(benches, geoip, directory, email);
criterion_main!(benches);
