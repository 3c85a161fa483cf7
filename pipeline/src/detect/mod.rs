//! Detection: SQL rules from `queries/`, compiled once, run per micro-batch.
//!
//! * [`rule`] — the rule file format (TOML metadata + SQL) and its validation.
//! * [`engine`] — DataFusion plumbing: micro-batch tables, compile once, execute many.
//! * [`findings`] — rule output rows → [`Finding`]s (entity, app, evidence, message, id).
//! * [`dedup`] — one finding per rule, key and window.
//!
//! [`DetectionEngine`] ties them together: it loads every enabled rule,
//! plans each one once at start-up, and for every enriched batch runs the
//! rules of that batch's class.

pub mod dedup;
pub mod engine;
pub mod findings;
pub mod rule;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use include_dir::{include_dir, Dir};
use tracing::Instrument;

use crate::internal_events::{emit, RuleFailed};
use crate::schema::{ClassSchemas, EventClass, Finding, Timestamp};
pub use rule::{RuleDef, RuleError};

/// The rule pack shipped with floodlight (`queries/`), compiled into the binary.
static EMBEDDED_RULES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../queries");

/// Where rules come from.
#[derive(Debug, Clone)]
pub enum RuleSource {
    /// The rule pack compiled into the binary.
    Embedded,
    /// Every `*.toml` under these directories (fixture folders excluded).
    Dirs(Vec<PathBuf>),
}

/// Per-rule settings from config.
#[derive(Debug, Clone, Default)]
pub struct RuleSettings {
    /// Rule ids not to load.
    pub disabled: Vec<String>,
    /// Parameter overrides per rule id.
    pub params: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

/// Read and validate every rule (no compilation yet). Errors are collected,
/// not short-circuited, so `validate` reports all of them at once.
pub fn load_rules(source: &RuleSource, settings: &RuleSettings) -> (Vec<RuleDef>, Vec<RuleError>) {
    let mut results: Vec<Result<RuleDef, RuleError>> = Vec::new();
    match source {
        RuleSource::Embedded => {
            let mut files = Vec::new();
            collect_embedded(&EMBEDDED_RULES, &mut files);
            files.sort_by(|a, b| a.0.cmp(&b.0));
            for (path, text) in files {
                let p = Path::new("queries").join(&path);
                let id = peek_id(&text);
                results.push(RuleDef::parse(&p, &text, id.as_deref().and_then(|i| settings.params.get(i))));
            }
        }
        RuleSource::Dirs(dirs) => {
            for dir in dirs {
                match rule::rule_files(dir) {
                    Ok(files) => {
                        for f in files {
                            let text = match std::fs::read_to_string(&f) {
                                Ok(t) => t,
                                Err(e) => {
                                    results.push(Err(RuleError {
                                        path: f.clone(),
                                        line: None,
                                        message: format!("cannot read: {e}"),
                                    }));
                                    continue;
                                }
                            };
                            let id = peek_id(&text);
                            results.push(RuleDef::parse(&f, &text, id.as_deref().and_then(|i| settings.params.get(i))));
                        }
                    }
                    Err(e) => results.push(Err(RuleError {
                        path: dir.clone(),
                        line: None,
                        message: format!("cannot list rule directory: {e}"),
                    })),
                }
            }
        }
    }
    let mut defs = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(d) => defs.push(d),
            Err(e) => errors.push(e),
        }
    }
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut unique = Vec::new();
    for d in defs {
        if let Some(first) = seen.get(d.id()) {
            errors.push(RuleError {
                path: d.path.clone(),
                line: Some(1),
                message: format!("rule id {} is already used by {}", d.id(), first.display()),
            });
            continue;
        }
        seen.insert(d.id().to_string(), d.path.clone());
        unique.push(d);
    }
    for id in settings.params.keys().chain(settings.disabled.iter()) {
        if !seen.contains_key(id) {
            errors.push(RuleError {
                path: PathBuf::from("config"),
                line: None,
                message: format!(
                    "rules: no rule has id `{id}` (known: {})",
                    seen.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }
    let enabled =
        unique.into_iter().filter(|d| d.file.enabled && !settings.disabled.iter().any(|x| x == d.id())).collect();
    (enabled, errors)
}

fn collect_embedded(dir: &Dir<'static>, out: &mut Vec<(PathBuf, String)>) {
    for f in dir.files() {
        if f.path().extension().is_some_and(|e| e == "toml") {
            if let Some(text) = f.contents_utf8() {
                out.push((f.path().to_path_buf(), text.to_string()));
            }
        }
    }
    for d in dir.dirs() {
        if d.path().file_name().is_some_and(|n| n != "fixtures") {
            collect_embedded(d, out);
        }
    }
}

/// The `id = "..."` of a rule file, read before full parsing so config
/// overrides can be applied during it.
fn peek_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: String,
    }
    // Unknown-field tolerant on purpose: only the id is wanted here.
    let v: toml::Value = toml::from_str(text).ok()?;
    let id: IdOnly = v.try_into().ok()?;
    Some(id.id)
}

/// A rule planned once, ready to run on any batch of its class.
pub struct CompiledRule {
    /// The rule definition.
    pub def: RuleDef,
    plan: Arc<dyn ExecutionPlan>,
}

/// Every enabled rule, planned, grouped by class.
pub struct DetectionEngine {
    rules: Vec<CompiledRule>,
    base_task: Arc<TaskContext>,
}

impl DetectionEngine {
    /// Plan every rule. Errors name the rule file and the line of its SQL.
    pub async fn compile(defs: Vec<RuleDef>, schemas: &ClassSchemas) -> Result<DetectionEngine, Vec<RuleError>> {
        let session = engine::rule_session(schemas).map_err(|e| {
            vec![RuleError { path: PathBuf::from("<engine>"), line: None, message: engine::error_text(&e) }]
        })?;
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for def in defs {
            match engine::compile(&session, &def.sql).await {
                Ok(plan) => {
                    let out = plan.schema();
                    let missing: Vec<&String> =
                        def.file.dedup.key.iter().filter(|k| out.field_with_name(k).is_err()).collect();
                    if !missing.is_empty() {
                        errors.push(RuleError {
                            path: def.path.clone(),
                            line: Some(def.sql_line),
                            message: format!(
                                "dedup.key column(s) {} are not returned by the sql (it returns: {})",
                                missing.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
                                out.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        });
                        continue;
                    }
                    rules.push(CompiledRule { def, plan })
                }
                Err(e) => errors.push(RuleError {
                    path: def.path.clone(),
                    line: Some(def.sql_line),
                    message: format!("sql does not compile: {}", engine::error_text(&e)),
                }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DetectionEngine { rules, base_task: session.task_ctx() })
    }

    /// The compiled rules.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// Run every rule of `class` over one enriched batch. A failing rule is
    /// logged and counted; the others still run.
    pub async fn detect(&self, class: EventClass, batch: &RecordBatch, now: Timestamp) -> Vec<Finding> {
        let mut out = Vec::new();
        if batch.num_rows() == 0 {
            return out;
        }
        for rule in self.rules.iter().filter(|r| r.def.class == class) {
            let span = tracing::debug_span!("rule", rule = rule.def.id(), class = class.as_str());
            let task = engine::task_context(&self.base_task, engine::MicroBatchInput { class, batch: batch.clone() });
            let result = engine::execute(&rule.plan, task).instrument(span).await;
            match result {
                Ok(batches) => {
                    for b in batches {
                        match findings::findings_from_batch(&rule.def, &b, now) {
                            Ok(f) => out.extend(f),
                            Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &e }),
                        }
                    }
                }
                Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &engine::error_text(&e) }),
            }
        }
        out
    }
}
