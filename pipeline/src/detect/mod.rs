//! Detection: SQL rules from `queries/`, compiled once, run per micro-batch.
//!
//! * [`rule`] — the rule file format (TOML metadata + SQL + mode settings) and its validation.
//! * [`engine`] — DataFusion plumbing: micro-batch tables, compile once, execute many.
//! * [`windowed`], [`first_seen`], [`correlation`] — the stateful modes.
//! * [`pending`] — rule output waiting for the watermark, by evaluation interval.
//! * [`columns`] — reading rule output columns for the stateful modes.
//! * [`findings`] — rule output rows → [`Finding`]s (entity, app, evidence, message, id).
//! * [`dedup`] — one finding per rule, key and window, with its totals and revisions.
//! * [`partition`] — rule output split by key and carried between processes (scale-out).
//! * [`checkpoint`] — rule state on disk, consistent with what sinks wrote.
//! * [`fixtures`] — rule tests: raw vendor events in, expected findings out.
//!
//! [`DetectionEngine`] ties them together in two steps, so that findings do
//! not depend on how work was scheduled (see [`crate::event_time`]):
//!
//! 1. **Match** ([`DetectionEngine::match_batch`], in the workers, in
//!    parallel): every rule that reads a batch's class runs its SQL, planned
//!    once at start-up, over the rows that are on time for it. What comes out
//!    is not a finding yet.
//! 2. **Fold** (in the detection stage, one task): the output is filed by
//!    evaluation interval ([`DetectionEngine::ingest`]); once a rule's
//!    watermark has passed a whole interval, its rows are consumed in
//!    event-time order ([`DetectionEngine::advance`]): windows fold and are
//!    evaluated, first-seen keys and correlations are checked, and every
//!    match goes through the rule's finding store, which raises new findings
//!    after their interval and writes changed ones again at update points
//!    (see [`dedup`]).
//!
//! Every state change takes the checkpoint gate with the acknowledgement of
//! the batch it came from (or of the findings it raised), so a checkpoint
//! never holds what was not written.

pub mod checkpoint;
pub mod columns;
pub mod correlation;
pub mod dedup;
pub mod engine;
pub mod findings;
pub mod first_seen;
pub mod fixtures;
mod output_json;
pub mod partition;
pub mod pending;
pub mod reload;
pub mod rule;
pub mod windowed;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use arrow::record_batch::RecordBatch;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use include_dir::{include_dir, Dir};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::ack::AckToken;
use crate::attribute::{Attributed, Attribution, AttributionSettings, AttributionState, Deferred};
use crate::event_time::{Frontier, Resume, RowMargins};
use crate::internal_events::{
    emit, CheckpointWritten, FindingsRaised, RuleEvaluated, RuleFailed, RuleStateSize, RulesReloaded,
};
use crate::schema::{ClassSchemas, EventClass, Finding, Timestamp};
use checkpoint::Checkpoints;
use correlation::{CorrelationSpec, CorrelationState};
use dedup::{Admitted, Contribution, FindingStore};
use first_seen::{FirstSeenSpec, FirstSeenState};
use pending::{Item, Pending};
pub use reload::{watch as watch_rules, RuleWatch};
pub use rule::{ModeDef, RuleDef, RuleError};
use windowed::{Touched, WindowPanes, WindowState, Windowing};

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

/// How a compiled rule runs.
#[derive(Clone)]
enum Kind {
    Streaming {
        plan: Arc<dyn ExecutionPlan>,
    },
    Windowed {
        plan: Arc<dyn ExecutionPlan>,
        windowing: Windowing,
        condition: Arc<dyn ExecutionPlan>,
        window_task: Arc<TaskContext>,
    },
    FirstSeen {
        plan: Arc<dyn ExecutionPlan>,
        spec: FirstSeenSpec,
    },
    Correlation {
        first: (EventClass, Arc<dyn ExecutionPlan>),
        then: Vec<(EventClass, Arc<dyn ExecutionPlan>)>,
        spec: CorrelationSpec,
    },
}

/// A rule planned once, ready to run on any batch of the classes it reads,
/// with its state.
pub struct CompiledRule {
    /// The rule definition.
    pub def: RuleDef,
    fingerprint: String,
    kind: Kind,
    state: Arc<Mutex<RuleState>>,
}

/// A rule's state: output waiting for the watermark, what its mode keeps,
/// and the findings it raised recently. Serializable for checkpoints.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleState {
    pending: Pending,
    /// Every row before this event time has been consumed.
    released: Option<i64>,
    mode: ModeState,
    findings: FindingStore,
}

/// What a stateful mode keeps between intervals.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModeState {
    #[default]
    Streaming,
    Windowed(WindowState),
    FirstSeen(FirstSeenState),
    Correlation(CorrelationState),
}

/// A checkpoint file's content.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    version: u32,
    rules: BTreeMap<String, SavedRule>,
    /// Per stream key: how far it was read and its stream time.
    #[serde(default)]
    streams: BTreeMap<String, Resume>,
    /// Attribution's table and held rows.
    #[serde(default)]
    attribution: Option<AttributionState>,
}

/// One rule's checkpointed state, restored only into a rule with the same fingerprint.
#[derive(Debug, Serialize, Deserialize)]
struct SavedRule {
    fingerprint: String,
    state: RuleState,
}

/// The checkpoint format written; older ones are not read.
const CHECKPOINT_VERSION: u32 = 2;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CompiledRule {
    /// The classes whose batches the rule reads.
    pub fn reads(&self, class: EventClass) -> bool {
        match &self.kind {
            Kind::Correlation { first, then, .. } => first.0 == class || then.iter().any(|(c, _)| *c == class),
            _ => self.def.classes.contains(&class),
        }
    }

    /// Whether any of the rule's queries reads `column` of an event class.
    pub fn reads_column(&self, column: &str) -> bool {
        let reads = |p: &Arc<dyn ExecutionPlan>| engine::reads_column(p, column);
        match &self.kind {
            Kind::Streaming { plan } | Kind::Windowed { plan, .. } | Kind::FirstSeen { plan, .. } => reads(plan),
            Kind::Correlation { first, then, .. } => reads(&first.1) || then.iter().any(|(_, p)| reads(p)),
        }
    }

    fn state_keys(&self) -> Option<u64> {
        let s = lock(&self.state);
        Some(match &s.mode {
            ModeState::Streaming => return None,
            ModeState::Windowed(w) => w.keys() as u64,
            ModeState::FirstSeen(f) => f.keys() as u64,
            ModeState::Correlation(c) => c.entities() as u64,
        })
    }

    /// Rows waiting for the watermark.
    pub fn pending_rows(&self) -> usize {
        lock(&self.state).pending.rows()
    }

    /// The event time before which every row has been consumed.
    pub fn released(&self) -> Option<i64> {
        lock(&self.state).released
    }

    fn fresh_state(&self, dedup_capacity: usize) -> RuleState {
        RuleState {
            mode: match &self.kind {
                Kind::Streaming { .. } => ModeState::Streaming,
                Kind::Windowed { .. } => ModeState::Windowed(WindowState::default()),
                Kind::FirstSeen { .. } => ModeState::FirstSeen(FirstSeenState::default()),
                Kind::Correlation { .. } => ModeState::Correlation(CorrelationState::default()),
            },
            findings: FindingStore::new(dedup_capacity),
            ..RuleState::default()
        }
    }

    /// Share `other`'s state (same rule, same fingerprint): used when a
    /// reload swaps in a recompiled rule whose state shape did not change.
    fn adopt_state(&mut self, other: &CompiledRule) {
        if self.fingerprint == other.fingerprint {
            self.state = other.state.clone();
        }
    }
}

/// How often a finding that keeps growing is written again, by default
/// (`[rules] update_interval`).
pub const DEFAULT_UPDATE_INTERVAL: Duration = Duration::from_secs(600);

/// What every version of the engine shares across rule reloads: the
/// checkpoint gate and the settings of rule state.
pub struct Shared {
    checkpoints: Checkpoints,
    dedup_capacity: usize,
    /// The evaluation interval, microseconds.
    interval: i64,
    /// The update interval, microseconds: findings that grew are written
    /// again at its multiples ([`dedup`] explains).
    update_every: i64,
    /// Who is behind an address (checkpointed with the rules).
    pub(crate) attribution: Attribution,
}

impl Shared {
    /// Each rule remembering `dedup_capacity` findings; checkpoints in
    /// `state_dir`; stateful rules evaluated one minute of event time at a time.
    pub fn new(dedup_capacity: usize, state_dir: Option<PathBuf>) -> Arc<Shared> {
        Self::with_interval(dedup_capacity, state_dir, Duration::from_secs(60))
    }

    /// As [`Shared::new`], evaluating stateful rules every `interval` of event time.
    pub fn with_interval(dedup_capacity: usize, state_dir: Option<PathBuf>, interval: Duration) -> Arc<Shared> {
        Self::with_attribution(
            dedup_capacity,
            state_dir,
            interval,
            DEFAULT_UPDATE_INTERVAL,
            AttributionSettings::default(),
        )
    }

    /// As [`Shared::with_interval`], writing findings that grew again every
    /// `update_interval` of event time and attributing user-less rows with
    /// `attribution`.
    pub fn with_attribution(
        dedup_capacity: usize,
        state_dir: Option<PathBuf>,
        interval: Duration,
        update_interval: Duration,
        attribution: AttributionSettings,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            checkpoints: Checkpoints::new(state_dir),
            dedup_capacity: dedup_capacity.max(1),
            interval: crate::event_time::micros(interval).max(1),
            update_every: crate::event_time::micros(update_interval).max(1),
            attribution: Attribution::new(attribution),
        })
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
    /// Whether any rule reads `vendor_fields` (found once per set, from the plans).
    reads_vendor_fields: bool,
}

impl RuleSet {
    fn new(rules: Vec<Arc<CompiledRule>>, base_task: Arc<TaskContext>) -> RuleSet {
        let reads_vendor_fields = rules.iter().any(|r| r.reads_column("vendor_fields"));
        RuleSet { rules, base_task, reads_vendor_fields }
    }

    /// The compiled rules, in load order.
    pub fn rules(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().map(|r| r.as_ref())
    }

    /// Whether any rule reads the `vendor_fields` column (by name, `SELECT *`,
    /// or a Sigma field mapped into it).
    pub fn reads_vendor_fields(&self) -> bool {
        self.reads_vendor_fields
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

/// What one rule's SQL returned for one batch, to be filed in its pending
/// output by the detection stage ([`DetectionEngine::ingest`]).
pub struct Matched {
    rule: Arc<CompiledRule>,
    output: MatchOutput,
}

enum MatchOutput {
    /// Streaming rules: finding candidates, the SQL's rows. They stay in
    /// Arrow while they wait for the watermark and become JSON maps when
    /// their interval is consumed.
    Candidates(Vec<RecordBatch>),
    /// Streaming rules: finding candidates as JSON (from a scale-out peer).
    Rows(Vec<Map<String, Value>>),
    /// Windowed and first-seen rules: the SQL's rows.
    Batches(Vec<RecordBatch>),
    /// Correlation rules: (step, row).
    Steps(Vec<(u8, Map<String, Value>)>),
}

impl Matched {
    /// The rule.
    pub fn rule_id(&self) -> &str {
        self.rule.def.id()
    }

    /// Rows matched.
    pub fn rows(&self) -> usize {
        match &self.output {
            MatchOutput::Rows(r) => r.len(),
            MatchOutput::Candidates(b) | MatchOutput::Batches(b) => b.iter().map(RecordBatch::num_rows).sum(),
            MatchOutput::Steps(s) => s.len(),
        }
    }
}

/// Rows a rule would have used had they not been late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateMatch {
    /// The rule.
    pub rule: String,
    /// The lateness it allowed (the stream's or its own, the larger), microseconds.
    pub lateness: i64,
    /// The late rows' event ids.
    pub event_ids: Vec<String>,
}

/// Everything the rules made of one class batch.
#[derive(Default)]
pub struct BatchMatches {
    /// Per rule that matched rows on time.
    pub matched: Vec<Matched>,
    /// Per rule that would have matched late rows.
    pub late: Vec<LateMatch>,
}

/// A row that reached the detection stage behind what its rule had already
/// consumed: its stream was idle, or appeared after the watermark passed.
#[derive(Debug, Clone)]
pub struct StageLate {
    /// The rule.
    pub rule: String,
    /// The row's event time.
    pub time: i64,
    /// What the rule had consumed up to.
    pub released: i64,
    /// The row's event ids.
    pub event_ids: Vec<String>,
    /// The rule output row, as JSON.
    pub row: String,
}

fn compile_error(def: &RuleDef, what: &str, e: &datafusion::error::DataFusionError) -> RuleError {
    RuleError {
        path: def.path.clone(),
        line: Some(def.sql_line),
        message: format!("{what} does not compile: {}", engine::error_text(e)),
    }
}

/// A rule output batch as JSON rows; a failure is logged and counted for the rule.
fn json_rows(rule: &str, batches: &[RecordBatch]) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    for b in batches {
        match output_json::rows_as_json(b) {
            Ok(rows) => out.extend(rows),
            Err(e) => emit(RuleFailed { rule, error: &e }),
        }
    }
    out
}

/// The `event_id` column of rule output batches.
fn batch_event_ids(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        if let Ok(r) = columns::Reader::new(b, "event_id", columns::ValueKind::Text) {
            out.extend((0..b.num_rows()).filter_map(|i| r.text(i)));
        }
    }
    out
}

/// (event time, smallest event id): see [`sort_rows`].
type RowOrder = (i64, String);

fn row_order(row: &Map<String, Value>) -> RowOrder {
    let t = findings::row_time(row).map_or(i64::MIN, |t| t.0);
    let id = findings::all_event_ids(row).into_iter().min().unwrap_or_default();
    (t, id)
}

/// The canonical order of rows within an interval: event time, then event
/// id, then (rows of one event, rare) the row itself, so the order never
/// depends on arrival.
fn sort_rows<T>(rows: &mut [(RowOrder, T, Map<String, Value>)], tie: impl Fn(&T, &T) -> std::cmp::Ordering) {
    rows.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| tie(&a.1, &b.1))
            .then_with(|| Value::Object(a.2.clone()).to_string().cmp(&Value::Object(b.2.clone()).to_string()))
    });
}

impl DetectionEngine {
    /// Plan every rule with fresh state (each remembers 100,000 findings, no
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
                let set = RuleSet::new(Vec::new(), task);
                return (DetectionEngine { set: ArcSwap::from_pointee(set), shared }, vec![err]);
            }
        };
        let mut rules = Vec::new();
        for def in defs {
            match Self::compile_rule(&session, def, shared.dedup_capacity).await {
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
        let set = RuleSet::new(rules, session.task_ctx());
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
        self.set.store(Arc::new(RuleSet::new(next_set.rules, next_set.base_task)));
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
        dedup_capacity: usize,
    ) -> Result<CompiledRule, (String, RuleError)> {
        let id = def.id().to_string();
        let fail = |e: RuleError| (id.clone(), e);
        let per_event = |what: &str, plan: &Arc<dyn ExecutionPlan>| -> Result<(), RuleError> {
            if !engine::aggregates_rows(plan) {
                return Ok(());
            }
            Err(RuleError {
                path: def.path.clone(),
                line: Some(def.sql_line),
                message: format!(
                    "{what} aggregates (GROUP BY, count(), window functions): it would fold whatever rows one \
                     micro-batch happened to hold. Return one row per event; findings fold matches by their \
                     dedup key (event_count, bytes, lists such as make_array(host) AS hosts), and windowed \
                     rules aggregate over event time"
                ),
            })
        };
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
                per_event("the sql", &plan).map_err(fail)?;
                check_key(&def, &plan.schema(), "the sql").map_err(fail)?;
                let schema = plan.schema();
                if schema.field_with_name("time").is_err() && schema.field_with_name("first_seen").is_err() {
                    return Err(fail(RuleError {
                        path: def.path.clone(),
                        line: Some(def.sql_line),
                        message: "the sql must return the event time as `time` (or `first_seen` when it aggregates): \
                                  findings are ordered and deduplicated by event time"
                            .into(),
                    }));
                }
                Kind::Streaming { plan }
            }
            ModeDef::Windowed(w) => {
                let plan = plan_of(def.sql.clone()).await.map_err(|e| fail(compile_error(&def, "sql", &e)))?;
                per_event("the sql", &plan).map_err(fail)?;
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
                Kind::Windowed { plan, windowing, condition, window_task: wsession.task_ctx() }
            }
            ModeDef::FirstSeen(spec) => {
                let plan = plan_of(def.sql.clone()).await.map_err(|e| fail(compile_error(&def, "sql", &e)))?;
                per_event("the sql", &plan).map_err(fail)?;
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
                Kind::FirstSeen { plan, spec: spec.clone() }
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
                if then.len() > usize::from(u8::MAX) - 1 {
                    return Err(fail(RuleError {
                        path: def.path.clone(),
                        line: Some(def.sql_line),
                        message: "correlation: at most 254 [[correlation.then]] steps".into(),
                    }));
                }
                for (what, plan) in std::iter::once(("correlation.first", &first))
                    .chain(then.iter().map(|(_, p)| ("correlation.then", p)))
                {
                    per_event(&format!("{what}.sql"), plan).map_err(fail)?;
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
                Kind::Correlation { first: (c.first.class, first), then, spec: c.spec.clone() }
            }
        };
        let mut rule = CompiledRule { def, fingerprint, kind, state: Arc::default() };
        rule.state = Arc::new(Mutex::new(rule.fresh_state(dedup_capacity)));
        Ok(rule)
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

    /// The evaluation interval, microseconds.
    pub fn interval(&self) -> i64 {
        self.shared.interval
    }

    /// Whether rule state is checkpointed (`[rules] state_dir`).
    pub fn has_state_dir(&self) -> bool {
        self.shared.checkpoints.dir().is_some()
    }

    /// The distinct lateness values the rules add to a stream's own: a
    /// worker filters a batch once per value.
    pub fn rule_lateness(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.set.load().rules.iter().map(|r| r.def.lateness).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    async fn run(
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

    /// Run `rule`'s queries that read `class` over `batch`.
    async fn run_rule(
        rule: &Arc<CompiledRule>,
        base: &Arc<TaskContext>,
        class: EventClass,
        batch: &RecordBatch,
    ) -> Option<MatchOutput> {
        let table = class.as_str();
        let id = rule.def.id();
        match &rule.kind {
            Kind::Streaming { plan } => Some(MatchOutput::Candidates(Self::run(rule, plan, base, table, batch).await?)),
            Kind::Windowed { plan, .. } | Kind::FirstSeen { plan, .. } => {
                Some(MatchOutput::Batches(Self::run(rule, plan, base, table, batch).await?))
            }
            Kind::Correlation { first, then, .. } => {
                let mut steps = Vec::new();
                let all = std::iter::once(first).chain(then.iter());
                for (i, (step_class, plan)) in all.enumerate() {
                    if *step_class != class {
                        continue;
                    }
                    let Some(out) = Self::run(rule, plan, base, table, batch).await else { continue };
                    let step = u8::try_from(i).unwrap_or(u8::MAX);
                    steps.extend(json_rows(id, &out).into_iter().map(|r| (step, r)));
                }
                Some(MatchOutput::Steps(steps))
            }
        }
    }

    /// Run every rule that reads `class` over the rows of one enriched batch
    /// that are on time for it (in workers, in parallel). `margins` says how
    /// far behind its stream each row is; a rule uses the rows within
    /// `stream_lateness` or its own lateness, whichever is larger. For the
    /// late rows a rule would have matched, their event ids are returned.
    pub async fn match_batch(
        &self,
        class: EventClass,
        batch: &RecordBatch,
        margins: Option<&RowMargins>,
        stream_lateness: i64,
    ) -> BatchMatches {
        let mut out = BatchMatches::default();
        if batch.num_rows() == 0 {
            return out;
        }
        let set = self.set.load_full();
        let mut on_time: HashMap<i64, RecordBatch> = HashMap::new();
        let mut late_rows: HashMap<i64, RecordBatch> = HashMap::new();
        for rule in set.rules.iter().filter(|r| r.reads(class)) {
            let lateness = stream_lateness.max(rule.def.lateness);
            let margins = margins.filter(|m| m.any_late(lateness));
            let input = match margins {
                None => batch.clone(),
                Some(m) => match on_time.get(&lateness) {
                    Some(b) => b.clone(),
                    None => {
                        let mask = m.on_time(lateness).unwrap_or_else(|| vec![true; batch.num_rows()].into());
                        match arrow::compute::filter_record_batch(batch, &mask) {
                            Ok(b) => {
                                on_time.insert(lateness, b.clone());
                                b
                            }
                            Err(e) => {
                                emit(RuleFailed { rule: rule.def.id(), error: &e.to_string() });
                                continue;
                            }
                        }
                    }
                },
            };
            if input.num_rows() > 0 {
                let started = std::time::Instant::now();
                let output = Self::run_rule(rule, &set.base_task, class, &input).await;
                let m = output.map(|output| Matched { rule: rule.clone(), output });
                let matches = m.as_ref().map_or(0, |m| m.rows() as u64);
                emit(RuleEvaluated { rule: rule.def.id(), elapsed: started.elapsed(), matches });
                if let Some(m) = m.filter(|m| m.rows() > 0) {
                    out.matched.push(m);
                }
            }
            let Some(m) = margins else { continue };
            let late = match late_rows.get(&lateness) {
                Some(b) => b.clone(),
                None => {
                    let idx = arrow::array::UInt32Array::from(m.late(lateness));
                    match arrow::compute::take_record_batch(batch, &idx) {
                        Ok(b) => {
                            late_rows.insert(lateness, b.clone());
                            b
                        }
                        Err(e) => {
                            emit(RuleFailed { rule: rule.def.id(), error: &e.to_string() });
                            continue;
                        }
                    }
                }
            };
            let Some(output) = Self::run_rule(rule, &set.base_task, class, &late).await else { continue };
            let event_ids = match &output {
                MatchOutput::Rows(rows) => rows.iter().flat_map(findings::all_event_ids).collect(),
                MatchOutput::Candidates(b) => {
                    json_rows(rule.def.id(), b).iter().flat_map(findings::all_event_ids).collect()
                }
                MatchOutput::Batches(b) => batch_event_ids(b),
                MatchOutput::Steps(s) => s.iter().flat_map(|(_, r)| findings::all_event_ids(r)).collect(),
            };
            if !event_ids.is_empty() {
                out.late.push(LateMatch { rule: rule.def.id().to_string(), lateness, event_ids });
            }
        }
        out
    }

    /// File what the rules matched in one batch as pending output, until the
    /// watermark passes it (in the detection stage). `ack` is the batch's
    /// acknowledgement: a checkpoint holding these rows waits for it. Rows
    /// behind what their rule already consumed are returned, not filed.
    pub fn ingest(&self, matched: Vec<Matched>, ack: &AckToken) -> Vec<StageLate> {
        let interval = self.shared.interval;
        let mut late = Vec::new();
        let cp = &self.shared.checkpoints;
        for m in matched {
            let rule = &m.rule;
            let _gate = cp.enter(ack);
            let mut state = lock(&rule.state);
            let released = state.released.unwrap_or(i64::MIN);
            let mut late_row = |row: &Map<String, Value>, t: i64| {
                late.push(StageLate {
                    rule: rule.def.id().to_string(),
                    time: t,
                    released,
                    event_ids: findings::all_event_ids(row),
                    row: Value::Object(row.clone()).to_string(),
                })
            };
            match m.output {
                MatchOutput::Rows(rows) => {
                    for row in rows {
                        match findings::row_time(&row) {
                            Some(t) if t.0 < released => late_row(&row, t.0),
                            Some(t) => state.pending.push(pending::interval_of(t.0, interval), Item::Row(row)),
                            None => emit(RuleFailed {
                                rule: rule.def.id(),
                                error: "a row without `time` (or `first_seen`) cannot be placed in event time; dropped",
                            }),
                        }
                    }
                }
                MatchOutput::Candidates(batches) => {
                    for b in batches {
                        let times = match findings::row_times(&b) {
                            Ok(t) => t,
                            Err(e) => {
                                emit(RuleFailed { rule: rule.def.id(), error: &e });
                                continue;
                            }
                        };
                        let mut by_interval: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
                        let mut behind: Vec<u32> = Vec::new();
                        for (i, t) in times.iter().enumerate() {
                            match t {
                                Some(t) if t.0 < released => behind.push(i as u32),
                                Some(t) => {
                                    by_interval.entry(pending::interval_of(t.0, interval)).or_default().push(i as u32)
                                }
                                None => emit(RuleFailed {
                                    rule: rule.def.id(),
                                    error:
                                        "a row without `time` (or `first_seen`) cannot be placed in event time; dropped",
                                }),
                            }
                        }
                        if !behind.is_empty() {
                            let rows = arrow::compute::take_record_batch(&b, &arrow::array::UInt32Array::from(behind))
                                .map_err(|e| e.to_string())
                                .and_then(|late| output_json::rows_as_json(&late));
                            match rows {
                                Ok(rows) => {
                                    for row in &rows {
                                        late_row(row, findings::row_time(row).map_or(i64::MIN, |t| t.0));
                                    }
                                }
                                Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &e }),
                            }
                        }
                        if let Err(e) = state.pending.push_grouped(&b, by_interval, Item::Rows) {
                            emit(RuleFailed { rule: rule.def.id(), error: &e });
                        }
                    }
                }
                MatchOutput::Steps(rows) => {
                    for (step, row) in rows {
                        match findings::row_time(&row) {
                            Some(t) if t.0 < released => late_row(&row, t.0),
                            Some(t) => state.pending.push(pending::interval_of(t.0, interval), Item::Step(step, row)),
                            None => emit(RuleFailed {
                                rule: rule.def.id(),
                                error: "a correlation row without `time` cannot be placed in event time; dropped",
                            }),
                        }
                    }
                }
                MatchOutput::Batches(batches) => {
                    let time_col = match &rule.kind {
                        Kind::Windowed { windowing, .. } => windowing.spec().time.clone(),
                        Kind::FirstSeen { spec, .. } => spec.time.clone(),
                        _ => "time".to_string(),
                    };
                    for b in batches {
                        let (on_time, behind) = match split_behind(&b, &time_col, released) {
                            Ok(parts) => parts,
                            Err(e) => {
                                emit(RuleFailed { rule: rule.def.id(), error: &e });
                                continue;
                            }
                        };
                        if let Some(behind) = behind {
                            let rows = output_json::rows_as_json(&behind).unwrap_or_default();
                            for row in &rows {
                                let t = findings::row_time(row).map_or(i64::MIN, |t| t.0);
                                late_row(row, t);
                            }
                        }
                        match state.pending.push_batch(&on_time, &time_col, interval) {
                            Ok(0) => {}
                            Ok(n) => emit(RuleFailed {
                                rule: rule.def.id(),
                                error: &format!("{n} row(s) without a value in `{time_col}` dropped"),
                            }),
                            Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &e }),
                        }
                    }
                }
            }
        }
        late
    }

    /// Attribution: its settings, and the split workers make of each batch.
    pub fn attribution(&self) -> &Attribution {
        &self.shared.attribution
    }

    /// Take in what a worker made of one batch (in the detection stage):
    /// file what the rules matched ([`DetectionEngine::ingest`]) and what it
    /// deferred for attribution, under the checkpoint gate of the batch's
    /// `ack`. Held rows behind what attribution already released are
    /// attributed and matched at once. Returns the rows late for a rule.
    pub async fn take_in(
        &self,
        enricher: &crate::transform::Enricher,
        matched: Vec<Matched>,
        deferred: Deferred,
        ack: &AckToken,
    ) -> Vec<StageLate> {
        let mut late = self.ingest(matched, ack);
        let attributed = self.defer(deferred, ack);
        late.extend(self.match_attributed(enricher, attributed, ack).await);
        late
    }

    /// File what a worker deferred for attribution; held rows behind what
    /// was released come back attributed.
    fn defer(&self, deferred: Deferred, ack: &AckToken) -> Vec<Attributed> {
        if deferred.is_empty() {
            return Vec::new();
        }
        let _gate = self.shared.checkpoints.enter(ack);
        self.shared.attribution.file(deferred, self.shared.interval).unwrap_or_else(|e| {
            emit(RuleFailed { rule: "attribution", error: &format!("held rows could not be filed: {e}") });
            Vec::new()
        })
    }

    /// Enrich attributed rows again with their person, run every rule over
    /// them and file the output as [`DetectionEngine::ingest`] does.
    async fn match_attributed(
        &self,
        enricher: &crate::transform::Enricher,
        rows: Vec<Attributed>,
        ack: &AckToken,
    ) -> Vec<StageLate> {
        let mut late = Vec::new();
        for a in rows {
            match enricher.enrich_attributed(a.class, &a.batch, &a.leased) {
                Ok(batch) => {
                    let m = self.match_batch(a.class, &batch, None, 0).await;
                    late.extend(self.ingest(m.matched, ack));
                }
                Err(e) => emit(RuleFailed {
                    rule: "attribution",
                    error: &format!("attributed {} rows could not be enriched: {e}", a.class),
                }),
            }
        }
        late
    }

    /// Everything the watermarks of `frontier` allow (everything, when
    /// `None`: the input ended): attribution first, then every rule (see
    /// [`DetectionEngine::advance`] and [`DetectionEngine::flush`]). Returns
    /// the findings raised or updated, and rows that came late for a rule.
    pub async fn advance_all(
        &self,
        frontier: Option<&Frontier>,
        enricher: &crate::transform::Enricher,
        now: Timestamp,
        out: &AckToken,
    ) -> (Vec<Finding>, Vec<StageLate>) {
        let interval = self.shared.interval;
        let target = match frontier {
            Some(f) => f.watermark(0).map(|wm| Some(pending::interval_of(wm, interval))),
            None => Some(None),
        };
        let mut late = Vec::new();
        if let Some(target) = target {
            let released = {
                let _gate = self.shared.checkpoints.enter(out);
                self.shared.attribution.release(target, interval)
            };
            late = self.match_attributed(enricher, released, out).await;
        }
        let findings = match frontier {
            Some(f) => self.advance(f, now, out).await,
            None => self.flush(now, out).await,
        };
        (findings, late)
    }

    /// Consume, for every rule, the whole intervals its watermark (from
    /// `frontier`) has passed, in event-time order; returns the findings
    /// raised or updated, detected at `now`. The state change is part of the
    /// checkpoint epoch of `out`, the acknowledgement the findings travel with.
    pub async fn advance(&self, frontier: &Frontier, now: Timestamp, out: &AckToken) -> Vec<Finding> {
        let set = self.set.load_full();
        let mut findings = Vec::new();
        for rule in set.rules.iter() {
            let Some(wm) = frontier.watermark(rule.def.lateness) else { continue };
            let target = pending::interval_of(wm, self.shared.interval);
            findings.extend(self.release(rule, Some(target), now, out).await);
        }
        findings
    }

    /// Consume everything pending, for every rule (the input has ended).
    pub async fn flush(&self, now: Timestamp, out: &AckToken) -> Vec<Finding> {
        let set = self.set.load_full();
        let mut findings = Vec::new();
        for rule in set.rules.iter() {
            findings.extend(self.release(rule, None, now, out).await);
        }
        findings
    }

    /// Consume `rule`'s pending intervals that end at or before `target`
    /// (all of them when `None`), one interval at a time.
    async fn release(&self, rule: &CompiledRule, target: Option<i64>, now: Timestamp, out: &AckToken) -> Vec<Finding> {
        let interval = self.shared.interval;
        let cp = &self.shared.checkpoints;
        let mut findings = Vec::new();
        loop {
            let taken = {
                let _gate = cp.enter(out);
                let mut s = lock(&rule.state);
                match s.pending.first() {
                    Some(start) if target.is_none_or(|t| start.saturating_add(interval) <= t) => s.pending.take_first(),
                    _ => None,
                }
            };
            let Some((start, items)) = taken else { break };
            let end = start.saturating_add(interval);
            {
                // Every interval up to the update point is consumed: what
                // changed before it goes out before this interval's matches.
                let _gate = cp.enter(out);
                let mut s = lock(&rule.state);
                if s.findings.due_at().is_some_and(|due| due < end) {
                    findings.extend(s.findings.take_changed(&rule.def, now));
                }
            }
            let (raised, merged) = match self.consume(rule, items, out).await {
                Ok(counts) => counts,
                Err(e) => {
                    emit(RuleFailed { rule: rule.def.id(), error: &e });
                    (0, 0)
                }
            };
            let _gate = cp.enter(out);
            let mut s = lock(&rule.state);
            // Updates wait: they go out before an interval past their
            // update point is consumed, or once the watermark has passed it.
            findings.extend(s.findings.take_new(&rule.def, now, end, self.shared.update_every));
            s.released = Some(s.released.map_or(end, |r| r.max(end)));
            if let (ModeState::Windowed(w), Kind::Windowed { windowing, .. }) = (&mut s.mode, &rule.kind) {
                w.evict(windowing, end);
            }
            s.findings.expire(end);
            drop(s);
            emit(FindingsRaised { rule: rule.def.id(), raised: raised as u64, suppressed: merged as u64 });
        }
        let _gate = cp.enter(out);
        let mut s = lock(&rule.state);
        match target {
            Some(t) => {
                s.released = Some(s.released.map_or(t, |r| r.max(t)));
                // The watermark passed the update point with no interval
                // after it pending: every interval up to it is consumed.
                if s.findings.due_at().is_some_and(|due| due <= t) {
                    findings.extend(s.findings.take_changed(&rule.def, now));
                }
            }
            // The input ended: everything consumed goes out.
            None => findings.extend(s.findings.take_changed(&rule.def, now)),
        }
        findings
    }

    /// Fold one interval's items into the rule's state and findings, in
    /// event-time order; (raised, merged) counts.
    async fn consume(&self, rule: &CompiledRule, items: Vec<Item>, out: &AckToken) -> Result<(usize, usize), String> {
        let cp = &self.shared.checkpoints;
        let mut counts = (0, 0);
        let mut count = |a: Admitted| match a {
            Admitted::Raised => counts.0 += 1,
            Admitted::Merged => counts.1 += 1,
            Admitted::Replay => {}
        };
        match &rule.kind {
            Kind::Streaming { .. } => {
                let mut rows: Vec<(RowOrder, (), Map<String, Value>)> = Vec::new();
                for item in items {
                    match item {
                        Item::Row(r) => rows.push((row_order(&r), (), r)),
                        Item::Rows(b) => match output_json::rows_as_json(&b) {
                            Ok(more) => rows.extend(more.into_iter().map(|r| (row_order(&r), (), r))),
                            Err(e) => emit(RuleFailed { rule: rule.def.id(), error: &e }),
                        },
                        Item::Batch(_) | Item::Step(..) => {}
                    }
                }
                sort_rows(&mut rows, |_, _| std::cmp::Ordering::Equal);
                let _gate = cp.enter(out);
                let mut s = lock(&rule.state);
                for (_, (), row) in rows {
                    count(s.findings.admit(&rule.def, row, Contribution::Events)?);
                }
                // A streaming match is filed in its own event's interval: a
                // later copy of it is late, so its id need not be kept.
                s.findings.let_go_of_counted_ids();
            }
            Kind::Correlation { spec, .. } => {
                let mut rows: Vec<(RowOrder, u8, Map<String, Value>)> = items
                    .into_iter()
                    .filter_map(|i| match i {
                        Item::Step(step, r) => Some((row_order(&r), step, r)),
                        _ => None,
                    })
                    .collect();
                sort_rows(&mut rows, |a, b| a.cmp(b));
                let _gate = cp.enter(out);
                let mut s = lock(&rule.state);
                let RuleState { mode, findings, .. } = &mut *s;
                let ModeState::Correlation(state) = mode else { return Err("correlation state missing".into()) };
                for (_, step, row) in rows {
                    for pair in state.update(spec, vec![row], step == 0) {
                        count(findings.admit(&rule.def, pair, Contribution::Events)?);
                    }
                }
            }
            Kind::FirstSeen { spec, .. } => {
                let Some(batch) = sorted_batch(items, &spec.time)? else { return Ok(counts) };
                let _gate = cp.enter(out);
                let mut s = lock(&rule.state);
                let RuleState { mode, findings, .. } = &mut *s;
                let ModeState::FirstSeen(state) = mode else { return Err("first-seen state missing".into()) };
                let new = state.update(spec, &batch)?;
                if !new.is_empty() {
                    let idx = arrow::array::UInt32Array::from(new);
                    let rows = arrow::compute::take_record_batch(&batch, &idx).map_err(|e| e.to_string())?;
                    for row in output_json::rows_as_json(&rows)? {
                        count(findings.admit(&rule.def, row, Contribution::Events)?);
                    }
                }
            }
            Kind::Windowed { windowing, condition, window_task, .. } => {
                let evaluated = {
                    let _gate = cp.enter(out);
                    let mut s = lock(&rule.state);
                    let ModeState::Windowed(state) = &mut s.mode else { return Err("window state missing".into()) };
                    let mut touched = Touched::new();
                    for item in &items {
                        if let Item::Batch(b) = item {
                            state.fold(windowing, b, &mut touched)?;
                        }
                    }
                    state.evaluate(windowing, &touched)?
                };
                let Some((table, panes)) = evaluated else { return Ok(counts) };
                let Some(hits) = Self::run(rule, condition, window_task, "window", &table).await else {
                    return Ok(counts);
                };
                let by_window: HashMap<(&str, i64), &WindowPanes> =
                    panes.iter().map(|p| ((p.key.as_str(), p.start), p)).collect();
                let sums_bytes =
                    windowing.spec().aggregates.iter().any(|a| a.name == "bytes" && a.func == windowed::AggFunc::Sum);
                let _gate = cp.enter(out);
                let mut s = lock(&rule.state);
                for hit in &hits {
                    let keys: Vec<columns::Reader> = windowing
                        .spec()
                        .key
                        .iter()
                        .map(|k| columns::Reader::new(hit, k, columns::ValueKind::Text))
                        .collect::<Result<_, _>>()?;
                    let starts = columns::Reader::new(hit, "window_start", columns::ValueKind::Time)?;
                    let rows = output_json::rows_as_json(hit)?;
                    let mut key = String::new();
                    for (i, row) in rows.into_iter().enumerate() {
                        windowed::key_of(&keys, i, &mut key);
                        let Some(ws) = starts.int(i) else { continue };
                        let Some(p) = by_window.get(&(key.as_str(), ws)) else { continue };
                        count(s.findings.admit(&rule.def, row, Contribution::Window(p, sums_bytes))?);
                    }
                }
            }
        }
        Ok(counts)
    }

    /// Emit the state size of every stateful rule as a metric.
    pub fn report_state(&self) {
        for r in self.rules() {
            if let Some(keys) = r.state_keys() {
                emit(RuleStateSize { rule: r.def.id(), keys });
            }
        }
    }

    /// Restore rule state from the state directory's checkpoint. A rule
    /// whose definition changed since (another fingerprint) starts empty.
    /// Returns how many rules got their state back, and where each stream
    /// was read up to.
    pub fn restore(&self) -> Result<(usize, BTreeMap<String, Resume>), String> {
        let cp = &self.shared.checkpoints;
        let file = cp.dir().map_or_else(String::new, |d| d.join(checkpoint::STATE_FILE).display().to_string());
        let what = format!("the rule-state checkpoint {file}");
        let Some(bytes) =
            cp.read().map_err(|e| format!("cannot read {what} ({e}); move it away to start with empty state"))?
        else {
            return Ok((0, BTreeMap::new()));
        };
        self.restore_from(&bytes, &what)
    }

    /// Restore rule state from a snapshot's bytes ([`DetectionEngine::snapshot`]);
    /// `what` names where they came from in errors. As [`DetectionEngine::restore`].
    pub fn restore_from(&self, bytes: &[u8], what: &str) -> Result<(usize, BTreeMap<String, Resume>), String> {
        let version: Option<u32> = serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| v.get("version").and_then(Value::as_u64))
            .and_then(|v| u32::try_from(v).ok());
        if version != Some(CHECKPOINT_VERSION) {
            return Err(format!(
                "{what} is format version {} and this floodlight reads version {CHECKPOINT_VERSION}; move it \
                 away to start with empty state",
                version.map_or_else(|| "unknown".to_string(), |v| v.to_string())
            ));
        }
        let saved: Saved = serde_json::from_slice(bytes)
            .map_err(|e| format!("{what} is not readable ({e}); move it away to start with empty state"))?;
        let mut restored = 0;
        if let Some(state) = saved.attribution {
            self.shared.attribution.restore(state);
        }
        for (id, rule_state) in saved.rules {
            if let Some(r) = self.rule(&id).filter(|r| r.fingerprint == rule_state.fingerprint) {
                let mut state = rule_state.state;
                state.findings.set_capacity(self.shared.dedup_capacity);
                *lock(&r.state) = state;
                restored += 1;
            }
        }
        Ok((restored, saved.streams))
    }

    /// Serialise every rule's state and `streams` (where each stream was read
    /// up to) and close the checkpoint epoch. Call between state changes.
    pub fn snapshot(&self, streams: &BTreeMap<String, Resume>) -> Option<(u64, Result<Vec<u8>, String>)> {
        let cp = &self.shared.checkpoints;
        if !cp.keeps_state() {
            return None;
        }
        let (epoch, json) = cp.snapshot(|| {
            let rules = self
                .rules()
                .iter()
                .map(|r| {
                    let state = lock(&r.state).clone();
                    (r.def.id().to_string(), SavedRule { fingerprint: r.fingerprint.clone(), state })
                })
                .collect();
            let saved = Saved {
                version: CHECKPOINT_VERSION,
                rules,
                streams: streams.clone(),
                attribution: Some(self.shared.attribution.snapshot()),
            };
            serde_json::to_vec(&saved).map_err(|e| format!("cannot serialise rule state: {e}"))
        });
        Some((epoch, json))
    }

    /// Write a snapshot once the batches that changed the state up to its
    /// epoch are written by every sink (at most `timeout`).
    pub async fn write_checkpoint(
        &self,
        epoch: u64,
        json: Result<Vec<u8>, String>,
        timeout: Duration,
    ) -> Result<Option<PathBuf>, String> {
        let cp = &self.shared.checkpoints;
        let json = json.inspect_err(|e| emit(CheckpointWritten { result: Err(e), rules: 0 }))?;
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

    /// Wait until the batches that changed the state up to `epoch` are
    /// written by every sink, at most `timeout`; whether they were.
    pub async fn wait_released(&self, epoch: u64, timeout: Duration) -> bool {
        self.shared.checkpoints.wait_released(epoch, timeout).await
    }

    /// Findings one rule remembers (tests and metrics).
    pub fn findings_held(&self, id: &str) -> usize {
        self.rule(id).map_or(0, |r| lock(&r.state).findings.len())
    }
}

/// Split `batch` into rows at or after `released` in column `time` and the
/// rows before it (`None` when there are none).
fn split_behind(batch: &RecordBatch, time: &str, released: i64) -> Result<(RecordBatch, Option<RecordBatch>), String> {
    if released == i64::MIN {
        return Ok((batch.clone(), None));
    }
    let t = columns::Reader::new(batch, time, columns::ValueKind::Time)?;
    let keep: arrow::array::BooleanArray =
        (0..batch.num_rows()).map(|i| Some(t.int(i).is_none_or(|v| v >= released))).collect();
    if keep.true_count() == batch.num_rows() {
        return Ok((batch.clone(), None));
    }
    let behind = arrow::compute::not(&keep).map_err(|e| e.to_string())?;
    let on_time = arrow::compute::filter_record_batch(batch, &keep).map_err(|e| e.to_string())?;
    let late = arrow::compute::filter_record_batch(batch, &behind).map_err(|e| e.to_string())?;
    Ok((on_time, Some(late)))
}

/// One interval's batches as one batch sorted by (`time`, `event_id`).
fn sorted_batch(items: Vec<Item>, time: &str) -> Result<Option<RecordBatch>, String> {
    let batches: Vec<RecordBatch> = items
        .into_iter()
        .filter_map(|i| match i {
            Item::Batch(b) if b.num_rows() > 0 => Some(b),
            _ => None,
        })
        .collect();
    let Some(first) = batches.first() else { return Ok(None) };
    let all = arrow::compute::concat_batches(&first.schema(), &batches).map_err(|e| e.to_string())?;
    let mut keys = Vec::new();
    for col in [time, "event_id"] {
        if let Some(c) = all.column_by_name(col) {
            keys.push(arrow::compute::SortColumn { values: c.clone(), options: None });
        }
    }
    let idx = arrow::compute::lexsort_to_indices(&keys, None).map_err(|e| e.to_string())?;
    arrow::compute::take_record_batch(&all, &idx).map(Some).map_err(|e| e.to_string())
}
