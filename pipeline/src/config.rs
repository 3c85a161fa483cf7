//! The configuration file: TOML, every table `deny_unknown_fields`, with
//! environment-variable interpolation, validated as a whole before a run.
//!
//! ```toml
//! [runtime]
//! workers = 0                 # 0 = one per core
//!
//! [[sources]]
//! type = "file"               # file | stdin | demo | kafka
//! name = "firewall"
//! paths = ["/var/log/pan/*.log"]
//! format = "panos"
//!
//! [enrichments]
//! corporate_domains = ["corp.example.com"]
//!
//! [rules.params.SS-04]
//! min_bytes_out = 100000
//!
//! [sinks.findings]
//! path = "-"                  # JSON lines; "-" is stdout
//! [sinks.lake]
//! path = "/data/floodlight"
//! [sinks.dead_letter]
//! path = "/data/floodlight/dead-letter.jsonl"
//! ```
//!
//! `${VAR}` is replaced by the environment variable `VAR` (an error if it is
//! unset), `${VAR:-default}` falls back to `default`, `$$` is a literal `$`;
//! comments are left as written.
//! The full reference is in the README.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use floodlight_enrichments::{EnrichmentConfig, Enrichments};
use serde::Deserialize;

pub use crate::analyst_config::{QueryConfig, Role, ServerConfig, TokenConfig};
use crate::decode::registry::{decoder_for, format_ids};
use crate::detect::{load_rules, DetectionEngine, RuleSettings, RuleSource, RuleWatch, Shared};
use crate::health::health;
use crate::runtime::{Pipeline, RuntimeOptions, VendorFieldsPolicy};
use crate::schema::{ClassSchemas, VendorFieldsFilter};
use crate::sinks::jsonl::{JsonLinesSink, Stream};
use crate::sinks::kafka::{KafkaSink, KafkaSinkConfig};
use crate::sinks::lake::{LakeLocation, LakeOptions, LakeSink};
use crate::sinks::Sink;
use crate::source::embedded::EmbeddedDemoSource;
use crate::source::file::{FileSource, FileSourceConfig};
use crate::source::kafka::{KafkaSource, KafkaSourceConfig};
use crate::source::stdin::{StdinSource, StdinSourceConfig};
use crate::source::{BatchLimits, Source};
use crate::transform::Enricher;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Runtime settings.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// Inputs. Empty means the embedded demo logs.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Enrichment data.
    #[serde(default)]
    pub enrichments: EnrichmentConfig,
    /// Which rules run, with which parameters.
    #[serde(default)]
    pub rules: RulesConfig,
    /// Outputs.
    #[serde(default)]
    pub sinks: SinksConfig,
    /// Limits for analyst SQL (`floodlight query`, the API).
    #[serde(default)]
    pub query: QueryConfig,
    /// The analyst HTTP API (`floodlight serve`, `run --serve`).
    #[serde(default)]
    pub server: Option<ServerConfig>,
    /// Nudges to people about their findings, and their answers.
    #[serde(default)]
    pub nudges: Option<crate::nudge_config::NudgesConfig>,
    /// The operations listener: `/healthz`, `/readyz`, `/metrics`.
    #[serde(default)]
    pub admin: Option<crate::admin_config::AdminConfig>,
    /// One process, or one replica of many ([`crate::scale`]).
    #[serde(default)]
    pub cluster: crate::cluster_config::ClusterConfig,
}

/// `[runtime]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Worker tasks for decode/enrich/detect; 0 = one per core.
    pub workers: usize,
    /// Batches buffered between stages.
    pub channel_capacity: usize,
    /// A micro-batch closes at this many records...
    pub batch_max_records: usize,
    /// ...or this long after its first record (streaming inputs).
    pub batch_max_wait: String,
    /// How long to wait at shutdown for in-flight batches to be written.
    pub drain_timeout: String,
    /// How often sinks flush and roll files.
    pub flush_interval: String,
    /// Finding ids remembered for dedup, per rule.
    pub dedup_capacity: usize,
    /// How far behind its stream's newest event a record may be and still
    /// count for the rules (a source's `allowed_lateness` overrides it).
    pub allowed_lateness: String,
    /// How long a stream whose source waits for input (a quiet Kafka
    /// partition, a followed file, stdin) holds the watermark back.
    pub idle_timeout: String,
    /// Which vendor fields rows keep in `vendor_fields`: `"auto"` (all of
    /// them when events are written to the lake or Kafka, or a rule reads
    /// the column; none otherwise), `"all"`, `"none"`, or a list of keys.
    pub vendor_fields: VendorFieldsSetting,
}

/// `[runtime] vendor_fields`; see [`RuntimeConfig::vendor_fields`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VendorFieldsSetting {
    /// Kept when something reads them.
    #[default]
    Auto,
    /// Always all.
    All,
    /// Only these keys (none when empty).
    Only(Vec<String>),
}

impl<'de> Deserialize<'de> for VendorFieldsSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Keys(Vec<String>),
        }
        let expected = "\"auto\", \"all\", \"none\" or a list of field names";
        match Raw::deserialize(d).map_err(|_| serde::de::Error::custom(format!("expected {expected}")))? {
            Raw::Word(w) => match w.as_str() {
                "auto" => Ok(VendorFieldsSetting::Auto),
                "all" => Ok(VendorFieldsSetting::All),
                "none" => Ok(VendorFieldsSetting::Only(Vec::new())),
                other => Err(serde::de::Error::custom(format!("`{other}`: expected {expected}"))),
            },
            Raw::Keys(keys) => Ok(VendorFieldsSetting::Only(keys)),
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            workers: 0,
            channel_capacity: 4,
            batch_max_records: 8192,
            batch_max_wait: "100ms".into(),
            drain_timeout: "30s".into(),
            flush_interval: "1s".into(),
            dedup_capacity: 100_000,
            allowed_lateness: "1m".into(),
            idle_timeout: "30s".into(),
            vendor_fields: VendorFieldsSetting::Auto,
        }
    }
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// Files or globs, once or followed.
    File {
        /// Name in logs and metrics (default: `file-<n>`).
        #[serde(default)]
        name: Option<String>,
        /// Paths or globs; relative to the config file.
        paths: Vec<String>,
        /// Input format id.
        format: String,
        /// Follow like `tail -F`.
        #[serde(default)]
        follow: bool,
        /// Poll interval when following.
        #[serde(default)]
        poll_interval: Option<String>,
        /// Lateness allowed in these files (default: `[runtime] allowed_lateness`).
        #[serde(default)]
        allowed_lateness: Option<String>,
    },
    /// Standard input.
    Stdin {
        /// Name in logs and metrics (default: `stdin`).
        #[serde(default)]
        name: Option<String>,
        /// Input format id.
        format: String,
        /// Lateness allowed in the input (default: `[runtime] allowed_lateness`).
        #[serde(default)]
        allowed_lateness: Option<String>,
    },
    /// The demo logs compiled into the binary.
    Demo {},
    /// A Kafka consumer group (at-least-once; see `docs/kafka.md`).
    Kafka(KafkaSourceConfig),
}

/// `[rules]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Directories of rule files; empty = the rule pack compiled into the binary.
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
    /// Rule ids not to run.
    #[serde(default)]
    pub disabled: Vec<String>,
    /// Parameter overrides: `[rules.params.SS-04] min_bytes_out = 100000`.
    #[serde(default)]
    pub params: BTreeMap<String, BTreeMap<String, toml::Value>>,
    /// Where windowed / first-seen / correlation state and dedup are
    /// checkpointed (relative to the config file); none = memory only, state
    /// is lost at exit.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// How often state is checkpointed (also at the end of a run).
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: String,
    /// Watch `dirs` and swap in changed rules while running (default: on
    /// when `dirs` is set). A rule that fails to load or compile is rejected
    /// and its previous version keeps running.
    #[serde(default)]
    pub reload: Option<bool>,
    /// How often rule files are checked for changes.
    #[serde(default = "default_rule_poll")]
    pub reload_interval: String,
    /// Stateful rules (and the dedup of every rule) take their rows in
    /// event-time order, this much event time at a time, once the watermark
    /// has passed it; findings are raised and updated at these steps.
    #[serde(default = "default_evaluation_interval")]
    pub evaluation_interval: String,
    /// A new finding is written after the interval that raised it; a
    /// finding that grows afterwards is written again (its next revision)
    /// at most this often, at whole multiples of it in event time (UTC):
    /// `1m`, the evaluation interval, writes every change. At most `1d`.
    #[serde(default = "default_update_interval")]
    pub update_interval: String,
    /// Naming the person behind an internal address (`[rules.attribution]`).
    #[serde(default)]
    pub attribution: AttributionConfig,
}

/// `[rules.attribution]`: rows that name no person get the one the logs
/// showed on their source address at their event time (docs/enrichment.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributionConfig {
    /// Off: rows without a user stay without a person.
    pub enabled: bool,
    /// How long after their last sighting on an address a person is still
    /// taken to be on it.
    pub max_age: String,
    /// Which rows without a user wait for attribution: `unsanctioned_apps`
    /// (to a catalog app that is not sanctioned) or `all`.
    pub rows: crate::attribute::HeldRows,
    /// Internal networks, whose addresses are attributed; the private
    /// ranges when empty.
    pub networks: Vec<ipnet::IpNet>,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig {
            enabled: true,
            max_age: "1h".into(),
            rows: crate::attribute::HeldRows::UnsanctionedApps,
            networks: Vec::new(),
        }
    }
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            dirs: Vec::new(),
            disabled: Vec::new(),
            params: BTreeMap::new(),
            state_dir: None,
            checkpoint_interval: default_checkpoint_interval(),
            reload: None,
            reload_interval: default_rule_poll(),
            evaluation_interval: default_evaluation_interval(),
            update_interval: default_update_interval(),
            attribution: AttributionConfig::default(),
        }
    }
}

fn default_checkpoint_interval() -> String {
    "30s".into()
}
fn default_rule_poll() -> String {
    "2s".into()
}
fn default_evaluation_interval() -> String {
    "1m".into()
}
fn default_update_interval() -> String {
    humantime::format_duration(crate::detect::DEFAULT_UPDATE_INTERVAL).to_string()
}

/// `[sinks]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinksConfig {
    /// Findings as JSON lines.
    pub findings: Option<JsonLinesConfig>,
    /// Parquet lake of events and findings.
    pub lake: Option<LakeConfig>,
    /// Records that could not be decoded, as JSON lines.
    pub dead_letter: Option<JsonLinesConfig>,
    /// Findings, events and dead letters to Kafka topics.
    pub kafka: Option<KafkaSinkConfig>,
}

impl SinksConfig {
    /// Where the outputs go, as (what, where) for people to read: paths
    /// resolved against `base_dir`, `stdout`, an object-store URL, topics.
    pub fn outputs(&self, base_dir: &Path) -> Vec<(&'static str, String)> {
        let file = |p: &Path| {
            if p.as_os_str() == "-" {
                "stdout".to_string()
            } else {
                let full = resolve(base_dir, p);
                full.strip_prefix(".").unwrap_or(&full).display().to_string()
            }
        };
        let mut out = Vec::new();
        if let Some(f) = &self.findings {
            out.push(("findings", file(&f.path)));
        }
        if let Some(l) = &self.lake {
            let at = match (&l.path, &l.url) {
                (Some(p), _) => file(p),
                (None, Some(u)) => u.clone(),
                (None, None) => String::new(),
            };
            out.push(("lake", at));
        }
        if let Some(d) = &self.dead_letter {
            out.push(("dead letters", file(&d.path)));
        }
        if let Some(k) = &self.kafka {
            let topics =
                [("findings", &k.findings_topic), ("events", &k.events_topic), ("dead letters", &k.dead_letter_topic)];
            for (what, topic) in topics {
                if let Some(t) = topic {
                    out.push((what, format!("kafka topic {t} ({})", k.brokers)));
                }
            }
        }
        out
    }
}

/// A JSON-lines output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesConfig {
    /// File path (relative to the config file), or `-` for stdout.
    pub path: PathBuf,
}

/// `[sinks.lake]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    /// Root directory (relative to the config file). Set this or `url`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Object-store root instead of a directory: `s3://bucket/prefix`.
    #[serde(default)]
    pub url: Option<String>,
    /// Object-store settings by `object_store`'s S3 key names without the
    /// `aws_` prefix: `endpoint`, `region`, `allow_http`,
    /// `virtual_hosted_style_request`, ... Credentials come from the
    /// environment (`AWS_ACCESS_KEY_ID`, ...), never from here.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Local directory for files on their way to an object store (default:
    /// the system temporary directory).
    #[serde(default)]
    pub spool_dir: Option<PathBuf>,
    /// Write enriched events (`events/class=.../date=...`).
    #[serde(default = "yes")]
    pub events: bool,
    /// Write findings (`findings/class=.../date=...`).
    #[serde(default = "yes")]
    pub findings: bool,
    /// Close a file after this many rows.
    #[serde(default = "default_roll_rows")]
    pub roll_rows: usize,
    /// Close a file this long after opening it.
    #[serde(default = "default_roll_after")]
    pub roll_after: String,
}

impl LakeConfig {
    /// Where the lake lives; relative paths resolve against `base_dir`.
    pub fn location(&self, base_dir: &Path) -> Result<LakeLocation, String> {
        match (&self.path, &self.url) {
            (Some(p), None) => Ok(LakeLocation::Local(resolve(base_dir, p))),
            (None, Some(u)) => LakeLocation::from_url(u, self.options.clone()).map_err(|e| e.to_string()),
            (Some(_), Some(_)) => Err("set either `path` (a directory) or `url` (an object store), not both".into()),
            (None, None) => Err("needs `path` (a directory) or `url` (`s3://bucket/prefix`)".into()),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_roll_rows() -> usize {
    1_000_000
}
fn default_roll_after() -> String {
    "60s".into()
}

/// A configuration mistake: the setting and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigProblem {
    /// Dotted path of the setting (`sources[0].format`).
    pub setting: String,
    /// What is wrong, and what would be right.
    pub problem: String,
}

fn problem(setting: impl Into<String>, problem: impl Into<String>) -> ConfigProblem {
    ConfigProblem { setting: setting.into(), problem: problem.into() }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// Config path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `${VAR}` interpolation failed.
    #[error("{path}:{line}: {message}")]
    Interpolation {
        /// Config path.
        path: PathBuf,
        /// Line of the reference.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// TOML syntax or an unknown / mistyped setting.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// Config path.
        path: PathBuf,
        /// Line of the error.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Settings that parse but are invalid.
    #[error("{} problem(s) in the configuration:\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigProblem>),
    /// A rule failed to load or compile.
    #[error("{} rule error(s):\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Rules(Vec<crate::detect::RuleError>),
    /// Enrichment data could not be loaded.
    #[error("enrichments: {0}")]
    Enrichments(String),
    /// Checkpointed rule state could not be restored.
    #[error("rules.state_dir: {0}")]
    State(String),
    /// Scale-out's internal topics could not be set up.
    #[error("[cluster] {0}")]
    Cluster(String),
    /// A sink could not be opened.
    #[error("{0}")]
    Sink(#[from] crate::sinks::SinkError),
}

/// Replace `${VAR}` / `${VAR:-default}` / `$$` using `lookup`, outside TOML
/// comments: a commented-out line keeps its `${...}` as written (the
/// example configs show optional settings that way).
pub fn interpolate(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in comment_ranges(text).into_iter().chain([(text.len(), text.len())]) {
        interpolate_part(text, at, start, &lookup, &mut out)?;
        out.push_str(&text[start..end]);
        at = end;
    }
    Ok(out)
}

/// The byte ranges of `text` that are TOML comments: from a `#` outside
/// any string to the end of its line.
fn comment_ranges(text: &str) -> Vec<(usize, usize)> {
    #[derive(Clone, Copy, PartialEq)]
    enum In {
        Code,
        Basic,
        Literal,
        MultiBasic,
        MultiLiteral,
    }
    let b = text.as_bytes();
    let mut ranges = Vec::new();
    let mut state = In::Code;
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        match state {
            In::Code if rest.starts_with(b"\"\"\"") => (state, i) = (In::MultiBasic, i + 3),
            In::Code if rest.starts_with(b"'''") => (state, i) = (In::MultiLiteral, i + 3),
            In::Code if b[i] == b'#' => {
                let end = text[i..].find('\n').map_or(b.len(), |e| i + e);
                ranges.push((i, end));
                i = end;
            }
            In::Code => {
                state = match b[i] {
                    b'"' => In::Basic,
                    b'\'' => In::Literal,
                    _ => In::Code,
                };
                i += 1;
            }
            In::Basic | In::MultiBasic if b[i] == b'\\' => i += 2,
            In::Basic if b[i] == b'"' || b[i] == b'\n' => (state, i) = (In::Code, i + 1),
            In::Literal if b[i] == b'\'' || b[i] == b'\n' => (state, i) = (In::Code, i + 1),
            In::MultiBasic if rest.starts_with(b"\"\"\"") => (state, i) = (In::Code, i + 3),
            In::MultiLiteral if rest.starts_with(b"'''") => (state, i) = (In::Code, i + 3),
            _ => i += 1,
        }
    }
    ranges
}

/// Interpolate `text[from..to]` (no comment in it) onto `out`; errors give
/// the line in the whole `text`.
fn interpolate_part(
    text: &str,
    from: usize,
    to: usize,
    lookup: &impl Fn(&str) -> Option<String>,
    out: &mut String,
) -> Result<(), (usize, String)> {
    let part = &text[from..to];
    let mut rest = part;
    let line_at = |consumed: usize| text[..from + consumed].matches('\n').count() + 1;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(body) = after.strip_prefix('{') {
            let consumed = part.len() - rest.len() + i;
            let end = body
                .find('}')
                .ok_or_else(|| (line_at(consumed), "unclosed `${` (write `$$` for a literal `$`)".to_string()))?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err((
                    line_at(consumed),
                    format!("`${{{inner}}}` is not a valid variable reference (letters, digits and `_`)"),
                ));
            }
            match (lookup(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err((
                        line_at(consumed),
                        format!("environment variable `{name}` is not set (use `${{{name}:-default}}` for a fallback)"),
                    ))
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(())
}

fn duration(setting: &str, value: &str, problems: &mut Vec<ConfigProblem>) -> Duration {
    match humantime::parse_duration(value) {
        Ok(d) => d,
        Err(e) => {
            problems
                .push(problem(setting, format!("`{value}` is not a duration ({e}); write e.g. `500ms`, `30s`, `5m`")));
            Duration::from_secs(1)
        }
    }
}

impl Config {
    /// Parse config text (after interpolation). `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let text = interpolate(text, |k| std::env::var(k).ok())
            .map_err(|(line, message)| ConfigError::Interpolation { path: path.to_path_buf(), line, message })?;
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
            ConfigError::Parse { path: path.to_path_buf(), line, message: e.message().to_string() }
        })
    }

    /// Read and parse a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::parse(&text, path)
    }

    /// Every problem with the settings (not the rules: see [`Config::check`]).
    pub fn problems(&self, base_dir: &Path) -> Vec<ConfigProblem> {
        let mut p = Vec::new();
        let r = &self.runtime;
        if r.channel_capacity == 0 {
            p.push(problem("runtime.channel_capacity", "must be at least 1"));
        }
        if r.batch_max_records == 0 {
            p.push(problem("runtime.batch_max_records", "must be at least 1"));
        }
        if r.dedup_capacity == 0 {
            p.push(problem("runtime.dedup_capacity", "must be at least 1"));
        }
        duration("runtime.batch_max_wait", &r.batch_max_wait, &mut p);
        duration("runtime.drain_timeout", &r.drain_timeout, &mut p);
        duration("runtime.flush_interval", &r.flush_interval, &mut p);
        duration("runtime.allowed_lateness", &r.allowed_lateness, &mut p);
        duration("runtime.idle_timeout", &r.idle_timeout, &mut p);
        if duration("rules.evaluation_interval", &self.rules.evaluation_interval, &mut p).is_zero() {
            p.push(problem("rules.evaluation_interval", "must be longer than zero"));
        }
        let update = duration("rules.update_interval", &self.rules.update_interval, &mut p);
        if update.is_zero() || update > Duration::from_secs(86_400) {
            p.push(problem("rules.update_interval", "must be longer than zero and at most 1d"));
        }
        if duration("rules.attribution.max_age", &self.rules.attribution.max_age, &mut p).is_zero() {
            p.push(problem("rules.attribution.max_age", "must be longer than zero"));
        }
        duration("rules.checkpoint_interval", &self.rules.checkpoint_interval, &mut p);
        duration("rules.reload_interval", &self.rules.reload_interval, &mut p);
        if let Some(dir) = &self.rules.state_dir {
            let full = resolve(base_dir, dir);
            if full.exists() && !full.is_dir() {
                p.push(problem("rules.state_dir", format!("`{}` exists and is not a directory", full.display())));
            }
        }
        let mut names = BTreeMap::new();
        for (i, s) in self.sources.iter().enumerate() {
            let (name, format) = match s {
                SourceConfig::File { name, paths, format, poll_interval, allowed_lateness, .. } => {
                    if let Some(l) = allowed_lateness {
                        duration(&format!("sources[{i}].allowed_lateness"), l, &mut p);
                    }
                    if paths.is_empty() {
                        p.push(problem(format!("sources[{i}].paths"), "must name at least one file or glob"));
                    }
                    for (j, pat) in paths.iter().enumerate() {
                        if let Err(e) = glob::Pattern::new(pat) {
                            p.push(problem(
                                format!("sources[{i}].paths[{j}]"),
                                format!("`{pat}` is not a valid glob: {e}"),
                            ));
                        }
                    }
                    if let Some(pi) = poll_interval {
                        duration(&format!("sources[{i}].poll_interval"), pi, &mut p);
                    }
                    (name.clone().unwrap_or_else(|| format!("file-{i}")), Some(format))
                }
                SourceConfig::Stdin { name, format, allowed_lateness } => {
                    if let Some(l) = allowed_lateness {
                        duration(&format!("sources[{i}].allowed_lateness"), l, &mut p);
                    }
                    (name.clone().unwrap_or_else(|| "stdin".into()), Some(format))
                }
                SourceConfig::Demo {} => ("demo".to_string(), None),
                SourceConfig::Kafka(k) => {
                    for (setting, msg) in crate::source::kafka::config_problems(k) {
                        p.push(problem(format!("sources[{i}].{setting}"), msg));
                    }
                    for (j, route) in k.topics.iter().enumerate() {
                        if decoder_for(&route.format).is_none() {
                            p.push(problem(
                                format!("sources[{i}].topics[{j}].format"),
                                format!("unknown format `{}` (known: {})", route.format, format_ids()),
                            ));
                        }
                    }
                    duration(&format!("sources[{i}].commit_interval"), &k.commit_interval, &mut p);
                    if let Some(l) = &k.allowed_lateness {
                        duration(&format!("sources[{i}].allowed_lateness"), l, &mut p);
                    }
                    duration(&format!("sources[{i}].revoke_timeout"), &k.revoke_timeout, &mut p);
                    (k.name.clone().unwrap_or_else(|| format!("kafka-{i}")), None)
                }
            };
            if let Some(format) = format {
                if decoder_for(format).is_none() {
                    p.push(problem(
                        format!("sources[{i}].format"),
                        format!("unknown format `{format}` (known: {})", format_ids()),
                    ));
                }
            }
            if let Some(first) = names.insert(name.clone(), i) {
                p.push(problem(
                    format!("sources[{i}].name"),
                    format!("`{name}` is already the name of sources[{first}]"),
                ));
            }
        }
        for (setting, msg) in crate::transform::enrich::custom_column_problems(&self.enrichments) {
            p.push(problem(&setting, msg));
        }
        for msg in self.enrichments.validate(base_dir) {
            p.push(problem("enrichments", msg));
        }
        if let Some(k) = &self.sinks.kafka {
            for (setting, msg) in crate::sinks::kafka::config_problems(k) {
                p.push(problem(format!("sinks.kafka.{setting}"), msg));
            }
            duration("sinks.kafka.queue_full_timeout", &k.queue_full_timeout, &mut p);
        }
        duration("query.timeout", &self.query.timeout, &mut p);
        if self.query.max_rows == 0 {
            p.push(problem("query.max_rows", "must be at least 1"));
        }
        if self.query.memory_limit_mib < 16 {
            p.push(problem("query.memory_limit_mib", "must be at least 16"));
        }
        if let Some(admin) = &self.admin {
            for (setting, msg) in admin.problems(self.server.as_ref().map(|s| s.listen)) {
                p.push(problem(format!("admin.{setting}"), msg));
            }
        }
        if let Some(server) = &self.server {
            for (setting, msg) in server.problems() {
                p.push(problem(format!("server.{setting}"), msg));
            }
        }
        if let Some(nudges) = &self.nudges {
            for (setting, msg) in nudges.problems() {
                p.push(problem(format!("nudges.{setting}"), msg));
            }
        }
        if let Some(l) = &self.sinks.lake {
            if l.roll_rows == 0 {
                p.push(problem("sinks.lake.roll_rows", "must be at least 1"));
            }
            duration("sinks.lake.roll_after", &l.roll_after, &mut p);
            if let Err(msg) = l.location(base_dir) {
                p.push(problem("sinks.lake", msg));
            }
            if l.path.is_some() && !l.options.is_empty() {
                p.push(problem("sinks.lake.options", "object-store options need `url`, not `path`"));
            }
            if !l.events && !l.findings {
                p.push(problem(
                    "sinks.lake",
                    "writes nothing: set `events` or `findings` to true, or remove the table",
                ));
            }
        }
        let view = crate::cluster_config::ReplicaView {
            sources: self
                .sources
                .iter()
                .map(|s| match s {
                    SourceConfig::Kafka(k) => Some(k),
                    _ => None,
                })
                .collect(),
            state_dir: self.rules.state_dir.is_some(),
            attribution: self.rules.attribution.enabled,
        };
        for (setting, msg) in self.cluster.problems(&view) {
            p.push(problem(setting, msg));
        }
        for (dir_i, d) in self.rules.dirs.iter().enumerate() {
            let full = base_dir.join(d);
            if !full.is_dir() {
                p.push(problem(format!("rules.dirs[{dir_i}]"), format!("`{}` is not a directory", full.display())));
            }
        }
        p
    }

    /// The rule settings and source.
    pub fn rule_setup(&self, base_dir: &Path) -> (RuleSource, RuleSettings) {
        let source = if self.rules.dirs.is_empty() {
            RuleSource::Embedded
        } else {
            RuleSource::Dirs(self.rules.dirs.iter().map(|d| base_dir.join(d)).collect())
        };
        (source, RuleSettings { disabled: self.rules.disabled.clone(), params: self.rules.params.clone() })
    }

    /// Validate everything: settings, then every rule loaded and compiled.
    pub async fn check(&self, base_dir: &Path) -> Result<DetectionEngine, ConfigError> {
        self.compile_rules(base_dir, self.shared(None)).await
    }

    /// What the rules share: dedup capacity, checkpoints in `state_dir`, the evaluation interval.
    fn shared(&self, state_dir: Option<PathBuf>) -> Arc<Shared> {
        let mut ignore = Vec::new();
        let interval = duration("", &self.rules.evaluation_interval, &mut ignore);
        let a = &self.rules.attribution;
        let attribution = crate::attribute::AttributionSettings {
            enabled: a.enabled,
            max_age: crate::event_time::micros(duration("", &a.max_age, &mut ignore)).max(1),
            rows: a.rows,
            networks: if a.networks.is_empty() { crate::attribute::private_networks() } else { a.networks.clone() },
        };
        let update_interval = duration("", &self.rules.update_interval, &mut ignore);
        Shared::with_attribution(self.runtime.dedup_capacity.max(1), state_dir, interval, update_interval, attribution)
    }

    async fn compile_rules(&self, base_dir: &Path, shared: Arc<Shared>) -> Result<DetectionEngine, ConfigError> {
        let problems = self.problems(base_dir);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        let (source, settings) = self.rule_setup(base_dir);
        let (defs, errors) = load_rules(&source, &settings);
        if !errors.is_empty() {
            return Err(ConfigError::Rules(errors));
        }
        let (engine, errors) = DetectionEngine::compile_with(defs, &self.class_schemas(), shared, None).await;
        if errors.is_empty() {
            Ok(engine)
        } else {
            Err(ConfigError::Rules(errors))
        }
    }

    /// The rule-state directory, resolved.
    pub fn state_dir(&self, base_dir: &Path) -> Option<PathBuf> {
        self.rules.state_dir.as_ref().map(|d| resolve(base_dir, d))
    }

    /// The enriched schemas rules are planned against and the enrichment
    /// stage builds (built-in columns plus what `[enrichments]` adds).
    pub fn class_schemas(&self) -> ClassSchemas {
        crate::transform::enrich::class_schemas(&self.enrichments)
    }

    /// Whether enriched events leave the process: the lake with `events`, or
    /// a Kafka `events_topic`.
    pub fn writes_events(&self) -> bool {
        self.sinks.lake.as_ref().is_some_and(|l| l.events)
            || self.sinks.kafka.as_ref().is_some_and(|k| k.events_topic.is_some())
    }

    /// Runtime options from `[runtime]` (call after [`Config::problems`]).
    pub fn runtime_options(&self) -> RuntimeOptions {
        let mut ignore = Vec::new();
        let r = &self.runtime;
        RuntimeOptions {
            workers: r.workers,
            channel_capacity: r.channel_capacity.max(1),
            limits: BatchLimits {
                max_records: r.batch_max_records.max(1),
                max_wait: duration("", &r.batch_max_wait, &mut ignore),
                ..BatchLimits::default()
            },
            drain_timeout: duration("", &r.drain_timeout, &mut ignore),
            flush_interval: duration("", &r.flush_interval, &mut ignore),
            checkpoint_interval: duration("", &self.rules.checkpoint_interval, &mut ignore),
            allowed_lateness: duration("", &r.allowed_lateness, &mut ignore),
            idle_timeout: duration("", &r.idle_timeout, &mut ignore),
            vendor_fields: match &r.vendor_fields {
                VendorFieldsSetting::Auto => VendorFieldsPolicy::Auto { events_written: self.writes_events() },
                VendorFieldsSetting::All => VendorFieldsPolicy::Fixed(VendorFieldsFilter::All),
                VendorFieldsSetting::Only(keys) if keys.is_empty() => {
                    VendorFieldsPolicy::Fixed(VendorFieldsFilter::None)
                }
                VendorFieldsSetting::Only(keys) => {
                    VendorFieldsPolicy::Fixed(VendorFieldsFilter::Only(keys.iter().cloned().collect()))
                }
            },
            // The sinks say for themselves (`Sink::writes_events`).
            send_events: false,
            ..RuntimeOptions::default()
        }
    }

    /// Load enrichment data as configured.
    pub fn enrichments(&self, base_dir: &Path) -> Result<Enrichments, ConfigError> {
        Enrichments::load(&self.enrichments, base_dir).map_err(|e| ConfigError::Enrichments(e.to_string()))
    }

    /// Expect the checks [`Config::build`] and the runtime pass: rules,
    /// enrichments, sources ([`crate::health`]). Call it before the admin
    /// listener answers, so `/readyz` never says ready before they do.
    pub fn expect_readiness(&self) {
        let h = health();
        h.expect(crate::health::RULES, "compiling rules");
        h.expect(crate::health::ENRICHMENTS, "loading enrichment data");
        h.expect(crate::health::SOURCES, "starting sources");
    }

    /// Validate and build a runnable pipeline.
    pub async fn build(&self, base_dir: &Path) -> Result<Pipeline, ConfigError> {
        let engine = self.compile_rules(base_dir, self.shared(self.state_dir(base_dir))).await?;
        health().pass(crate::health::RULES);
        let (restored, resume) = engine.restore().map_err(ConfigError::State)?;
        if restored > 0 || !resume.is_empty() {
            tracing::info!(
                rules = restored,
                streams = resume.len(),
                "rule state and read positions restored from the last checkpoint"
            );
        }
        let enrichments = self.enrichments(base_dir)?;
        health().pass(crate::health::ENRICHMENTS);
        let mut sources: Vec<Box<dyn Source>> = Vec::new();
        for (i, s) in self.sources.iter().enumerate() {
            sources.push(match s {
                SourceConfig::File { name, paths, format, follow, poll_interval, allowed_lateness } => {
                    let mut ignore = Vec::new();
                    let poll = poll_interval.as_deref().map(|p| duration("", p, &mut ignore).as_millis() as u64);
                    Box::new(FileSource::new(
                        name.clone().unwrap_or_else(|| format!("file-{i}")),
                        FileSourceConfig {
                            paths: paths.clone(),
                            format: format.clone(),
                            follow: *follow,
                            poll_interval_ms: poll.unwrap_or(250),
                            allowed_lateness: allowed_lateness.as_deref().map(|l| duration("", l, &mut ignore)),
                        },
                        base_dir,
                    ))
                }
                SourceConfig::Stdin { name, format, allowed_lateness } => {
                    let mut ignore = Vec::new();
                    Box::new(StdinSource::new(
                        name.clone().unwrap_or_else(|| "stdin".into()),
                        StdinSourceConfig {
                            format: format.clone(),
                            allowed_lateness: allowed_lateness.as_deref().map(|l| duration("", l, &mut ignore)),
                        },
                    ))
                }
                SourceConfig::Demo {} => Box::new(EmbeddedDemoSource),
                SourceConfig::Kafka(k) => {
                    let mut ignore = Vec::new();
                    let mut config = k.clone();
                    config.options = self.cluster.consumer_options(&k.options);
                    Box::new(KafkaSource::new(
                        k.name.clone().unwrap_or_else(|| format!("kafka-{i}")),
                        config,
                        duration("", &k.commit_interval, &mut ignore),
                        duration("", &k.revoke_timeout, &mut ignore),
                        k.allowed_lateness.as_deref().map(|l| duration("", l, &mut ignore)),
                    ))
                }
            });
        }
        if sources.is_empty() {
            sources.push(Box::new(EmbeddedDemoSource));
        }
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        if let Some(f) = &self.sinks.findings {
            sinks.push(Box::new(JsonLinesSink::open("findings", Stream::Findings, &resolve(base_dir, &f.path))?));
        }
        if let Some(d) = &self.sinks.dead_letter {
            sinks.push(Box::new(JsonLinesSink::open("dead_letter", Stream::DeadLetters, &resolve(base_dir, &d.path))?));
        }
        if let Some(k) = &self.sinks.kafka {
            let mut ignore = Vec::new();
            let timeout = duration("", &k.queue_full_timeout, &mut ignore);
            sinks.push(Box::new(KafkaSink::open("kafka", k.clone(), timeout)?));
        }
        if let Some(l) = &self.sinks.lake {
            let mut ignore = Vec::new();
            sinks.push(Box::new(LakeSink::open(
                "lake",
                LakeOptions {
                    location: l.location(base_dir).map_err(|msg| {
                        ConfigError::Invalid(vec![ConfigProblem { setting: "sinks.lake".into(), problem: msg }])
                    })?,
                    spool: l.spool_dir.as_ref().map(|d| resolve(base_dir, d)),
                    events: l.events,
                    findings: l.findings,
                    roll_rows: l.roll_rows,
                    roll_after: duration("", &l.roll_after, &mut ignore),
                },
            )?));
        }
        let enricher = Arc::new(Enricher::new(Arc::new(enrichments), self.class_schemas()));
        enricher.start_reloader(&self.enrichments, base_dir);
        enricher.register_metrics();
        let mut options = self.runtime_options();
        let (source, settings) = self.rule_setup(base_dir);
        if self.rules.reload.unwrap_or(!self.rules.dirs.is_empty()) && matches!(source, RuleSource::Dirs(_)) {
            let mut ignore = Vec::new();
            options.rule_watch = Some(RuleWatch {
                source,
                settings,
                schemas: self.class_schemas(),
                interval: duration("", &self.rules.reload_interval, &mut ignore),
            });
        }
        let scale = if self.cluster.is_replica() {
            let inputs: Vec<&KafkaSourceConfig> = self
                .sources
                .iter()
                .filter_map(|s| match s {
                    SourceConfig::Kafka(k) => Some(k),
                    _ => None,
                })
                .collect();
            Some(crate::scale::ScaleOut::connect(&self.cluster, &inputs).await.map_err(ConfigError::Cluster)?)
        } else {
            None
        };
        Ok(Pipeline { sources, enricher, engine: Arc::new(engine), sinks, options, resume, scale })
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.as_os_str() == "-" || p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "HOME_DIR" => Some("/home/x".into()),
            _ => None,
        }
    }

    #[test]
    fn interpolation_replaces_defaults_and_escapes() {
        assert_eq!(interpolate("a=${HOME_DIR}/b", env).unwrap(), "a=/home/x/b");
        assert_eq!(interpolate("a=${NOPE:-fallback}", env).unwrap(), "a=fallback");
        assert_eq!(interpolate("cost $$5 and $x", env).unwrap(), "cost $5 and $x");
        let (line, msg) = interpolate("x = 1\ny = \"${MISSING}\"", env).unwrap_err();
        assert_eq!(line, 2);
        assert!(msg.contains("`MISSING` is not set"), "{msg}");
        assert!(interpolate("${bad name}", env).is_err());
        assert!(interpolate("${UNCLOSED", env).is_err());
    }

    #[test]
    fn vendor_fields_reads_words_and_lists_and_follows_the_event_sinks() {
        let runtime = |v: &str| toml::from_str::<RuntimeConfig>(&format!("vendor_fields = {v}"));
        assert_eq!(RuntimeConfig::default().vendor_fields, VendorFieldsSetting::Auto);
        assert_eq!(runtime("\"auto\"").unwrap().vendor_fields, VendorFieldsSetting::Auto);
        assert_eq!(runtime("\"all\"").unwrap().vendor_fields, VendorFieldsSetting::All);
        assert_eq!(runtime("\"none\"").unwrap().vendor_fields, VendorFieldsSetting::Only(vec![]));
        assert_eq!(
            runtime("[\"policyname\", \"appcat\"]").unwrap().vendor_fields,
            VendorFieldsSetting::Only(vec!["policyname".into(), "appcat".into()])
        );
        for bad in ["\"some\"", "5"] {
            let e = runtime(bad).unwrap_err().to_string();
            assert!(e.contains("expected \"auto\", \"all\", \"none\" or a list of field names"), "{bad}: {e}");
        }
        let options = |extra: &str| {
            let text = format!("[[sources]]\ntype = \"stdin\"\nformat = \"okta\"\n{extra}");
            Config::parse(&text, Path::new("t.toml")).unwrap().runtime_options().vendor_fields
        };
        let events_written = |p: VendorFieldsPolicy| match p {
            VendorFieldsPolicy::Auto { events_written } => events_written,
            other => panic!("expected auto, got {other:?}"),
        };
        assert!(!events_written(options("")));
        assert!(events_written(options("[sinks.lake]\npath = \"lake\"\n")));
        assert!(!events_written(options("[sinks.lake]\npath = \"lake\"\nevents = false\n")));
        assert!(matches!(
            options("[runtime]\nvendor_fields = \"none\"\n[sinks.lake]\npath = \"lake\"\n"),
            VendorFieldsPolicy::Fixed(VendorFieldsFilter::None)
        ));
    }

    #[tokio::test]
    async fn events_travel_to_the_sinks_only_when_a_sink_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let writes = |extra: &str| {
            let text = format!("[[sources]]\ntype = \"stdin\"\nformat = \"okta\"\n{extra}");
            Config::parse(&text, Path::new("t.toml")).unwrap()
        };
        for (extra, want) in [
            ("[sinks.findings]\npath = \"f.jsonl\"\n", false),
            ("[sinks.lake]\npath = \"lake\"\n", true),
            ("[sinks.lake]\npath = \"lake2\"\nevents = false\n", false),
        ] {
            let cfg = writes(extra);
            assert!(!cfg.runtime_options().send_events, "the sinks say for themselves");
            let p = cfg.build(dir.path()).await.unwrap();
            assert_eq!(p.sinks.iter().any(|s| s.writes_events()), want, "{extra}");
        }
        assert!(RuntimeOptions::default().send_events, "a runtime built by hand keeps them for its sinks");
    }

    #[test]
    fn interpolation_leaves_comments_alone() {
        let text = "# options = { password = \"${UNSET}\" }\n\
                    a = \"${HOME_DIR}#not a comment\" # ${UNSET} here\n\
                    b = '${HOME_DIR}' # '\n\
                    c = \"\"\"\n# ${HOME_DIR}\n\"\"\"\n\
                    d = \"quote \\\" # ${HOME_DIR}\"\n";
        let out = interpolate(text, env).unwrap();
        assert_eq!(
            out,
            "# options = { password = \"${UNSET}\" }\n\
             a = \"/home/x#not a comment\" # ${UNSET} here\n\
             b = '/home/x' # '\n\
             c = \"\"\"\n# /home/x\n\"\"\"\n\
             d = \"quote \\\" # /home/x\"\n"
        );
        // An error still names the line of the whole text.
        let (line, _) = interpolate("# ${UNSET}\nx = 1\ny = \"${MISSING}\"", env).unwrap_err();
        assert_eq!(line, 3);
    }

    #[test]
    fn unknown_settings_are_rejected_with_their_line() {
        let err = Config::parse("[runtime]\nworkers = 2\nwrokers = 3\n", Path::new("c.toml")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("c.toml:3:"), "{text}");
        assert!(text.contains("wrokers"), "{text}");
        let err = Config::parse(
            "[[sources]]\ntype = \"file\"\npaths = [\"x\"]\nformat = \"panos\"\nfollw = true\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("follw"), "{err}");
        let err = Config::parse("[[sources]]\ntype = \"kafkaa\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("kafkaa"), "{err}");
    }

    #[test]
    fn attribution_settings_are_checked_and_reach_the_engine() {
        let cfg = Config::parse(
            "[rules.attribution]\nmax_age = \"a while\"\nrows = \"all\"\nnetworks = [\"10.8.0.0/16\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let p = cfg.problems(Path::new("."));
        assert!(p.iter().any(|x| x.setting == "rules.attribution.max_age" && x.problem.contains("a while")), "{p:?}");
        let err = Config::parse("[rules.attribution]\nrows = \"some\"\n", Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("some"), "{err}");
        let err = Config::parse("[rules.attribution]\nmaxage = \"1h\"\n", Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("maxage"), "{err}");
        let cfg = Config::parse(
            "[rules.attribution]\nmax_age = \"20m\"\nrows = \"all\"\nnetworks = [\"10.8.0.0/16\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let shared = cfg.shared(None);
        let a = shared.attribution.settings();
        assert_eq!((a.max_age, a.rows), (20 * 60_000_000, crate::attribute::HeldRows::All));
        assert_eq!(a.networks, vec!["10.8.0.0/16".parse::<ipnet::IpNet>().unwrap()]);
        let defaults = Config::parse("", Path::new("c.toml")).unwrap().shared(None);
        let a = defaults.attribution.settings();
        assert!(a.enabled && a.max_age == 3_600_000_000 && a.networks.len() == 6, "{a:?}");
    }

    #[test]
    fn problems_name_the_setting() {
        let cfg = Config::parse(
            "[runtime]\nbatch_max_wait = \"soon\"\n[[sources]]\ntype = \"stdin\"\nformat = \"panoss\"\n[sinks.lake]\npath = \"l\"\nroll_rows = 0\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let p = cfg.problems(Path::new("."));
        let settings: Vec<_> = p.iter().map(|p| p.setting.as_str()).collect();
        assert!(settings.contains(&"runtime.batch_max_wait"), "{p:?}");
        assert!(settings.contains(&"sources[0].format"), "{p:?}");
        assert!(settings.contains(&"sinks.lake.roll_rows"), "{p:?}");
        assert!(p.iter().any(|x| x.problem.contains("unknown format `panoss`")));
    }
}
