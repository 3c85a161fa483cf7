//! Hot reload of rules: watch the rule directories, and when their files
//! change (and then stay unchanged for one poll interval, so a half-saved
//! file is not compiled), load and compile them again and swap the new
//! generation in ([`DetectionEngine::reload`]). A rule that no longer
//! loads or compiles is rejected with a log line and a counter, and its
//! previous version keeps running.
//!
//! Polling rather than file-system notifications: rule directories are
//! small, and ConfigMap volumes on Kubernetes (the usual way rules reach a
//! pod) replace files through symlink swaps that notifications report
//! unreliably.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{load_rules, rule_texts, DetectionEngine, RuleSettings, RuleSource};
use crate::schema::ClassSchemas;

/// What the watcher needs to reload rules as `floodlight run` loaded them.
#[derive(Debug, Clone)]
pub struct RuleWatch {
    /// The rule directories.
    pub source: RuleSource,
    /// Disabled rules and parameter overrides from the config.
    pub settings: RuleSettings,
    /// The enriched schemas rules are planned against.
    pub schemas: ClassSchemas,
    /// How often the files are checked.
    pub interval: Duration,
}

/// A hash of every rule file's path and text (and of the files that could not be read).
pub fn files_digest(source: &RuleSource) -> u64 {
    let (texts, errors) = rule_texts(source);
    let mut h = DefaultHasher::new();
    texts.hash(&mut h);
    for e in &errors {
        e.to_string().hash(&mut h);
    }
    h.finish()
}

/// Poll the rule files until `stop`, reloading `engine` after each change.
pub async fn watch(engine: Arc<DetectionEngine>, watch: RuleWatch, stop: CancellationToken) {
    if matches!(watch.source, RuleSource::Embedded) {
        return;
    }
    let digest = |s: &RuleSource| {
        let s = s.clone();
        async move { tokio::task::spawn_blocking(move || files_digest(&s)).await.unwrap_or(0) }
    };
    let mut loaded = digest(&watch.source).await;
    let mut pending: Option<u64> = None;
    let mut tick = tokio::time::interval(watch.interval.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = digest(&watch.source).await;
        match pending {
            _ if now == loaded => pending = None,
            // Changed and unchanged since the last look: reload.
            Some(p) if p == now => {
                let (source, settings) = (watch.source.clone(), watch.settings.clone());
                let loaded_rules = tokio::task::spawn_blocking(move || load_rules(&source, &settings)).await;
                if let Ok((defs, errors)) = loaded_rules {
                    engine.reload(defs, errors, &watch.schemas).await;
                }
                loaded = now;
                pending = None;
            }
            _ => pending = Some(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::detect::Shared;

    fn rule(id: &str, sql: &str) -> String {
        format!(
            "id = \"{id}\"\ntitle = \"t\"\nfamily = \"shadow_saas\"\nseverity = \"low\"\nclass = \"dns\"\n\
             description = \"d\"\nmessage = \"{{user}}\"\nsql = \"{sql}\"\n[dedup]\nkey = [\"user\"]\n"
        )
    }

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::write(dir.join(file), text).unwrap();
    }

    fn fingerprint(engine: &DetectionEngine, id: &str) -> Option<String> {
        engine.rule(id).map(|r| r.fingerprint.clone())
    }

    #[tokio::test]
    async fn changed_rules_swap_broken_ones_keep_running_removed_ones_stop() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", &rule("XX-01", "SELECT user, time FROM dns WHERE query = 'a.example'"));
        write(dir.path(), "b.toml", &rule("XX-02", "SELECT user, time FROM dns"));
        let source = RuleSource::Dirs(vec![dir.path().to_path_buf()]);
        let settings = RuleSettings::default();
        let schemas = ClassSchemas::builtin();
        let (defs, errors) = load_rules(&source, &settings);
        assert!(errors.is_empty(), "{errors:?}");
        let (engine, errors) = DetectionEngine::compile_with(defs, &schemas, Shared::new(10, None), None).await;
        assert!(errors.is_empty());
        let a0 = fingerprint(&engine, "XX-01").unwrap();
        let digest0 = files_digest(&source);

        // A changed query is swapped in; the untouched rule is not reported.
        write(dir.path(), "a.toml", &rule("XX-01", "SELECT user, time FROM dns WHERE query = 'b.example'"));
        assert_ne!(files_digest(&source), digest0, "the digest sees the change");
        let (defs, errors) = load_rules(&source, &settings);
        let report = engine.reload(defs, errors, &schemas).await;
        assert_eq!(report.swapped, ["XX-01"]);
        assert!(report.rejected.is_empty() && report.removed.is_empty(), "{report:?}");
        let a1 = fingerprint(&engine, "XX-01").unwrap();
        assert_ne!(a0, a1);

        // SQL that does not compile: rejected, the previous version keeps running.
        write(dir.path(), "a.toml", &rule("XX-01", "SELECT no_such_column FROM dns"));
        let (defs, errors) = load_rules(&source, &settings);
        let report = engine.reload(defs, errors, &schemas).await;
        assert_eq!(report.rejected.len(), 1, "{report:?}");
        assert!(report.rejected[0].contains("no_such_column"), "{report:?}");
        assert_eq!(fingerprint(&engine, "XX-01").unwrap(), a1);

        // A file that no longer parses: rejected too, still running.
        write(dir.path(), "a.toml", "id = \"XX-01\"\nthis is not toml");
        let (defs, errors) = load_rules(&source, &settings);
        let report = engine.reload(defs, errors, &schemas).await;
        assert_eq!(report.rejected.len(), 1, "{report:?}");
        assert_eq!(fingerprint(&engine, "XX-01").unwrap(), a1);
        assert_eq!(engine.len(), 2);

        // A deleted file stops its rule.
        std::fs::remove_file(dir.path().join("b.toml")).unwrap();
        let (defs, errors) = load_rules(&source, &settings);
        let report = engine.reload(defs, errors, &schemas).await;
        assert_eq!(report.removed, ["XX-02"]);
        assert!(engine.rule("XX-02").is_none());
        assert!(engine.rule("XX-01").is_some());
    }

    /// `[runtime] vendor_fields = "auto"` keeps the column for exactly the
    /// rule sets that read it (by name, `SELECT *`, or a map lookup), and
    /// decides again after a reload.
    #[tokio::test]
    async fn vendor_fields_are_kept_while_a_rule_in_service_reads_them() {
        use crate::runtime::VendorFieldsPolicy;
        use crate::schema::VendorFieldsFilter;
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", &rule("XX-01", "SELECT user, time FROM dns WHERE query = 'a.example'"));
        let source = RuleSource::Dirs(vec![dir.path().to_path_buf()]);
        let schemas = ClassSchemas::builtin();
        let (defs, _) = load_rules(&source, &RuleSettings::default());
        let (engine, errors) = DetectionEngine::compile_with(defs, &schemas, Shared::new(10, None), None).await;
        assert!(errors.is_empty(), "{errors:?}");
        let auto = VendorFieldsPolicy::Auto { events_written: false };
        let written = VendorFieldsPolicy::Auto { events_written: true };
        assert!(!engine.rule_set().reads_vendor_fields());
        assert_eq!(auto.filter(&engine.rule_set()), VendorFieldsFilter::None);
        assert_eq!(written.filter(&engine.rule_set()), VendorFieldsFilter::All, "events written: always all");
        for reader in [
            "SELECT user, time FROM dns WHERE vendor_fields['qclass_name'] = 'C_CHAOS'",
            "SELECT * FROM dns",
            "SELECT user, time, vendor_fields AS extra FROM dns",
        ] {
            write(dir.path(), "b.toml", &rule("XX-02", reader));
            let (defs, errors) = load_rules(&source, &RuleSettings::default());
            let report = engine.reload(defs, errors, &schemas).await;
            assert!(report.rejected.is_empty(), "{reader}: {report:?}");
            assert!(engine.rule_set().reads_vendor_fields(), "{reader}");
            assert_eq!(auto.filter(&engine.rule_set()), VendorFieldsFilter::All, "{reader}");
        }
        std::fs::remove_file(dir.path().join("b.toml")).unwrap();
        let (defs, errors) = load_rules(&source, &RuleSettings::default());
        engine.reload(defs, errors, &schemas).await;
        assert_eq!(auto.filter(&engine.rule_set()), VendorFieldsFilter::None, "the reader was removed");
        let only = VendorFieldsPolicy::Fixed(VendorFieldsFilter::Only(vec!["a".to_string()].into()));
        assert_eq!(only.filter(&engine.rule_set()), VendorFieldsFilter::Only(vec!["a".to_string()].into()));
    }

    #[tokio::test]
    async fn the_watcher_reloads_after_the_files_settle() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", &rule("XX-01", "SELECT user, time FROM dns WHERE query = 'a.example'"));
        let source = RuleSource::Dirs(vec![dir.path().to_path_buf()]);
        let schemas = ClassSchemas::builtin();
        let (defs, _) = load_rules(&source, &RuleSettings::default());
        let (engine, _) = DetectionEngine::compile_with(defs, &schemas, Shared::new(10, None), None).await;
        let engine = Arc::new(engine);
        let before = fingerprint(&engine, "XX-01").unwrap();
        let stop = CancellationToken::new();
        let w = RuleWatch { source, settings: RuleSettings::default(), schemas, interval: Duration::from_millis(50) };
        let task = tokio::spawn(watch(engine.clone(), w, stop.clone()));
        tokio::time::sleep(Duration::from_millis(120)).await;
        write(dir.path(), "a.toml", &rule("XX-01", "SELECT user, time FROM dns WHERE query = 'c.example'"));
        let started = std::time::Instant::now();
        while fingerprint(&engine, "XX-01").unwrap() == before {
            assert!(started.elapsed() < Duration::from_secs(10), "the changed rule was never swapped in");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        task.await.unwrap();
    }
}
