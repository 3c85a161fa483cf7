//! Sigma rules in and out, through the real binary (`floodlight rules
//! import-sigma` / `export-sigma`) and the real fixture runner.
//!
//! * Every document of `tests/data/sigma/` (public SigmaHQ rules and
//!   sigma-specification correlations, copied with their licences, plus the
//!   rules of `floodlight/` written for these tests) is converted or refused
//!   exactly as `tests/data/sigma/expected.toml` says, with the reason.
//! * Every converted rule fires on its positive cases and not on its negative
//!   ones (`tests/data/sigma/cases/<rule id>/`), run by the fixture runner
//!   over the real decoders and enrichment.
//! * Shipped rules that Sigma can express are exported, imported back, and
//!   the round trip finds what the original finds on the original's cases.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use floodlight_pipeline::detect::fixtures;
use floodlight_pipeline::detect::RuleSource;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_floodlight");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn floodlight(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).current_dir(root()).output().expect("floodlight runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Import with `--json`; the outcome of each document.
fn import(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["rules", "import-sigma", "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = floodlight(&all);
    assert_eq!(code, 0, "import-sigma failed: {stderr}");
    stdout.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect()
}

fn rel(file: &str) -> String {
    file.trim_start_matches("tests/data/sigma/").to_string()
}

#[test]
fn every_sigma_document_is_converted_or_refused_as_expected() {
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().to_string_lossy().into_owned();
    let got = import(&["tests/data/sigma", "--license", "DRL-1.1", "--dry-run", "--out", &dest]);
    let expected: toml::Table =
        toml::from_str(&fs::read_to_string(root().join("tests/data/sigma/expected.toml")).expect("expected.toml"))
            .expect("expected.toml parses");
    let docs = expected["document"].as_array().expect("[[document]]");
    assert_eq!(got.len(), docs.len(), "one outcome per document: {got:#?}");
    let mut by_key = BTreeMap::new();
    for g in &got {
        by_key.insert((rel(g["file"].as_str().unwrap_or_default()), g["document"].as_u64().unwrap_or(0)), g);
    }
    for d in docs {
        let file = d["file"].as_str().expect("file");
        let index = d.get("document").and_then(|v| v.as_integer()).unwrap_or(0) as u64;
        let g = by_key.get(&(file.to_string(), index)).unwrap_or_else(|| panic!("no outcome for {file} #{index}"));
        if let Some(mode) = d.get("converted") {
            assert_eq!(g["result"], "converted", "{file} #{index}: {g}");
            assert_eq!(g["mode"].as_str(), mode.as_str(), "{file} #{index}");
            assert_eq!(g["rule_id"].as_str(), d["rule_id"].as_str(), "{file} #{index}");
        } else if let Some(corr) = d.get("part_of") {
            assert_eq!(g["result"], "part_of", "{file} #{index}: {g}");
            assert_eq!(g["correlation"].as_str(), corr.as_str(), "{file} #{index}");
        } else {
            assert_eq!(g["result"], "refused", "{file} #{index}: {g}");
            assert_eq!(g["kind"].as_str(), d["refused"].as_str(), "{file} #{index}: {g}");
            let hint = d["reason_contains"].as_str().expect("reason_contains");
            let reason = g["reason"].as_str().unwrap_or_default();
            assert!(reason.contains(hint), "{file} #{index}: reason `{reason}` does not name `{hint}`");
        }
    }
    // The public corpus: at least 40 rules of the log sources floodlight reads, correlations among them.
    let public: Vec<_> =
        got.iter().filter(|g| !rel(g["file"].as_str().unwrap_or_default()).starts_with("floodlight/")).collect();
    assert!(public.len() >= 40, "{} public Sigma documents", public.len());
    let converted = |dir: &str| {
        got.iter()
            .filter(|g| g["result"] == "converted" && rel(g["file"].as_str().unwrap_or_default()).starts_with(dir))
            .count()
    };
    assert!(converted("proxy/") >= 4 && converted("dns/") >= 4 && converted("okta/") >= 2, "{got:#?}");
    let modes: Vec<&str> = got.iter().filter_map(|g| g["mode"].as_str()).collect();
    for mode in ["streaming", "windowed", "correlation"] {
        assert!(modes.contains(&mode), "no {mode} rule converted");
    }
    let kinds: Vec<&str> = got.iter().filter_map(|g| g["kind"].as_str()).collect();
    for kind in [
        "unmapped field",
        "unmapped logsource",
        "event type not decoded",
        "logsource not read",
        "deprecated aggregation",
        "unsupported modifier",
        "unsupported regex",
        "unsupported match",
        "unsupported correlation",
        "missing rule",
        "malformed correlation",
        "keywords",
    ] {
        assert!(kinds.contains(&kind), "no refusal of kind `{kind}` is exercised");
    }
    // Dry run: nothing written.
    assert!(fs::read_dir(out.path()).map(|mut d| d.next().is_none()).unwrap_or(true));
}

/// Copy each converted rule's cases beside it, as an engineer would.
fn add_cases(dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).expect("out dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("rule file");
        let rule: toml::Table = toml::from_str(&text).expect("rule parses");
        let id = rule["id"].as_str().expect("id").to_string();
        let cases = root().join("tests/data/sigma/cases").join(&id);
        assert!(cases.is_dir(), "converted rule {id} ({}) has no cases in tests/data/sigma/cases", path.display());
        let target = dir.join("fixtures").join(&id);
        fs::create_dir_all(&target).expect("fixtures dir");
        let (mut positive, mut negative) = (false, false);
        for c in fs::read_dir(&cases).expect("cases") {
            let c = c.expect("case").path();
            let case = fs::read_to_string(&c).expect("case text");
            if case.contains("findings = 0") {
                negative = true;
            } else if case.contains("[[expect]]") {
                positive = true;
            }
            fs::copy(&c, target.join(c.file_name().expect("name"))).expect("copy case");
        }
        assert!(positive && negative, "{id} needs a positive and a negative case");
        ids.push(id);
    }
    ids
}

fn run_cases(dir: &Path) -> Vec<fixtures::CaseResult> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(fixtures::run(&RuleSource::Dirs(vec![dir.to_path_buf()]), &BTreeMap::new(), None)).expect("cases run")
}

#[test]
fn converted_rules_fire_on_positive_events_and_not_on_negative_ones() {
    let out = tempfile::tempdir().expect("tempdir");
    let public = out.path().join("public");
    let keywords = out.path().join("keywords");
    let p = public.to_string_lossy().into_owned();
    let k = keywords.to_string_lossy().into_owned();
    import(&["tests/data/sigma", "--license", "DRL-1.1", "--out", &p]);
    import(&[
        "tests/data/sigma/floodlight/modifiers.yml",
        "--mapping",
        "tests/data/sigma/floodlight/keywords-mapping.toml",
        "--out",
        &k,
    ]);
    // What was written keeps the Sigma rule's provenance.
    let paste = fs::read_to_string(public.join("proxy_raw_paste_service_access.toml")).expect("written");
    for needle in [
        "family = \"imported\"",
        "author = \"Florian Roth (Nextron Systems)\"",
        "license = \"DRL-1.1\"",
        "[imported]",
        "id = \"5468045b-4fcc-4d1a-973c-c9c9578edacb\"",
        "\"T1102.001\"",
        "severity = \"high\"",
    ] {
        assert!(paste.contains(needle), "missing `{needle}` in:\n{paste}");
    }
    let mut ids = add_cases(&public);
    ids.extend(add_cases(&keywords));
    assert!(ids.len() >= 15, "{ids:?}");
    let mut results = run_cases(&public);
    results.extend(run_cases(&keywords));
    let failed: Vec<String> =
        results.iter().filter_map(|r| r.failure.as_ref().map(|f| format!("{} {}: {f}", r.rule_id, r.case))).collect();
    assert!(failed.is_empty(), "failing cases:\n{}", failed.join("\n"));
    for id in &ids {
        let mine: Vec<_> = results.iter().filter(|r| &r.rule_id == id).collect();
        assert!(mine.iter().any(|r| r.found > 0), "{id}: no case raised a finding");
        assert!(mine.iter().any(|r| r.found == 0), "{id}: no case raised nothing");
    }
}

#[test]
fn shipped_rules_sigma_can_express_round_trip_through_sigma() {
    let out = tempfile::tempdir().expect("tempdir");
    let sigma_dir = out.path().join("sigma");
    fs::create_dir_all(&sigma_dir).expect("dir");
    // docs/rules.md names the shipped rules that export; every other one is refused with a reason.
    let doc = fs::read_to_string(root().join("docs/rules.md")).expect("docs/rules.md");
    let sentence =
        doc.split("Of the shipped pack, ").nth(1).and_then(|s| s.split(" export;").next()).expect("the list");
    let documented: Vec<String> =
        sentence.split([',', ' ', '\n']).filter(|w| w.contains('-')).map(|w| w.trim().to_string()).collect();
    let shipped = (1..=10)
        .map(|n| format!("SS-{n:02}"))
        .chain((1..=7).map(|n| format!("PF-{n:02}")))
        .chain((1..=3).map(|n| format!("WF-{n:02}")));
    let mut exported = Vec::new();
    for id in shipped {
        let (code, yaml, stderr) = floodlight(&["rules", "export-sigma", &id]);
        if code == 0 {
            assert!(yaml.contains("product: floodlight") && yaml.contains(&format!("floodlight_id: {id}")), "{yaml}");
            fs::write(sigma_dir.join(format!("{id}.yml")), &yaml).expect("write");
            exported.push(id);
        } else {
            assert_eq!(code, 1, "{id}: {stderr}");
            assert!(stderr.contains("cannot be exported to Sigma: "), "{id}: {stderr}");
        }
    }
    assert_eq!(exported, documented, "docs/rules.md lists the rules that export");
    let back = out.path().join("back");
    let b = back.to_string_lossy().into_owned();
    let s = sigma_dir.to_string_lossy().into_owned();
    let got = import(&[&s, "--out", &b]);
    assert_eq!(got.len(), exported.len());
    for g in &got {
        assert_eq!(g["result"], "converted", "{g}");
    }
    // The original's cases, pointed at the round-tripped rule: negative cases
    // stay silent, positive cases still raise findings.
    let mut expectations = Vec::new();
    for g in &got {
        let id = rel(g["file"].as_str().unwrap_or_default());
        let original = Path::new(&id).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let new_id = g["rule_id"].as_str().expect("rule id").to_string();
        let family = match &original[..2] {
            "SS" => "shadow_saas",
            "PF" => "email_forwarding",
            _ => "public_network",
        };
        let from = root().join("queries").join(family).join("fixtures").join(&original);
        let to = back.join("fixtures").join(&new_id);
        fs::create_dir_all(&to).expect("fixtures");
        for c in fs::read_dir(&from).expect("original cases") {
            let c = c.expect("case").path();
            let name = c.file_name().expect("name").to_owned();
            if c.extension().is_none_or(|e| e != "toml") {
                fs::copy(&c, to.join(&name)).expect("copy data");
                continue;
            }
            let mut case: toml::Table = toml::from_str(&fs::read_to_string(&c).expect("case")).expect("case parses");
            let negative = case.get("findings").and_then(|f| f.as_integer()) == Some(0);
            case.remove("params");
            if !negative {
                let mut e = toml::Table::new();
                e.insert("rule_id".into(), new_id.clone().into());
                case.insert("expect".into(), toml::Value::Array(vec![toml::Value::Table(e)]));
            }
            fs::write(to.join(&name), toml::to_string(&case).expect("case toml")).expect("write case");
            let stem = Path::new(&name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            expectations.push((new_id.clone(), original.clone(), stem, negative));
        }
    }
    let results = run_cases(&back);
    for (id, original, case, negative) in &expectations {
        let r = results
            .iter()
            .find(|r| &r.rule_id == id && &r.case == case)
            .unwrap_or_else(|| panic!("{original} case {case} did not run"));
        if *negative {
            assert_eq!(r.found, 0, "{original} {case}: the round trip raised findings the original does not");
        } else {
            assert!(r.found > 0, "{original} {case}: the round trip misses what the original finds");
        }
    }
    assert!(expectations.iter().any(|e| e.3) && expectations.iter().any(|e| !e.3));
}
