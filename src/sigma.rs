//! `floodlight rules import-sigma` and `floodlight rules export-sigma`: Sigma
//! rules in and out (see `docs/rules.md#sigma` and the `floodlight-sigma`
//! crate).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use floodlight_pipeline::config::Config;
use floodlight_pipeline::detect::load_rules;
use floodlight_sigma::{Converted, Importer, Mapping};

use crate::tables::{table, Fit};

/// Arguments of `rules import-sigma`.
pub struct ImportArgs {
    /// Sigma files and directories.
    pub paths: Vec<PathBuf>,
    /// Where the rule files go.
    pub out: PathBuf,
    /// Extra mapping files.
    pub mappings: Vec<PathBuf>,
    /// Licence for rules that name none.
    pub license: Option<String>,
    /// Convert and report, write nothing.
    pub dry_run: bool,
    /// One line per rule, however wide.
    pub wide: bool,
    /// One JSON object per Sigma document instead of the table.
    pub json: bool,
}

/// Convert, check every converted rule by compiling it, write the files and print the summary.
pub fn import(args: ImportArgs) -> Result<i32> {
    let mut mapping = Mapping::builtin();
    for m in &args.mappings {
        let text = std::fs::read_to_string(m).with_context(|| format!("cannot read mapping {}", m.display()))?;
        let extra = Mapping::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", m.display()))?;
        mapping.extend(extra);
    }
    let importer = Importer::new(mapping).with_license(args.license.clone());
    let mut report = importer.import(&args.paths)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start tokio")?;
    let mut written = Vec::new();
    let mut names = BTreeSet::new();
    for o in &mut report.outcomes {
        let Converted::Rule(rule) = &o.result else { continue };
        let stem = o.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "rule".into());
        let mut name = if o.index == 0 { format!("{stem}.toml") } else { format!("{stem}-{}.toml", o.index) };
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{stem}-{n}.toml");
            n += 1;
        }
        let path = args.out.join(&name);
        match rt.block_on(floodlight_sigma::check(rule, &path)) {
            Ok(_) => {
                let text = floodlight_sigma::render(rule)?;
                written.push((path, text, rule.id.clone()));
            }
            Err(refusal) => o.result = Converted::Refused(refusal),
        }
    }
    if args.json {
        for o in &report.outcomes {
            let mut v = serde_json::json!({
                "file": o.file.display().to_string(),
                "document": o.index,
                "title": o.title,
            });
            match &o.result {
                Converted::Rule(r) => {
                    v["result"] = "converted".into();
                    v["rule_id"] = r.id.clone().into();
                    v["mode"] = r.mode.clone().into();
                    if let Some(w) = written.iter().find(|w| w.2 == r.id) {
                        v["path"] = w.0.display().to_string().into();
                    }
                }
                Converted::PartOf(c) => {
                    v["result"] = "part_of".into();
                    v["correlation"] = c.clone().into();
                }
                Converted::Refused(r) => {
                    v["result"] = "refused".into();
                    v["kind"] = r.kind.into();
                    v["reason"] = r.reason.clone().into();
                }
            }
            println!("{v}");
        }
    }
    let mut t = table(
        &[("sigma file", Fit::AtMost(40)), ("title", Fit::AtMost(36)), ("result", Fit::Whole), ("detail", Fit::Rest)],
        args.wide,
    );
    let (mut converted, mut refused, mut parts) = (0, 0, 0);
    for o in &report.outcomes {
        let file = o.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let file = if o.index > 0 { format!("{file} #{}", o.index + 1) } else { file };
        let (result, detail) = match &o.result {
            Converted::Rule(r) => {
                converted += 1;
                let path = written.iter().find(|w| w.2 == r.id).map(|w| w.0.display().to_string()).unwrap_or_default();
                (format!("converted ({})", r.mode), format!("{} → {path}", r.id))
            }
            Converted::PartOf(c) => {
                parts += 1;
                ("part of".to_string(), format!("correlation \"{c}\""))
            }
            Converted::Refused(r) => {
                refused += 1;
                (format!("refused: {}", r.kind), r.reason.clone())
            }
        };
        t.add_row([file, o.title.clone(), result, detail]);
    }
    if !args.json {
        println!("{t}");
    }
    if !args.dry_run && !written.is_empty() {
        std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
        for (path, text, _) in &written {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    let verb = if args.dry_run { "would be written" } else { "written" };
    eprintln!(
        "{converted} converted ({} {verb} to {}), {parts} part of a correlation, {refused} refused",
        written.len(),
        args.out.display()
    );
    if converted > 0 && !args.dry_run {
        eprintln!(
            "Next: add test cases in {}/fixtures/<id>/ and run `floodlight rules test {}` (docs/rules.md#testing-a-rule).",
            args.out.display(),
            args.out.display()
        );
    }
    Ok(0)
}

/// Print (or write) the Sigma form of one rule of the config's rule set.
pub fn export(cfg: &Config, base: &Path, id: &str, out: Option<&Path>) -> Result<i32> {
    let (source, settings) = cfg.rule_setup(base);
    let (defs, errors) = load_rules(&source, &settings);
    let Some(def) = defs.iter().find(|d| d.id().eq_ignore_ascii_case(id)) else {
        if let Some(e) = errors.first() {
            bail!("no rule `{id}` was loaded ({e})");
        }
        let ids: Vec<&str> = defs.iter().map(|d| d.id()).collect();
        bail!("no rule `{id}`; the rules are: {}", ids.join(", "));
    };
    match floodlight_sigma::export::export(def) {
        Ok(yaml) => {
            match out {
                Some(p) => std::fs::write(p, &yaml).with_context(|| format!("cannot write {}", p.display()))?,
                None => print!("{yaml}"),
            }
            Ok(0)
        }
        Err(r) => {
            eprintln!("{}: cannot be exported to Sigma: {}", def.id(), r.reason);
            Ok(1)
        }
    }
}
