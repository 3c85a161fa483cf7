//! `floodlight query` (SQL over the lake from the command line) and
//! `floodlight token` (API tokens and their hashes), plus opening the lake a
//! config describes, shared with `serve` and `run --serve`.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::tables::{table, Fit};
use anyhow::{bail, Context, Result};
use floodlight_analyst::{write_result, Format, Lake, LakeSpec, QueryLimits, Window};
use floodlight_pipeline::config::Config;
use floodlight_pipeline::schema::Timestamp;

/// The query limits `[query]` sets.
pub fn limits(cfg: &Config) -> Result<QueryLimits> {
    let timeout = humantime::parse_duration(&cfg.query.timeout)
        .with_context(|| format!("query.timeout `{}`", cfg.query.timeout))?;
    Ok(QueryLimits {
        timeout,
        max_rows: cfg.query.max_rows,
        memory_bytes: cfg.query.memory_limit_mib.saturating_mul(1024 * 1024),
        ..QueryLimits::default()
    })
}

/// Open the lake `cfg` writes (its `[sinks.lake]`), with its catalog,
/// overlay and directory as `apps` and `users`.
pub async fn open_lake(cfg: &Config, base: &Path, window: Option<Window>, limits: QueryLimits) -> Result<Lake> {
    let Some(lake) = &cfg.sinks.lake else {
        bail!("the config has no [sinks.lake]: there is no lake to query (add one, with `path` or `url`)");
    };
    let location = lake.location(base).map_err(|m| anyhow::anyhow!("sinks.lake: {m}"))?;
    let enrichments = cfg.enrichments(base).context("loading the catalog, overlay and directory")?;
    let spec =
        LakeSpec { location, schemas: cfg.class_schemas(), enrichments: Some(Arc::new(enrichments)), window, limits };
    Ok(Lake::open(spec).await?)
}

/// Options of `floodlight query`.
pub struct QueryArgs {
    pub sql: Option<String>,
    pub schema: bool,
    pub format: Format,
    pub since: Option<String>,
    pub output: Option<PathBuf>,
    pub max_rows: Option<usize>,
    pub timeout: Option<Duration>,
}

/// `floodlight query`.
pub fn cmd_query(cfg: &Config, base: &Path, args: QueryArgs, rt: &tokio::runtime::Runtime) -> Result<i32> {
    let mut limits = limits(cfg)?;
    if let Some(n) = args.max_rows {
        limits.max_rows = n.max(1);
    }
    if let Some(t) = args.timeout {
        limits.timeout = t;
    }
    let window = match &args.since {
        Some(s) => Some(Window::parse_since(s, Timestamp::now())?),
        None => None,
    };
    rt.block_on(async {
        let lake = open_lake(cfg, base, window, limits).await?;
        if args.schema {
            print_schema(&lake, args.format).await?;
            return Ok(0);
        }
        let sql = match args.sql.as_deref() {
            Some("-") | None => {
                if std::io::stdin().is_terminal() {
                    bail!("no query: `floodlight query \"SELECT ...\"`, or the SQL on standard input (`floodlight query --schema` lists the tables)");
                }
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).context("reading the query from standard input")?;
                text
            }
            Some(s) => s.to_string(),
        };
        let result = lake.query(&sql).await?;
        if matches!(args.format, Format::Parquet | Format::Arrow) && args.output.is_none() && std::io::stdout().is_terminal() {
            bail!("{:?} is binary: write it to a file with --output FILE, or pipe it", args.format);
        }
        match &args.output {
            Some(path) => {
                let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
                let mut w = std::io::BufWriter::new(file);
                write_result(&result, args.format, &mut w)?;
            }
            None => {
                let mut out = std::io::stdout().lock();
                write_result(&result, args.format, &mut out)?;
            }
        }
        let note = if result.truncated {
            format!(" (cut at the row limit {}; raise it with --max-rows or [query] max_rows)", limits.max_rows)
        } else {
            String::new()
        };
        if args.format == Format::Table || args.output.is_some() {
            eprintln!("{} row(s) in {:.3} s{note}", result.rows, result.elapsed.as_secs_f64());
        } else if result.truncated {
            eprintln!("warning: {} row(s){note}", result.rows);
        }
        Ok(0)
    })
}

async fn print_schema(lake: &Lake, format: Format) -> Result<()> {
    let tables = lake.describe().await?;
    if format == Format::Json {
        let mut out = std::io::stdout().lock();
        for t in &tables {
            writeln!(out, "{}", serde_json::to_string(t)?)?;
        }
        return Ok(());
    }
    println!("lake: {}", lake.root());
    for info in tables {
        let mut t = table(&[("column", Fit::Whole), ("type", Fit::Rest), ("nullable", Fit::Whole)], false);
        for c in &info.columns {
            t.add_row([c.name.as_str(), c.data_type.as_str(), if c.nullable { "yes" } else { "no" }]);
        }
        println!("\n{} — {}\n{t}", info.name, info.about);
    }
    Ok(())
}

/// `floodlight token new`: a random token and the line for the config.
pub fn cmd_token_new(name: &str, role: &str) -> Result<i32> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).context("reading /dev/urandom")?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let token = format!("fl_{token}");
    println!("token (give it to {name}; it is not stored anywhere):\n  {token}\n");
    println!(
        "config:\n  [[server.tokens]]\n  name = \"{name}\"\n  role = \"{role}\"\n  sha256 = \"{}\"",
        floodlight_server::hash_token(&token)
    );
    Ok(0)
}

/// `floodlight token hash`: the SHA-256 of a token read from standard input.
pub fn cmd_token_hash() -> Result<i32> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("reading the token from standard input")?;
    let token = text.trim();
    if token.is_empty() {
        bail!("no token on standard input");
    }
    println!("{}", floodlight_server::hash_token(token));
    Ok(0)
}
