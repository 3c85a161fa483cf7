//! The fuzz targets for what users write, run briefly on stable Rust: the
//! config loader (`config`), the rule loader (`rules`), the overlay,
//! catalog and directory readers (`enrichment`) and the analyst API's
//! read-only guard (`query_guard`). Each takes every entry of its corpus in
//! `fuzz/corpus/<target>/` (the hand-picked seeds, which must also parse,
//! and what long libFuzzer runs kept), thousands of deterministic mutations
//! of them ([`Mutator`]) and random bytes, through the same check as its
//! libFuzzer target. A panic fails the test. The long libFuzzer runs and
//! their figures: docs/testing.md, "Fuzzing"; CI's short libFuzzer run:
//! `deploy/fuzz-short-run.sh`.
//!
//! The decoder families' targets have the same smoke test in the pipeline
//! crate (`cargo test --workspace --lib -- fuzzing`).

use std::path::Path;

use floodlight_pipeline::decode::fuzzing::{check_config, check_enrichment, check_rule, corpus, is_seed, Mutator};

/// Only the hand-picked seeds of a target's corpus (real configs, rules, queries).
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let all = corpus(target).unwrap_or_else(|e| panic!("fuzz/corpus/{target}: {e}"));
    all.into_iter().filter(|(p, _)| is_seed(p)).map(|(_, b)| b).collect()
}

/// Every corpus entry, `mutations` mutations and 100 random inputs through
/// `check`; how many inputs were checked.
fn smoke(target: &str, mutations: usize, check: impl Fn(&[u8])) -> usize {
    let all = corpus(target).unwrap_or_else(|e| panic!("fuzz/corpus/{target}: {e}"));
    assert!(all.iter().filter(|(p, _)| is_seed(p)).count() >= 3, "{target}: too few hand-picked seeds");
    let seeds: Vec<Vec<u8>> = all.into_iter().map(|(_, b)| b).collect();
    let mut rng = Mutator::new(0x5eed_f00d ^ target.len() as u64);
    for seed in &seeds {
        check(seed);
    }
    for _ in 0..mutations {
        let seed = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        check(&rng.mutate(seed, other));
    }
    for _ in 0..100 {
        let random: Vec<u8> = (0..rng.below(300)).map(|_| rng.next_u64() as u8).collect();
        check(&random);
    }
    seeds.len() + mutations + 100
}

#[test]
fn the_config_loader_survives_mutated_configs() {
    // The seeds parse: the mutations start from real configs.
    for seed in seeds("config") {
        let text = String::from_utf8(seed).unwrap();
        floodlight_pipeline::config::Config::parse(&text, Path::new("seed.toml")).expect("a seed config parses");
    }
    assert!(smoke("config", 3000, check_config) > 3000);
}

#[test]
fn the_rule_loader_survives_mutated_rules() {
    for seed in seeds("rules") {
        let text = String::from_utf8(seed).unwrap();
        floodlight_pipeline::detect::rule::RuleDef::parse(Path::new("seed.toml"), &text, None)
            .expect("a seed rule parses");
    }
    assert!(smoke("rules", 3000, check_rule) > 3000);
}

#[test]
fn the_enrichment_readers_survive_mutated_inputs() {
    assert!(smoke("enrichment", 3000, check_enrichment) > 3000);
}

#[test]
fn the_query_guard_survives_mutated_sql() {
    // Its verdicts on the seeds are the documented ones: reads pass, writes do not.
    let verdicts: Vec<bool> = seeds("query_guard")
        .iter()
        .map(|s| floodlight_analyst::guard::check_read_only(std::str::from_utf8(s).unwrap()).is_ok())
        .collect();
    assert!(verdicts.contains(&true) && verdicts.contains(&false), "{verdicts:?}");
    assert!(
        smoke("query_guard", 5000, |data| {
            if let Ok(sql) = std::str::from_utf8(data) {
                let _ = floodlight_analyst::guard::check_read_only(sql);
            }
        }) > 5000
    );
}
