//! # floodlight-sigma
//!
//! Detection engineers bring their Sigma rules; this crate turns them into
//! floodlight rule files, and floodlight rules whose logic Sigma can express
//! back into Sigma.
//!
//! * [`document`] — Sigma YAML documents: detection and correlation rules.
//! * [`condition`] — the `condition` expression.
//! * [`mapping`] — log sources → tables, Sigma fields → columns, as data
//!   (`data/mapping.toml`), extended by the user's files.
//! * [`detection`] — selections and modifiers → a SQL condition, exactly.
//! * [`convert`] — whole rules: streaming, windowed and correlation modes.
//! * [`export`] — floodlight rules → Sigma.
//!
//! The rule of the crate: a rule that cannot be converted exactly is
//! **refused with the reason** ([`Refusal`]), never converted approximately
//! in silence. Every refusal has a short `kind` (for summaries and tests)
//! and a sentence saying what to change.
//!
//! ```text
//! let importer = Importer::new(Mapping::builtin());
//! let report = importer.import(&[PathBuf::from("rules/")])?;
//! for outcome in &report.outcomes { ... }
//! ```

pub mod condition;
pub mod convert;
pub mod detection;
pub mod document;
pub mod export;
pub mod mapping;

use std::path::{Path, PathBuf};

use floodlight_pipeline::detect::rule::RuleFile;

pub use mapping::Mapping;

/// Why a Sigma rule was not converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {reason}")]
pub struct Refusal {
    /// Short class of reason: `unmapped field`, `unsupported modifier`, ...
    pub kind: &'static str,
    /// What exactly, and what to do.
    pub reason: String,
}

impl Refusal {
    /// A refusal.
    pub fn new(kind: &'static str, reason: impl Into<String>) -> Refusal {
        Refusal { kind, reason: reason.into() }
    }
}

/// Errors reading the input.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What happened to one Sigma document.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The file.
    pub file: PathBuf,
    /// Its place in the file.
    pub index: usize,
    /// The Sigma title.
    pub title: String,
    /// The result.
    pub result: Converted,
}

/// The result of converting one document.
#[derive(Debug, Clone)]
pub enum Converted {
    /// A floodlight rule.
    Rule(Box<RuleFile>),
    /// Used by a correlation that does not ask for it on its own (`generate: false`).
    PartOf(String),
    /// Not converted, and why.
    Refused(Refusal),
}

/// The outcome of an import.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One per document, in file order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// The converted rules.
    pub fn rules(&self) -> impl Iterator<Item = (&Outcome, &RuleFile)> {
        self.outcomes.iter().filter_map(|o| match &o.result {
            Converted::Rule(r) => Some((o, r.as_ref())),
            _ => None,
        })
    }
}

/// Converts Sigma files with a mapping.
pub struct Importer {
    mapping: Mapping,
    license: Option<String>,
}

impl Importer {
    /// An importer with this mapping.
    pub fn new(mapping: Mapping) -> Importer {
        Importer { mapping, license: None }
    }

    /// The licence to record on rules that do not name theirs (`DRL-1.1` for SigmaHQ's).
    pub fn with_license(mut self, license: Option<String>) -> Importer {
        self.license = license;
        self
    }

    /// Every `.yml` / `.yaml` file under `paths` (files as given), sorted.
    pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ImportError> {
        let mut out = Vec::new();
        for p in paths {
            collect(p, &mut out)?;
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Convert every document of these files and directories.
    pub fn import(&self, paths: &[PathBuf]) -> Result<Report, ImportError> {
        let mut docs = Vec::new();
        let mut outcomes = Vec::new();
        for file in Importer::files(paths)? {
            let text =
                std::fs::read_to_string(&file).map_err(|source| ImportError::Read { path: file.clone(), source })?;
            match document::parse_file(&file, &text) {
                Ok(d) => docs.extend(d),
                Err(r) => {
                    outcomes.push(Outcome { file, index: 0, title: String::new(), result: Converted::Refused(r) })
                }
            }
        }
        outcomes.extend(self.convert(&docs));
        outcomes.sort_by(|a, b| (&a.file, a.index).cmp(&(&b.file, b.index)));
        Ok(Report { outcomes })
    }

    /// Convert documents already read (correlations may refer to any of them).
    pub fn convert(&self, docs: &[document::SigmaDoc]) -> Vec<Outcome> {
        let license = self.license.as_deref();
        docs.iter()
            .map(|doc| {
                let part_of = docs.iter().find_map(|d| match &d.body {
                    document::Body::Correlation(c)
                        if !c.generate
                            && c.rules
                                .iter()
                                .any(|r| Some(r) == doc.meta.name.as_ref() || Some(r) == doc.meta.id.as_ref()) =>
                    {
                        Some(d.meta.title.clone())
                    }
                    _ => None,
                });
                let result = match (&doc.body, part_of) {
                    (document::Body::Correlation(c), _) => {
                        match convert::correlation_rule(doc, c, docs, &self.mapping, license) {
                            Ok(r) => Converted::Rule(Box::new(r)),
                            Err(r) => Converted::Refused(r),
                        }
                    }
                    (document::Body::Invalid(r), _) => Converted::Refused(r.clone()),
                    (_, Some(title)) => match convert::arms(doc, &self.mapping) {
                        Ok(_) => Converted::PartOf(title),
                        Err(r) => Converted::Refused(r),
                    },
                    (_, None) => match convert::detection_rule(doc, &self.mapping, license) {
                        Ok(r) => Converted::Rule(Box::new(r)),
                        Err(r) => Converted::Refused(r),
                    },
                };
                Outcome { file: doc.file.clone(), index: doc.index, title: doc.meta.title.clone(), result }
            })
            .collect()
    }
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let meta = std::fs::metadata(p).map_err(|source| ImportError::Read { path: p.to_path_buf(), source })?;
    if meta.is_file() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(p).map_err(|source| ImportError::Read { path: p.to_path_buf(), source })?;
    for e in entries {
        let e = e.map_err(|source| ImportError::Read { path: p.to_path_buf(), source })?;
        let path = e.path();
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().and_then(|x| x.to_str()).is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// A rule file's text, as `floodlight rules import-sigma` writes it.
pub fn render(rule: &RuleFile) -> Result<String, toml::ser::Error> {
    let body = toml::to_string_pretty(rule)?;
    let origin = rule
        .imported
        .as_ref()
        .map(|i| format!("# Converted from Sigma ({}) by `floodlight rules import-sigma`.\n", i.file))
        .unwrap_or_default();
    Ok(format!("{origin}{body}"))
}

/// Load and plan a converted rule exactly as `floodlight validate` would, so
/// that nothing is written that floodlight then refuses. `path` names it in
/// errors.
pub async fn check(rule: &RuleFile, path: &Path) -> Result<floodlight_pipeline::detect::rule::RuleDef, Refusal> {
    use floodlight_pipeline::detect::rule::RuleDef;
    use floodlight_pipeline::detect::DetectionEngine;
    use floodlight_pipeline::schema::ClassSchemas;
    let text = render(rule).map_err(|e| Refusal::new("does not compile", e.to_string()))?;
    let def = RuleDef::parse(path, &text, None).map_err(|e| Refusal::new("does not compile", e.message))?;
    DetectionEngine::compile(vec![def.clone()], &ClassSchemas::builtin()).await.map_err(|errors| {
        let text: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        Refusal::new("does not compile", text.join("; "))
    })?;
    Ok(def)
}
