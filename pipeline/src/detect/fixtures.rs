//! Rule tests: raw vendor events in, expected findings out.
//!
//! Beside each rule `queries/<family>/<ID>-<slug>.toml`, the folder
//! `queries/<family>/fixtures/<ID>/` holds test cases, one TOML file each:
//!
//! ```toml
//! description = "an upload to iLovePDF raises one finding"
//! # optional: an overlay for this case (as `enrichments.overlay` holds it)
//! # and the UTC date its expiries are judged on (default: today)
//! overlay = """
//! [[app]]
//! id = "ilovepdf"
//! status = "unsanctioned"
//! reason = "Use Acrobat"
//! """
//! today = "2026-11-24"
//! [[input]]                  # one or more; each is a stream of its own
//! format = "panos"           # any input format id
//! data = """
//! <raw log lines exactly as the vendor writes them>
//! """                        # or: file = "upload.log" (next to the case file)
//! [params]                   # optional: parameter overrides for this case
//! min_bytes_out = 1
//! [[expect]]                 # one table per expected finding; only the keys given are compared
//! user = "corp\\ana.pereira"
//! app_id = "ilovepdf"
//! event_count = 2
//! ```
//!
//! A negative case says `findings = 0` (and no `[[expect]]`). Every case runs
//! the real stages: the input format's decoder, the enrichment stage with
//! the bundled data of the demo organisation (`corp.example.com`, its
//! networks `89.160.20.112/28` and `10.0.0.0/8`, the MaxMind test
//! databases, the bundled catalog), then the rule alone, with fresh state,
//! as a run would (lateness, watermarks, one evaluation interval at a time;
//! everything pending is evaluated at the end). A dead-lettered or late line
//! fails the case. The findings (each one's last revision) must be exactly
//! the expected ones: as many, and each `[[expect]]` matched by a different
//! finding whose fields equal the given values (`evidence.<name>` reads a column of the rule output
//! kept in the finding's evidence).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use tokio_util::sync::CancellationToken;

use super::{rule_texts, DetectionEngine, RuleDef, RuleSource};
use crate::ack::AckToken;
use crate::decode::decoder_for;
use crate::event_time::{StreamClocks, StreamRegistry, Watermarks};
use crate::runtime::{process, VendorFieldsPolicy, WorkerContext};
use crate::schema::{ClassSchemas, Finding, Timestamp};
use crate::source::{RawBatch, RawRecord};
use crate::transform::Enricher;

/// A test case file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// What the case shows.
    #[serde(default)]
    pub description: Option<String>,
    /// The raw input, in order.
    pub input: Vec<InputFile>,
    /// Parameter overrides for this case.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// An overlay (TOML, as `enrichments.overlay` holds it) applied to the
    /// bundled default for this case.
    #[serde(default)]
    pub overlay: Option<String>,
    /// The UTC date the overlay's expiries are judged on (default: today).
    #[serde(default)]
    pub today: Option<floodlight_enrichments::Date>,
    /// Expected number of findings (default: the number of `[[expect]]`).
    #[serde(default)]
    pub findings: Option<usize>,
    /// Expected findings.
    #[serde(default)]
    pub expect: Vec<toml::Table>,
}

/// One input of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Input format id.
    pub format: String,
    /// Raw lines.
    #[serde(default)]
    pub data: Option<String>,
    /// A file with raw lines, relative to the case file.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

/// A case found beside a rule.
#[derive(Debug, Clone)]
pub struct Case {
    /// The rule id (the fixture folder's name).
    pub rule_id: String,
    /// The case file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Rule id.
    pub rule_id: String,
    /// Case name (file stem).
    pub case: String,
    /// What the case shows.
    pub description: String,
    /// Findings the rule raised.
    pub found: usize,
    /// `None` when the case passed, else what went wrong.
    pub failure: Option<String>,
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Every case under the rule source's fixture folders (embedded or on disk), sorted.
pub fn cases(source: &RuleSource) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    match source {
        RuleSource::Embedded => {
            fn walk(dir: &include_dir::Dir<'static>, out: &mut Vec<Case>) {
                for d in dir.dirs() {
                    if d.path().file_name().is_some_and(|n| n == "fixtures") {
                        for rule_dir in d.dirs() {
                            let id = rule_dir
                                .path()
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            for f in rule_dir.files().filter(|f| f.path().extension().is_some_and(|e| e == "toml")) {
                                out.push(Case {
                                    rule_id: id.clone(),
                                    path: Path::new("queries").join(f.path()),
                                    text: f.contents_utf8().unwrap_or_default().to_string(),
                                });
                            }
                        }
                    } else {
                        walk(d, out);
                    }
                }
            }
            walk(&super::EMBEDDED_RULES, &mut out);
        }
        RuleSource::Dirs(dirs) => {
            for dir in dirs {
                let mut stack = vec![dir.clone()];
                while let Some(d) = stack.pop() {
                    let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
                    for entry in entries {
                        let p = entry.map_err(|e| format!("{}: {e}", d.display()))?.path();
                        if !p.is_dir() {
                            continue;
                        }
                        if p.file_name().is_some_and(|n| n == "fixtures") {
                            for rule_dir in std::fs::read_dir(&p).map_err(|e| format!("{}: {e}", p.display()))? {
                                let rule_dir = rule_dir.map_err(|e| format!("{}: {e}", p.display()))?.path();
                                if !rule_dir.is_dir() {
                                    continue;
                                }
                                let id =
                                    rule_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                                for f in
                                    std::fs::read_dir(&rule_dir).map_err(|e| format!("{}: {e}", rule_dir.display()))?
                                {
                                    let f = f.map_err(|e| format!("{}: {e}", rule_dir.display()))?.path();
                                    if f.extension().is_some_and(|e| e == "toml") {
                                        let text =
                                            std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                                        out.push(Case { rule_id: id.clone(), path: f, text });
                                    }
                                }
                            }
                        } else {
                            stack.push(p);
                        }
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.rule_id, &a.path).cmp(&(&b.rule_id, &b.path)));
    Ok(out)
}

/// Run every case of `source` (optionally only rules whose id or path
/// contains `filter`), with `overrides` (config parameter overrides) under
/// each case's own parameters. Rules without any case are reported too.
pub async fn run(
    source: &RuleSource,
    overrides: &BTreeMap<String, BTreeMap<String, toml::Value>>,
    filter: Option<&str>,
) -> Result<Vec<CaseResult>, String> {
    let (texts, errors) = rule_texts(source);
    if let Some(e) = errors.first() {
        return Err(e.to_string());
    }
    let mut results = Vec::new();
    let all = cases(source)?;
    for (path, text) in &texts {
        let Some(id) = super::peek_id(text) else { continue };
        if filter.is_some_and(|f| !id.contains(f) && !path.to_string_lossy().contains(f)) {
            continue;
        }
        let mine: Vec<&Case> = all.iter().filter(|c| c.rule_id == id).collect();
        if mine.is_empty() {
            results.push(CaseResult {
                rule_id: id.clone(),
                case: "-".into(),
                description: String::new(),
                found: 0,
                failure: Some(format!("no test cases in fixtures/{id}/ next to {}", path.display())),
            });
        }
        for case in mine {
            results.push(run_case(path, text, case, overrides.get(&id)).await);
        }
    }
    Ok(results)
}

async fn run_case(
    rule_path: &Path,
    rule_text: &str,
    case: &Case,
    overrides: Option<&BTreeMap<String, toml::Value>>,
) -> CaseResult {
    let name = case.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut result =
        CaseResult { rule_id: case.rule_id.clone(), case: name, description: String::new(), found: 0, failure: None };
    match execute(rule_path, rule_text, case, overrides).await {
        Ok((description, failure, found)) => {
            result.description = description;
            result.failure = failure;
            result.found = found;
        }
        Err(e) => result.failure = Some(e),
    }
    result
}

/// Run one case: (description, failure, findings raised).
async fn execute(
    rule_path: &Path,
    rule_text: &str,
    case: &Case,
    overrides: Option<&BTreeMap<String, toml::Value>>,
) -> Result<(String, Option<String>, usize), String> {
    let file: CaseFile = toml::from_str(&case.text).map_err(|e| format!("{}: {}", case.path.display(), e.message()))?;
    let mut params = overrides.cloned().unwrap_or_default();
    params.extend(file.params.clone());
    let def =
        RuleDef::parse(rule_path, rule_text, (!params.is_empty()).then_some(&params)).map_err(|e| e.to_string())?;
    let schemas = ClassSchemas::builtin();
    let engine = DetectionEngine::compile(vec![def], &schemas)
        .await
        .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))?;
    let mut snapshot = floodlight_enrichments::Enrichments::embedded_default().map_err(|e| e.to_string())?;
    if let Some(text) = &file.overlay {
        let origin = format!("{} (overlay)", case.path.display());
        let overlay = floodlight_enrichments::Overlay::from_toml(text, &origin).map_err(|e| e.to_string())?;
        let today = file.today.unwrap_or_else(floodlight_enrichments::Date::today_utc);
        snapshot = snapshot.with_overlay(&overlay, today).map_err(|e| e.to_string())?;
    }
    let engine = Arc::new(engine);
    // Each input is a stream of its own, as a source's file would be; the
    // rule sees them as a run would: lateness, watermarks, one interval at a time.
    let registry = StreamRegistry::new(Duration::from_secs(60), Duration::from_secs(30));
    let opener = registry.opener(None);
    let mut marks = Watermarks::new(registry.clone());
    let ctx = WorkerContext {
        enricher: Arc::new(Enricher::new(Arc::new(snapshot), schemas)),
        engine: engine.clone(),
        clocks: StreamClocks::new(Some(registry.clone())),
        registry: Some(registry.clone()),
        stop: CancellationToken::new(),
        // As a run without an events sink would: the rules' needs decide.
        vendor_fields: VendorFieldsPolicy::Auto { events_written: false },
        send_events: false,
    };
    let mut decoders = HashMap::new();
    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    let out = AckToken::detached(0);
    // Every input's stream is registered before any is read, as a source
    // registers its files: none is late merely for being read second.
    let mut streams: Vec<_> = (0..file.input.len())
        .map(|n| {
            let label = format!("fixture:{}#{}", case.path.display(), n + 1);
            Some(opener.open(&label, &label))
        })
        .collect();
    for (n, input) in file.input.iter().enumerate() {
        if decoder_for(&input.format).is_none() {
            return Err(format!("{}: input {}: unknown format `{}`", case.path.display(), n + 1, input.format));
        }
        let data = match (&input.data, &input.file) {
            (Some(d), None) => d.clone(),
            (None, Some(f)) => {
                let p = case.path.parent().unwrap_or(Path::new(".")).join(f);
                std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?
            }
            _ => {
                return Err(format!("{}: input {} needs exactly one of `data` and `file`", case.path.display(), n + 1))
            }
        };
        let Some(mut stream) = streams.get_mut(n).and_then(Option::take) else { continue };
        for mut batch in batches(&case.path, n, &input.format, &data) {
            batch.pos = stream.next_pos(batch.pos.position);
            let processed = process(&batch, &mut decoders, &ctx).await;
            if let Some(dl) = processed.output.dead_letters.first() {
                return Err(format!(
                    "{}: input {}: a line was dead-lettered: {}",
                    case.path.display(),
                    n + 1,
                    dl.reason
                ));
            }
            marks.received(&processed.pos, processed.newest);
            let mut late = engine.take_in(&ctx.enricher, processed.matched, processed.deferred, &out).await;
            let (raised, released_late) =
                engine.advance_all(Some(&marks.frontier(Instant::now())), &ctx.enricher, Timestamp::now(), &out).await;
            late.extend(released_late);
            if let Some(late) = late.first() {
                return Err(format!(
                    "{}: input {}: a row came late for the rule: {}",
                    case.path.display(),
                    n + 1,
                    late.row
                ));
            }
            for f in raised {
                findings.insert(f.finding_id.clone(), f);
            }
        }
        stream.finish();
    }
    let (raised, late) = engine.advance_all(None, &ctx.enricher, Timestamp::now(), &out).await;
    if let Some(late) = late.first() {
        return Err(format!("{}: a row came late for the rule: {}", case.path.display(), late.row));
    }
    for f in raised {
        findings.insert(f.finding_id.clone(), f);
    }
    let findings: Vec<Finding> = findings.into_values().collect();
    let found = findings.len();
    let description = file.description.clone().unwrap_or_default();
    Ok((description, compare(&file, &findings), found))
}

/// The input's lines as raw batches, a new batch at every header (`#`) line.
fn batches(path: &Path, n: usize, format: &str, data: &str) -> Vec<RawBatch> {
    let source: Arc<str> = Arc::from(format!("fixture:{}#{}", path.display(), n + 1));
    let mut out = Vec::new();
    let mut headers: Vec<Bytes> = Vec::new();
    let mut records = Vec::new();
    let flush = |records: &mut Vec<RawRecord>, headers: &[Bytes], out: &mut Vec<RawBatch>| {
        if !records.is_empty() {
            out.push(RawBatch {
                source: source.clone(),
                partition: None,
                format: Arc::from(format),
                headers: Arc::from(headers.to_vec()),
                records: std::mem::take(records),
                ack: AckToken::detached(0),
                pos: crate::event_time::StreamPos::detached(),
            });
        }
    };
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') {
            flush(&mut records, &headers, &mut out);
            headers.push(Bytes::copy_from_slice(line.as_bytes()));
            continue;
        }
        records.push(RawRecord::new(i as u64 + 1, Bytes::copy_from_slice(line.as_bytes())));
    }
    flush(&mut records, &headers, &mut out);
    out
}

fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Whether the finding's `key` (a field, or `evidence.<name>`) equals `want`.
fn field_matches(
    finding: &serde_json::Map<String, Value>,
    evidence: &serde_json::Map<String, Value>,
    key: &str,
    want: &Value,
) -> bool {
    let got = match key.strip_prefix("evidence.") {
        Some(k) => evidence.get(k),
        None => finding.get(key),
    };
    match (got, want) {
        (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Some(Value::String(a)), Value::String(b)) => a == b,
        (Some(Value::Array(a)), Value::Array(b)) => a == b,
        (Some(Value::String(a)), other) => a.as_str() == other.to_string().as_str(),
        (Some(a), b) => a == b,
        (None, _) => false,
    }
}

fn summary(f: &Finding) -> String {
    format!(
        "{} user={} app={} src_ip={} events={}",
        f.rule_id,
        f.user.as_deref().unwrap_or("-"),
        f.app_id.as_deref().unwrap_or("-"),
        f.src_ip.as_deref().unwrap_or("-"),
        f.event_count.unwrap_or(0)
    )
}

/// `None` when the findings are exactly the expected ones.
fn compare(file: &CaseFile, findings: &[Finding]) -> Option<String> {
    let expected_count = file.findings.unwrap_or(file.expect.len());
    let mut problems = Vec::new();
    if findings.len() != expected_count {
        problems.push(format!("expected {expected_count} finding(s), got {}", findings.len()));
    }
    let rendered: Vec<(serde_json::Map<String, Value>, serde_json::Map<String, Value>)> = findings
        .iter()
        .map(|f| {
            let m = match serde_json::to_value(f) {
                Ok(Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            let ev = f
                .evidence
                .as_deref()
                .and_then(|e| serde_json::from_str::<Value>(e).ok())
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            (m, ev)
        })
        .collect();
    let mut used = vec![false; findings.len()];
    for (i, want) in file.expect.iter().enumerate() {
        let hit = rendered
            .iter()
            .enumerate()
            .position(|(j, (m, ev))| !used[j] && want.iter().all(|(k, v)| field_matches(m, ev, k, &toml_to_json(v))));
        match hit {
            Some(j) => used[j] = true,
            None => problems
                .push(format!("expect[{i}] {} matched no finding", toml_to_json(&toml::Value::Table(want.clone())))),
        }
    }
    if !problems.is_empty() {
        let got: Vec<String> = findings.iter().map(summary).collect();
        problems.push(format!("findings: [{}]", got.join("; ")));
        return Some(problems.join("; "));
    }
    None
}
