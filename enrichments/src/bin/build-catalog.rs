//! `build-catalog`: regenerate `enrichments/data/catalog.toml` from
//! `enrichments/data/catalog/` (see [`floodlight_enrichments::catalog_build`]).
//!
//! ```text
//! build-catalog                      write the catalog
//! build-catalog --check              exit 1 if the committed catalog is stale
//! build-catalog --report             also print what was dropped and why
//! build-catalog --docs               print the category and risk-factor tables
//!                                    of docs/enrichment.md
//! build-catalog --sources DIR --out FILE
//! build-catalog --vendor-v2fly DIR   read v2fly lists from an upstream checkout's
//!                                    data/ and copy the ones read into
//!                                    upstream/v2fly/data (removing unused ones)
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use floodlight_enrichments::catalog_build::{
    build, build_with_v2fly, category_docs_table, default_output_path, default_sources_dir, risk_factor_docs_table,
};
use floodlight_enrichments::Category;

const USAGE: &str =
    "usage: build-catalog [--check] [--report] [--docs] [--sources DIR] [--out FILE] [--vendor-v2fly DIR]";

fn main() -> ExitCode {
    let mut check = false;
    let mut report = false;
    let mut docs = false;
    let mut sources = default_sources_dir();
    let mut out = default_output_path();
    let mut vendor: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| match args.next() {
            Some(v) => Ok(PathBuf::from(v)),
            None => Err(format!("{name} needs a value\n{USAGE}")),
        };
        let r = match a.as_str() {
            "--check" => {
                check = true;
                Ok(())
            }
            "--report" => {
                report = true;
                Ok(())
            }
            "--docs" => {
                docs = true;
                Ok(())
            }
            "--sources" => value("--sources").map(|v| sources = v),
            "--out" => value("--out").map(|v| out = v),
            "--vendor-v2fly" => value("--vendor-v2fly").map(|v| vendor = Some(v)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument `{other}`\n{USAGE}")),
        };
        if let Err(e) = r {
            eprintln!("build-catalog: {e}");
            return ExitCode::from(2);
        }
    }
    if docs {
        match category_docs_table(&sources) {
            Ok(t) => println!("{t}\n{}", risk_factor_docs_table()),
            Err(e) => {
                eprintln!("build-catalog: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    let built = match &vendor {
        Some(dir) => build_with_v2fly(&sources, dir),
        None => build(&sources),
    };
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            eprintln!("build-catalog: {e}");
            return ExitCode::FAILURE;
        }
    };
    if report {
        for d in &built.dropped {
            println!("dropped: {d}");
        }
    }
    if let Some(dir) = &vendor {
        if let Err(e) = vendor_lists(dir, &sources.join("upstream/v2fly/data"), &built.v2fly_lists_read) {
            eprintln!("build-catalog: {e}");
            return ExitCode::FAILURE;
        }
    }
    let mut per_category: Vec<(Category, usize)> =
        Category::ALL.iter().map(|c| (*c, built.apps.iter().filter(|a| a.category == *c).count())).collect();
    per_category.retain(|(_, n)| *n > 0);
    let summary = per_category.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", ");
    if check {
        let current = std::fs::read_to_string(&out).unwrap_or_default();
        if current != built.toml {
            eprintln!(
                "build-catalog: {} is stale; run `cargo run -p floodlight-enrichments --bin build-catalog`",
                out.display()
            );
            return ExitCode::FAILURE;
        }
        println!("{} is up to date: {} apps ({summary})", out.display(), built.apps.len());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::write(&out, &built.toml) {
        eprintln!("build-catalog: cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {}: {} apps ({summary})", out.display(), built.apps.len());
    ExitCode::SUCCESS
}

/// Copy the lists read from `from` into `to`, removing files no longer read.
fn vendor_lists(
    from: &std::path::Path,
    to: &std::path::Path,
    read: &std::collections::BTreeSet<String>,
) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in std::fs::read_dir(to).map_err(|e| format!("cannot list {}: {e}", to.display()))? {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", to.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !read.contains(&name) {
            std::fs::remove_file(entry.path()).map_err(|e| format!("cannot remove {name}: {e}"))?;
        }
    }
    for name in read {
        std::fs::copy(from.join(name), to.join(name)).map_err(|e| format!("cannot copy {name}: {e}"))?;
    }
    println!("copied {} v2fly lists into {}", read.len(), to.display());
    Ok(())
}
