//! Detection: SQL rules from `queries/`, compiled once, run per micro-batch.
//!
//! * [`rule`] — the rule file format (TOML metadata + SQL + mode settings) and its validation.
//! * [`engine`] — DataFusion plumbing: micro-batch tables, compile once, execute many.
//! * [`windowed`], [`first_seen`], [`correlation`] — the stateful modes.
//! * [`columns`] — reading rule output columns for the stateful modes.
//! * [`findings`] — rule output rows → [`Finding`]s (entity, app, evidence, message, id).
//! * [`dedup`] — one finding per rule, key and window, repeats counted.
//! * [`checkpoint`] — rule state on disk, consistent with what sinks wrote.
//! * [`fixtures`] — rule tests: raw vendor events in, expected findings out.
//!
//! [`DetectionEngine`] ties them together: it loads every enabled rule,
//! plans each of its queries once at start-up, and for every enriched batch
//! runs the rules that read that batch's class, folds their output into the
//! rule's state where the mode has one, and admits the findings through
//! dedup. Rules and their state are shared by all workers; state changes
//! take the checkpoint gate (no `.await` inside).

pub mod checkpoint;
pub mod columns;
pub mod correlation;
pub mod dedup;
pub mod engine;
pub mod findings;
pub mod first_seen;
pub mod fixtures;
pub mod reload;
pub mod rule;
pub mod windowed;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use arrow::record_batch::RecordBatch;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use include_dir::{include_dir, Dir};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::ack::AckToken;
use crate::internal_events::{
    emit, CheckpointWritten, FindingsRaised, RuleFailed, RuleLateEvents, RuleStateSize, RulesReloaded,
};
use crate::schema::{ClassSchemas, EventClass, Finding, Timestamp};
use checkpoint::Checkpoints;
use correlation::{CorrelationSpec, CorrelationState};
use dedup::DedupSet;
use first_seen::{FirstSeenSpec, FirstSeenState};
pub use reload::{watch as watch_rules, RuleWatch};
pub use rule::{ModeDef, RuleDef, RuleError};
use windowed::{WindowState, Windowing};

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

/// The text of every rule file of `source`, with its path (fixture folders
/// excluded), sorted; and the files that could not be read.
pub fn rule_texts(source: &RuleSource) -> (Vec<(PathBuf, String)>, Vec<RuleError>) {
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    match source {
        RuleSource::Embedded => {
            let mut files = Vec::new();
            collect_embedded(&EMBEDDED_RULES, &mut files);
            files.sort_by(|a, b| a.0.cmp(&b.0));
            texts.extend(files.into_iter().map(|(p, t)| (Path::new("queries").join(p), t)));
        }
        RuleSource::Dirs(dirs) => {
            for dir in dirs {
                match rule::rule_files(dir) {
                    Ok(files) => {
                        for f in files {
                            match std::fs::read_to_string(&f) {
                                Ok(t) => texts.push((f, t)),
                                Err(e) => errors.push(RuleError {
                                    path: f.clone(),
                                    line: None,
                                    message: format!("cannot read: {e}"),
                                }),
                            }
                        }
                    }
                    Err(e) => errors.push(RuleError {
                        path: dir.clone(),
                        line: None,
                        message: format!("cannot list rule directory: {e}"),
                    }),
                }
            }
        }
    }
    (texts, errors)
}

/// Read and validate every rule (no compilation yet). Errors are collected,
/// not short-circuited, so `validate` reports all of them at once.
pub fn load_rules(source: &RuleSource, settings: &RuleSettings) -> (Vec<RuleDef>, Vec<RuleError>) {
    let (texts, mut errors) = rule_texts(source);
    let mut defs = Vec::new();
    for (path, text) in texts {
        let id = peek_id(&text);
        match RuleDef::parse(&path, &text, id.as_deref().and_then(|i| settings.params.get(i))) {
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
pub(crate) fn peek_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: String,
    }
    // Unknown-field tolerant on purpose: only the id is wanted here.
    let v: toml::Value = toml::from_str(text).ok()?;
    let id: IdOnly = v.try_into().ok()?;
    Some(id.id)
}

/// How a compiled rule runs, with its state.
enum Kind {
    Streaming {
        plan: Arc<dyn ExecutionPlan>,
    },
    Windowed {
        plan: Arc<dyn ExecutionPlan>,
        windowing: Windowing,
        condition: Arc<dyn ExecutionPlan>,
        window_task: Arc<TaskContext>,
        state: Arc<Mutex<WindowState>>,
    },
    FirstSeen {
        plan: Arc<dyn ExecutionPlan>,
        spec: FirstSeenSpec,
        state: Arc<Mutex<FirstSeenState>>,
    },
    Correlation {
        first: (EventClass, Arc<dyn ExecutionPlan>),
        then: Vec<(EventClass, Arc<dyn ExecutionPlan>)>,
        spec: CorrelationSpec,
        state: Arc<Mutex<CorrelationState>>,
    },
}

/// A rule planned once, ready to run on any batch of the classes it reads.
pub struct CompiledRule {
    /// The rule definition.
    pub def: RuleDef,
    fingerprint: String,
    kind: Kind,
}

/// A rule's state as a checkpoint stores it. Externally tagged: an
/// internally tagged enum buffers its content, and buffered maps cannot
/// give back the integer keys windows use (serde-rs/serde#1183).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SavedState {
    Windowed { fingerprint: String, state: WindowState },
    FirstSeen { fingerprint: String, state: FirstSeenState },
    Correlation { fingerprint: String, state: CorrelationState },
}

/// A checkpoint file's content.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    version: u32,
    rules: BTreeMap<String, SavedState>,
    dedup: Option<DedupSet>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CompiledRule {
    fn state_keys(&self) -> Option<u64> {
        Some(match &self.kind {
            Kind::Streaming { .. } => return None,
            Kind::Windowed { state, .. } => lock(state).keys() as u64,
            Kind::FirstSeen { state, .. } => lock(state).keys() as u64,
            Kind::Correlation { state, .. } => lock(state).entities() as u64,
        })
    }

    fn save(&self) -> Option<SavedState> {
        let fingerprint = self.fingerprint.clone();
        Some(match &self.kind {
            Kind::Streaming { .. } => return None,
            Kind::Windowed { state, .. } => SavedState::Windowed { fingerprint, state: lock(state).clone() },
            Kind::FirstSeen { state, .. } => SavedState::FirstSeen { fingerprint, state: lock(state).clone() },
            Kind::Correlation { state, .. } => SavedState::Correlation { fingerprint, state: lock(state).clone() },
        })
    }

    fn restore(&self, saved: SavedState) -> bool {
        match (&self.kind, saved) {
            (Kind::Windowed { state, .. }, SavedState::Windowed { fingerprint, state: s })
                if fingerprint == self.fingerprint =>
            {
                *lock(state) = s
            }
            (Kind::FirstSeen { state, .. }, SavedState::FirstSeen { fingerprint, state: s })
                if fingerprint == self.fingerprint =>
            {
                *lock(state) = s
            }
            (Kind::Correlation { state, .. }, SavedState::Correlation { fingerprint, state: s })
                if fingerprint == self.fingerprint =>
            {
                *lock(state) = s
            }
            _ => return false,
        }
        true
    }

    /// Share `other`'s state (same rule, same fingerprint): used when a
    /// reload swaps in a recompiled rule whose state shape did not change.
    fn adopt_state(&mut self, other: &CompiledRule) {
        if self.fingerprint != other.fingerprint {
            return;
        }
        match (&mut self.kind, &other.kind) {
            (Kind::Windowed { state, .. }, Kind::Windowed { state: s, .. }) => *state = s.clone(),
            (Kind::FirstSeen { state, .. }, Kind::FirstSeen { state: s, .. }) => *state = s.clone(),
            (Kind::Correlation { state, .. }, Kind::Correlation { state: s, .. }) => *state = s.clone(),
            _ => {}
        }
    }
}

/// What every version of the engine shares across rule reloads: dedup and
/// the checkpoint gate.
pub struct Shared {
    dedup: Mutex<DedupSet>,
    checkpoints: Checkpoints,
}

impl Shared {
    /// Dedup remembering `dedup_capacity` ids; checkpoints in `state_dir`.
    pub fn new(dedup_capacity: usize, state_dir: Option<PathBuf>) -> Arc<Shared> {
        Arc::new(Shared { dedup: Mutex::new(DedupSet::new(dedup_capacity)), checkpoints: Checkpoints::new(state_dir) })
    }
}

/// Every enabled rule, planned, with its state. The rule set is swapped
/// whole on a reload ([`DetectionEngine::reload`]); a batch in flight
/// finishes on the set it started with.
pub struct DetectionEngine {
    set: ArcSwap<RuleSet>,
    shared: Arc<Shared>,
}

/// One generation of compiled rules and the task context they run in.
#[derive(Clone)]
pub struct RuleSet {
    rules: Vec<Arc<CompiledRule>>,
    base_task: Arc<TaskContext>,
}

impl RuleSet {
    /// The compiled rules, in load order.
    pub fn rules(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().map(|r| r.as_ref())
    }
}

/// What a reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// Rules new or changed (another fingerprint) and now running.
    pub swapped: Vec<String>,
    /// Rules no longer in the files, stopped.
    pub removed: Vec<String>,
    /// Rule errors; each rule named keeps its previous version running.
    pub rejected: Vec<String>,
}

fn compile_error(def: &RuleDef, what: &str, e: &datafusion::error::DataFusionError) -> RuleError {
    RuleError {
        path: def.path.clone(),
        line: Some(def.sql_line),
        message: format!("{what} does not compile: {}", engine::error_text(e)),
    }
}

impl DetectionEngine {
    /// Plan every rule with fresh state (dedup remembers 100,000 ids, no
    /// checkpoints). Errors name the rule file and the line of its SQL.
    pub async fn compile(defs: Vec<RuleDef>, schemas: &ClassSchemas) -> Result<DetectionEngine, Vec<RuleError>> {
        let (engine, errors) = Self::compile_with(defs, schemas, Shared::new(100_000, None), None).await;
        if errors.is_empty() {
            Ok(engine)
        } else {
            Err(errors)
        }
    }

    /// Plan every rule, sharing `shared`. With `previous` (a reload), a rule
    /// that fails to compile keeps its previous version, and a recompiled
    /// rule keeps its previous state when its fingerprint is unchanged.
    pub async fn compile_with(
        defs: Vec<RuleDef>,
        schemas: &ClassSchemas,
        shared: Arc<Shared>,
        previous: Option<&DetectionEngine>,
    ) -> (DetectionEngine, Vec<RuleError>) {
        let mut errors = Vec::new();
        let session = match engine::rule_session(schemas) {
            Ok(s) => s,
            Err(e) => {
                let err = RuleError { path: PathBuf::from("<engine>"), line: None, message: engine::error_text(&e) };
                let task = datafusion::prelude::SessionContext::new().task_ctx();
                let set = RuleSet { rules: Vec::new(), base_task: task };
                return (DetectionEngine { set: ArcSwap::from_pointee(set), shared }, vec![err]);
            }
        };
        let mut rules = Vec::new();
        for def in defs {
            match Self::compile_rule(&session, def).await {
                Ok(mut rule) => {
                    if let Some(old) = previous.and_then(|p| p.rule(rule.def.id())) {
                        rule.adopt_state(&old);
                    }
                    rules.push(Arc::new(rule));
                }
                Err((id, e)) => {
                    if let Some(old) =
                        previous.and_then(|p| p.set.load().rules.iter().find(|r| r.def.id() == id).cloned())
                    {
                        rules.push(old);
                    }
                    errors.push(e);
                }
            }
        }
        let set = RuleSet { rules, base_task: session.task_ctx() };
        (DetectionEngine { set: ArcSwap::from_pointee(set), shared }, errors)
    }

    /// Swap in a new generation of rules loaded from changed files: `defs`
    /// are the rules that loaded, `load_errors` the files that did not.
    /// A rule that fails to load or compile keeps its previous version; an
    /// unchanged rule (same fingerprint) keeps its state, a changed one
    /// starts fresh; a rule whose file is gone stops.
    pub async fn reload(
        &self,
        defs: Vec<RuleDef>,
        load_errors: Vec<RuleError>,
        schemas: &ClassSchemas,
    ) -> ReloadReport {
        let old = self.set.load_full();
        let old_by_id: BTreeMap<&str, &Arc<CompiledRule>> = old.rules.iter().map(|r| (r.def.id(), r)).collect();
        let broken_paths: Vec<&Path> = load_errors.iter().map(|e| e.path.as_path()).collect();
        let ids: Vec<String> = defs.iter().map(|d| d.id().to_string()).collect();
        let (next, compile_errors) = Self::compile_with(defs, schemas, self.shared.clone(), Some(self)).await;
        let mut next_set = next.set.load_full().as_ref().clone();
        // A rule whose file no longer parses keeps running as it was.
        for r in &old.rules {
            if !ids.iter().any(|i| i == r.def.id()) && broken_paths.contains(&r.def.path.as_path()) {
                next_set.rules.push(r.clone());
            }
        }
        let mut report = ReloadReport::default();
        for r in &next_set.rules {
            match old_by_id.get(r.def.id()) {
                Some(o) if o.fingerprint == r.fingerprint => {}
                _ => report.swapped.push(r.def.id().to_string()),
            }
        }
        for id in old_by_id.keys() {
            if !next_set.rules.iter().any(|r| r.def.id() == *id) {
                report.removed.push(id.to_string());
            }
        }
        report.rejected = load_errors.iter().chain(compile_errors.iter()).map(ToString::to_string).collect();
        self.set.store(Arc::new(next_set));
        emit(RulesReloaded { swapped: report.swapped.len(), rejected: &report.rejected });
        report
    }

    /// The rule set in service.
    pub fn rule_set(&self) -> Arc<RuleSet> {
        self.set.load_full()
    }

    async fn compile_rule(
        session: &datafusion::prelude::SessionContext,
        def: RuleDef,
    ) -> Result<CompiledRule, (String, RuleError)> {
        let id = def.id().to_string();
        let fail = |e: RuleError| (id.clone(), e);
        let plan_of = |sql: String| async move { engine::compile(session, &sql).await };
        let check_key = |def: &RuleDef, schema: &arrow::datatypes::Schema, what: &str| -> Result<(), RuleError> {
            let missing: Vec<&String> =
                def.file.dedup.key.iter().filter(|k| schema.field_with_name(k).is_err()).collect();
            if missing.is_empty() {
                return Ok(());
            }
            Err(RuleError {
                path: def.path.clone(),
                line: Some(def.sql_line),
                message: format!(
                    "dedup.key column(s) {} are not returned by {what} (it returns: {})",
                    missing.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
                    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
                ),
            })
        };
        let fingerprint = def.fingerprint();
        let kind = match &def.mode {
            ModeDef::Streaming => {
                let plan = plan_of(def.sql.clone()).await.map_err(|e| fail(compile_error(&def, "sql", &e)))?;
                check_key(&def, &plan.schema(), "the sql").map_err(fail)?;
                Kind::Streaming { plan }
            }
            ModeDef::Windowed(w) => {
                let plan = plan_of(def.sql.clone()).await.map_err(|e| fail(compile_error(&def, "sql", &e)))?;
                let windowing = Windowing::new(w.spec.clone(), &plan.schema()).map_err(|m| {
                    fail(RuleError {
                        path: def.path.clone(),
                        line: Some(def.sql_line),
                        message: format!("window: {m}"),
                    })
                })?;
                let wsession = engine::window_session(windowing.schema())
                    .map_err(|e| fail(compile_error(&def, "window table", &e)))?;
                let extra: String = w.select.iter().map(|c| format!(", {c}")).collect();
                let condition_sql = format!("SELECT *{extra} FROM window WHERE {}", w.condition);
                let condition = engine::compile(&wsession, &condition_sql)
                    .await
                    .map_err(|e| fail(compile_error(&def, "window.where", &e)))?;
                check_key(&def, &condition.schema(), "the window table").map_err(fail)?;
                Kind::Windowed { plan, windowing, condition, window_task: wsession.task_ctx(), state: Arc::default() }
            }
            ModeDef::FirstSeen(spec) => {
                let plan = plan_of(def.sql.clone()).await.map_err(|e| fail(compile_error(&def, "sql", &e)))?;
                check_key(&def, &plan.schema(), "the sql").map_err(fail)?;
                for k in spec.key.iter().chain(std::iter::once(&spec.time)) {
                    if plan.schema().field_with_name(k).is_err() {
                        return Err(fail(RuleError {
                            path: def.path.clone(),
                            line: Some(def.sql_line),
                            message: format!("first_seen column `{k}` is not returned by the sql"),
                        }));
                    }
                }
                Kind::FirstSeen { plan, spec: spec.clone(), state: Arc::default() }
            }
            ModeDef::Correlation(c) => {
                let first = plan_of(c.first.sql.clone())
                    .await
                    .map_err(|e| fail(compile_error(&def, "correlation.first.sql", &e)))?;
                let mut then = Vec::new();
                for (i, step) in c.then.iter().enumerate() {
                    let p = plan_of(step.sql.clone())
                        .await
                        .map_err(|e| fail(compile_error(&def, &format!("correlation.then[{i}].sql"), &e)))?;
                    then.push((step.class, p));
                }
                for (what, plan) in std::iter::once(("correlation.first", &first))
                    .chain(then.iter().map(|(_, p)| ("correlation.then", p)))
                {
                    for col in [c.spec.entity.as_str(), "time", "event_id"] {
                        if plan.schema().field_with_name(col).is_err() {
                            return Err(fail(RuleError {
                                path: def.path.clone(),
                                line: Some(def.sql_line),
                                message: format!("{what}.sql must return `{col}`"),
                            }));
                        }
                    }
                }
                Kind::Correlation { first: (c.first.class, first), then, spec: c.spec.clone(), state: Arc::default() }
            }
        };
        Ok(CompiledRule { def, fingerprint, kind })
    }

    /// The compiled rules in service.
    pub fn rules(&self) -> Vec<Arc<CompiledRule>> {
        self.set.load().rules.clone()
    }

    /// The number of compiled rules.
    pub fn len(&self) -> usize {
        self.set.load().rules.len()
    }

    /// Whether no rule is compiled.
    pub fn is_empty(&self) -> bool {
        self.set.load().rules.is_empty()
    }

    /// The rule with id `id`.
    pub fn rule(&self, id: &str) -> Option<Arc<CompiledRule>> {
        self.set.load().rules.iter().find(|r| r.def.id() == id).cloned()
    }

    /// What this engine shares with its reloaded successors.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    async fn run(
        &self,
        rule: &CompiledRule,
        plan: &Arc<dyn ExecutionPlan>,
        base: &Arc<TaskContext>,
        table: &'static str,
        batch: &RecordBatch,
    ) -> Option<Vec<RecordBatch>> {
        let span = tracing::debug_span!("rule", rule = rule.def.id(), table);
        let task = engine::task_context(base, engine::MicroBatchInput { table, batch: batch.clone() });
        match engine::execute(plan, task).instrument(span).await {
            Ok(b) => Some(b.into_iter().filter(|b| b.num_rows() > 0).collect()),
            Err(e) => {
                emit(RuleFailed { rule: rule.def.id(), error: &engine::error_text(&e) });
                None
            }
        }
    }

    fn findings(rule: &CompiledRule, batches: &[RecordBatch], now: Timestamp, out: &mut Vec<Finding>) {
        for b in batches {
            match findings::findings_from_batch(&rule.def, b, now) {
                Ok(f) => out.extend(f),
                Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &e }),
            }
        }
    }

    /// Run every rule that reads `class` over one enriched batch, update
    /// rule state, and return the findings dedup admits (repeats are
    /// counted on the finding first raised). A failing rule is logged and
    /// counted; the others still run. `ack` is the batch's acknowledgement:
    /// state changed by the batch is checkpointed only once it is released.
    pub async fn detect(&self, class: EventClass, batch: &RecordBatch, now: Timestamp, ack: &AckToken) -> Vec<Finding> {
        let mut out = Vec::new();
        if batch.num_rows() == 0 {
            return out;
        }
        let table = class.as_str();
        let cp = &self.shared.checkpoints;
        let set = self.set.load_full();
        for rule in set.rules.iter() {
            let before = out.len();
            match &rule.kind {
                Kind::Streaming { plan } if rule.def.classes.contains(&class) => {
                    if let Some(b) = self.run(rule, plan, &set.base_task, table, batch).await {
                        Self::findings(rule, &b, now, &mut out);
                    }
                }
                Kind::Windowed { plan, windowing, condition, window_task, state }
                    if rule.def.classes.contains(&class) =>
                {
                    let Some(outs) = self.run(rule, plan, &set.base_task, table, batch).await else { continue };
                    for b in outs {
                        let result = {
                            let _gate = cp.enter(ack);
                            let mut s = lock(state);
                            let late = s.late_events;
                            let r = s.update(windowing, &b);
                            emit(RuleLateEvents { rule: rule.def.id(), rows: s.late_events - late });
                            r
                        };
                        match result {
                            Ok(Some(windows)) => {
                                if let Some(hits) = self.run(rule, condition, window_task, "window", &windows).await {
                                    Self::findings(rule, &hits, now, &mut out);
                                }
                            }
                            Ok(None) => {}
                            Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &e }),
                        }
                    }
                }
                Kind::FirstSeen { plan, spec, state } if rule.def.classes.contains(&class) => {
                    let Some(outs) = self.run(rule, plan, &set.base_task, table, batch).await else { continue };
                    for b in outs {
                        let result = {
                            let _gate = cp.enter(ack);
                            lock(state).update(spec, &b)
                        };
                        match result.and_then(|rows| {
                            let idx = arrow::array::UInt32Array::from(rows);
                            arrow::compute::take_record_batch(&b, &idx).map_err(|e| e.to_string())
                        }) {
                            Ok(new) => Self::findings(rule, &[new], now, &mut out),
                            Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &e }),
                        }
                    }
                }
                Kind::Correlation { first, then, spec, state } => {
                    let steps = std::iter::once((first, true)).chain(then.iter().map(|s| (s, false)));
                    for ((step_class, plan), is_first) in steps {
                        if *step_class != class {
                            continue;
                        }
                        let Some(outs) = self.run(rule, plan, &set.base_task, table, batch).await else { continue };
                        for b in outs {
                            let rows = match findings::rows_as_json(&b) {
                                Ok(r) => r,
                                Err(e) => {
                                    emit(RuleFailed { rule: rule.def.id(), error: &e });
                                    continue;
                                }
                            };
                            let pairs = {
                                let _gate = cp.enter(ack);
                                lock(state).update(spec, rows, is_first)
                            };
                            for row in &pairs {
                                match findings::finding_from_row(&rule.def, row, now) {
                                    Ok(f) => out.push(f),
                                    Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &e }),
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            let _ = before;
        }
        self.admit(out, ack)
    }

    /// Dedup: keep the findings raised for the first time, count the repeats.
    fn admit(&self, mut findings: Vec<Finding>, ack: &AckToken) -> Vec<Finding> {
        if findings.is_empty() {
            return findings;
        }
        let mut per_rule: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        {
            let _gate = self.shared.checkpoints.enter(ack);
            let mut dedup = lock(&self.shared.dedup);
            findings.retain_mut(|f| {
                let period = self.rule(&f.rule_id).map_or(Duration::from_secs(86_400), |r| r.def.period);
                let start = findings::window_start(f.first_seen.unwrap_or(f.time), period);
                let expires = start.saturating_add(i64::try_from(period.as_micros()).unwrap_or(i64::MAX));
                let admitted = dedup.admit(f, expires);
                let e = per_rule.entry(f.rule_id.clone()).or_default();
                if admitted {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
                admitted
            });
        }
        for (rule, (raised, suppressed)) in &per_rule {
            emit(FindingsRaised { rule, raised: *raised, suppressed: *suppressed });
        }
        findings
    }

    /// Findings whose suppressed-repeat counts changed since the last call,
    /// as updates (same `finding_id`, next `revision`).
    pub fn take_updates(&self) -> Vec<Finding> {
        lock(&self.shared.dedup).take_updates()
    }

    /// Emit the state size of every stateful rule as a metric.
    pub fn report_state(&self) {
        for r in self.rules() {
            if let Some(keys) = r.state_keys() {
                emit(RuleStateSize { rule: r.def.id(), keys });
            }
        }
    }

    /// Restore rule state and dedup from the state directory's checkpoint.
    /// A rule whose definition changed since (another fingerprint) starts
    /// empty. Returns how many rules got their state back.
    pub fn restore(&self) -> Result<usize, String> {
        let cp = &self.shared.checkpoints;
        let Some(bytes) = cp.read().map_err(|e| format!("cannot read the rule-state checkpoint: {e}"))? else {
            return Ok(0);
        };
        let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "the rule-state checkpoint in {} is not readable ({e}); move it away to start with empty state",
                cp.dir().map_or_else(String::new, |d| d.display().to_string())
            )
        })?;
        if saved.version != 1 {
            return Err(format!("rule-state checkpoint version {} is not supported", saved.version));
        }
        let mut restored = 0;
        let _w = cp.snapshot(|| ());
        for (id, state) in saved.rules {
            if self.rule(&id).is_some_and(|r| r.restore(state)) {
                restored += 1;
            }
        }
        if let Some(d) = saved.dedup {
            *lock(&self.shared.dedup) = d;
        }
        Ok(restored)
    }

    /// Write a checkpoint: snapshot every rule's state and dedup, wait (at
    /// most `timeout`) until the batches that changed it are released, then
    /// write the file. `Ok(None)` without a state directory.
    pub async fn checkpoint(&self, timeout: Duration) -> Result<Option<PathBuf>, String> {
        let cp = &self.shared.checkpoints;
        if cp.dir().is_none() {
            return Ok(None);
        }
        let (epoch, json) = cp.snapshot(|| {
            let saved = Saved {
                version: 1,
                rules: self.rules().iter().filter_map(|r| r.save().map(|s| (r.def.id().to_string(), s))).collect(),
                dedup: Some(lock(&self.shared.dedup).clone()),
            };
            serde_json::to_vec(&saved)
        });
        let json = json.map_err(|e| format!("cannot serialise rule state: {e}"))?;
        if !cp.wait_released(epoch, timeout).await {
            let e = "batches that changed the state were not written in time; checkpoint skipped".to_string();
            emit(CheckpointWritten { result: Err(&e), rules: 0 });
            return Err(e);
        }
        let rules = self.rules().iter().filter(|r| r.state_keys().is_some()).count();
        match cp.write(&json) {
            Ok(path) => {
                if let Some(p) = &path {
                    emit(CheckpointWritten { result: Ok(&p.display().to_string()), rules });
                }
                Ok(path)
            }
            Err(e) => {
                let e = format!("cannot write the rule-state checkpoint: {e}");
                emit(CheckpointWritten { result: Err(&e), rules });
                Err(e)
            }
        }
    }
}
