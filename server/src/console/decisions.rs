//! The catalog as the console shows it, and the decision workflow behind the
//! app page's form.
//!
//! [`Decisions`] holds the *base* catalog (before the overlay) and the
//! overlay's path. [`Decisions::current`] re-reads the overlay (a small
//! file) on every call and, when its text changed — a decision saved here,
//! by `floodlight decide`, or by hand — rebuilds the catalog and replaces
//! the lake's `apps` table, so the pages and the analyst SQL show the new
//! statuses at once. A pipeline running elsewhere picks the same file up by
//! its own hot reload.
//!
//! A decision is planned against the text the person was shown
//! ([`Decisions::plan`]); the confirm form carries that text's SHA-256
//! ([`text_hash`]), and saving refuses when the file changed in between.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use floodlight_analyst::Lake;
use floodlight_enrichments::decision::audit_log_for;
use floodlight_enrichments::files::{embedded_name, read_text, resolve};
use floodlight_enrichments::{
    base_catalog, AppCatalog, AuditRecord, Date, Decision, DecisionError, DecisionPlan, EnrichmentConfig,
    EnrichmentError, Overlay,
};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

/// The overlay's state the console last loaded.
#[derive(Debug)]
struct Loaded {
    text: String,
    catalog: Arc<AppCatalog>,
    overlay: Arc<Overlay>,
}

/// The catalog, the overlay, and where decisions are written and audited.
#[derive(Debug)]
pub struct Decisions {
    base: AppCatalog,
    overlay: Option<PathBuf>,
    loaded: Mutex<Option<Loaded>>,
}

/// The catalog with the overlay applied, and the overlay itself.
#[derive(Debug, Clone)]
pub struct Current {
    /// Statuses, reasons, owners, expiries, alternatives applied.
    pub catalog: Arc<AppCatalog>,
    /// The overlay's entries as written (expired ones included).
    pub overlay: Arc<Overlay>,
    /// The overlay's text (what a decision is planned against).
    pub text: String,
}

/// Why the overlay cannot be edited from the console, if it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Editable {
    /// Decisions go to this file.
    Yes(PathBuf),
    /// The reason, for the page.
    No(String),
}

/// The hex SHA-256 of an overlay text, carried by the confirm form.
pub fn text_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Decisions {
    /// The base catalog and overlay `cfg` names (paths against `base_dir`).
    pub fn from_config(cfg: &EnrichmentConfig, base_dir: &Path) -> Result<Decisions, EnrichmentError> {
        let base = base_catalog(cfg, base_dir)?;
        Ok(Decisions::new(base, cfg.overlay.as_ref().map(|p| resolve(base_dir, p))))
    }

    /// From a base catalog and an overlay path (`None`: no overlay).
    pub fn new(base: AppCatalog, overlay: Option<PathBuf>) -> Decisions {
        Decisions { base, overlay, loaded: Mutex::new(None) }
    }

    /// The catalog before the overlay.
    pub fn base(&self) -> &AppCatalog {
        &self.base
    }

    /// Whether decisions can be saved, and where.
    pub fn editable(&self) -> Editable {
        match &self.overlay {
            None => Editable::No(
                "no overlay is configured: set `enrichments.overlay` to a file of yours to record decisions".into(),
            ),
            Some(p) if embedded_name(p).is_some() => Editable::No(format!(
                "the overlay `{}` is bundled with floodlight: configure an overlay file of your own to record decisions",
                p.display()
            )),
            Some(p) => Editable::Yes(p.clone()),
        }
    }

    /// The audit log beside the overlay (when one is configured).
    pub fn audit_log(&self) -> Option<PathBuf> {
        match self.editable() {
            Editable::Yes(p) => Some(audit_log_for(&p)),
            Editable::No(_) => None,
        }
    }

    /// The catalog with the overlay as the file is now; when the file
    /// changed since the last call, the lake's `apps` table is replaced.
    /// An overlay that no longer loads keeps the last good catalog (and the
    /// error is logged), as the pipeline's hot reload does.
    pub async fn current(&self, lake: &Lake) -> Current {
        let text = match &self.overlay {
            None => Ok(String::new()),
            Some(p) => match read_text(p) {
                Ok(t) => Ok(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && embedded_name(p).is_none() => Ok(String::new()),
                Err(e) => Err(format!("cannot read the overlay `{}`: {e}", p.display())),
            },
        };
        let mut loaded = self.loaded.lock().await;
        if let (Ok(text), Some(l)) = (&text, loaded.as_ref()) {
            if *text == l.text {
                return Current { catalog: l.catalog.clone(), overlay: l.overlay.clone(), text: l.text.clone() };
            }
        }
        let built = text.and_then(|text| {
            let origin = self.overlay.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            let overlay = Overlay::from_toml(&text, &origin).map_err(|e| e.to_string())?;
            let catalog = self.base.with_overlay(&overlay, Date::today_utc()).map_err(|e| e.to_string())?;
            Ok(Loaded { text, catalog: Arc::new(catalog), overlay: Arc::new(overlay) })
        });
        match built {
            Ok(new) => {
                if let Err(e) = lake.set_catalog(&new.catalog) {
                    tracing::warn!(target: "floodlight_server", error = %e, "console: cannot refresh the apps table");
                }
                let current =
                    Current { catalog: new.catalog.clone(), overlay: new.overlay.clone(), text: new.text.clone() };
                *loaded = Some(new);
                current
            }
            Err(problem) => {
                tracing::warn!(target: "floodlight_server", %problem, "console: the overlay does not load; keeping the last good catalog");
                match loaded.as_ref() {
                    Some(l) => Current { catalog: l.catalog.clone(), overlay: l.overlay.clone(), text: l.text.clone() },
                    None => Current {
                        catalog: Arc::new(self.base.clone()),
                        overlay: Arc::new(Overlay::default()),
                        text: String::new(),
                    },
                }
            }
        }
    }

    /// Plan `decision` against `shown_text`, the overlay text the person
    /// was shown, as of `today`.
    pub fn plan(&self, shown_text: &str, decision: Decision, today: Date) -> Result<DecisionPlan, DecisionError> {
        let path = match self.editable() {
            Editable::Yes(p) => p,
            Editable::No(_) => {
                return Err(DecisionError::Bundled {
                    path: self.overlay.clone().unwrap_or_else(|| PathBuf::from("(no overlay configured)")),
                })
            }
        };
        DecisionPlan::from_text(path, shown_text, &self.base, decision, today)
    }

    /// Save a plan as `who`, into the audit log beside the overlay.
    pub fn save(&self, plan: DecisionPlan, who: &str) -> Result<AuditRecord, DecisionError> {
        let audit = audit_log_for(plan.path());
        plan.save(audit, who)
    }

    /// The audit records of `app_id`, newest first (at most `limit`).
    /// Lines that do not parse are skipped (the log is append-only JSON
    /// lines; a torn last line after a crash is possible).
    pub fn history(&self, app_id: &str, limit: usize) -> Vec<AuditRecord> {
        let Some(path) = self.audit_log() else { return Vec::new() };
        let Ok(text) = std::fs::read_to_string(&path) else { return Vec::new() };
        let mut records: Vec<AuditRecord> = text
            .lines()
            .filter(|l| l.contains(app_id))
            .filter_map(|l| serde_json::from_str::<AuditRecord>(l).ok())
            .filter(|r| r.app_id == app_id)
            .collect();
        records.reverse();
        records.truncate(limit);
        records
    }
}
