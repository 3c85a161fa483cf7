//! The `floodlight` command: run the pipeline, validate a config, parse logs,
//! list rules. See `floodlight --help` and the README.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::CommandFactory;
use clap::{Parser, Subcommand, ValueEnum};
use floodlight_pipeline::ack::AckToken;
use floodlight_pipeline::admin_config::AdminConfig;
use floodlight_pipeline::config::Config;
use floodlight_pipeline::decode::registry::{decoder_for, format_ids, formats};
use floodlight_pipeline::decode::stage::decode_rows;
use floodlight_pipeline::decode::DecodeOutcome;
use floodlight_pipeline::detect::load_rules;
use floodlight_pipeline::health::health;
use floodlight_pipeline::origin::origin_string;
use floodlight_pipeline::runtime::{self, RunSummary};
use floodlight_pipeline::source::{RawBatch, RawRecord};
use tables::Fit;
use tokio_util::sync::CancellationToken;

mod analyst;
mod decide;
mod lookup;
mod nudges;
mod produce;
mod progress;
mod report;
mod rules_test;
mod sigma;
mod tables;

/// mimalloc instead of the system allocator: the pipeline allocates and frees
/// Arrow buffers and per-record text at a high rate from every worker, which
/// glibc's malloc serves markedly slower (see benches/RESULTS.md). The
/// benches install the same allocator, so their figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The configuration `floodlight run` uses without `--config`: the demo logs
/// compiled into the binary, the bundled catalog and MaxMind test databases,
/// output under `./floodlight-demo-out/`.
const DEMO_CONFIG: &str = include_str!("../deploy/demo/floodlight.toml");

#[derive(Parser)]
#[command(name = "floodlight", version, about = "Shadow-IT findings from firewall, DNS, OAuth and email logs")]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text", env = "FLOODLIGHT_LOG_FORMAT")]
    log_format: LogFormat,
    /// Log filter (`info`, `debug`, `floodlight_pipeline=debug`, ...). `RUST_LOG` also works.
    #[arg(long, global = true, default_value = "info", env = "FLOODLIGHT_LOG")]
    log: String,
    /// No progress display (it is only ever drawn when stderr is a terminal).
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline. Without --config: the bundled demo (no files, no Kafka needed).
    Run {
        /// Config file (TOML).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Do not print the findings table at the end.
        #[arg(long)]
        no_table: bool,
        /// One line per finding in the table, however wide (the default off a terminal).
        #[arg(long)]
        wide: bool,
        /// Also serve the analyst API (`[server]` of the config) while running,
        /// and keep serving after a finite input ends, until Ctrl-C / SIGTERM.
        #[arg(long)]
        serve: bool,
        /// Serve /healthz, /readyz and /metrics on this address (overrides `[admin] listen`).
        #[arg(long, value_name = "ADDR")]
        admin_listen: Option<std::net::SocketAddr>,
    },
    /// Ask the lake in SQL: findings, events, apps, people.
    ///
    /// Tables: findings, findings_latest, network, dns, auth, oauth, email, apps,
    /// users (see --schema). Without --config: the lake of the embedded demo
    /// (./floodlight-demo-out/lake, written by `floodlight run`).
    Query {
        /// The SQL (one SELECT / WITH / EXPLAIN); `-` or nothing reads it from standard input.
        sql: Option<String>,
        /// List the tables and their columns instead.
        #[arg(long)]
        schema: bool,
        /// Config file (TOML) whose [sinks.lake] to query.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// table, json (one object per line), csv, parquet or arrow (IPC stream).
        #[arg(long, short, default_value = "table")]
        format: floodlight_analyst::Format,
        /// Only rows of the last span (`7d`, `24h`) or since a time / date, in every table.
        #[arg(long)]
        since: Option<String>,
        /// Write the answer to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Return at most this many rows (default: [query] max_rows, 10000).
        #[arg(long)]
        max_rows: Option<usize>,
        /// Stop the query after this long (default: [query] timeout, 30s).
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<std::time::Duration>,
    },
    /// Serve the analyst HTTP API (`[server]` of the config) over the lake.
    Serve {
        /// Config file (TOML) with [server] and [sinks.lake].
        #[arg(long, short)]
        config: PathBuf,
        /// Serve /healthz, /readyz and /metrics on this address (overrides `[admin] listen`).
        #[arg(long, value_name = "ADDR")]
        admin_listen: Option<std::net::SocketAddr>,
    },
    /// Create API tokens and hash them for [[server.tokens]].
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Check a config and compile every rule; exit non-zero on any problem.
    Validate {
        /// Config file (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Decode raw logs and print one normalized JSON event per line.
    Parse {
        /// Input format id (see `floodlight formats`).
        #[arg(long, short)]
        format: String,
        /// Input file (plain or gzip); standard input when absent or `-`.
        file: Option<PathBuf>,
    },
    /// Work with detection rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print every enrichment field for one value as JSON (what the enrichment stage would add).
    Lookup {
        /// What the value is.
        #[arg(value_enum)]
        kind: lookup::LookupKind,
        /// The IP, domain, address, client id or user.
        value: String,
        /// Config file (TOML) whose `[enrichments]` to use (default: the embedded demo's).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Record the organisation's decision on one app in the overlay (shows the change, asks, saves, audits).
    Decide {
        /// The app's catalog id (`floodlight query "SELECT app_id, name, status FROM apps"` lists them).
        app: String,
        /// The decision.
        #[arg(long)]
        status: floodlight_enrichments::AppStatus,
        /// Why (required: comply or explain).
        #[arg(long)]
        reason: String,
        /// Who answers for it (an address people can write to).
        #[arg(long)]
        owner: Option<String>,
        /// Last day it holds (YYYY-MM-DD); afterwards the app counts as unsanctioned again.
        #[arg(long)]
        expires: Option<floodlight_enrichments::Date>,
        /// The sanctioned app to offer instead (its catalog id).
        #[arg(long)]
        alternative: Option<String>,
        /// Config file (TOML) whose `[enrichments] overlay` to change.
        #[arg(long, short)]
        config: PathBuf,
        /// Save without asking.
        #[arg(long, short)]
        yes: bool,
        /// The name recorded in the audit log (default: $USER).
        #[arg(long = "as", value_name = "NAME")]
        who: Option<String>,
    },
    /// List the input formats.
    Formats,
    /// Print a shell completion script: `source <(floodlight completions bash)`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `floodlight man | man -l -`.
    Man {
        /// Write floodlight.1 and one page per command (floodlight-run.1, ...) to this directory instead.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Replay a log file (or standard input) into a Kafka topic, one record per line.
    Produce {
        /// Bootstrap brokers (`host:port[,host:port]`).
        #[arg(long, default_value = "127.0.0.1:9092", env = "FLOODLIGHT_BROKERS")]
        brokers: String,
        /// Topic to write to.
        #[arg(long, short)]
        topic: String,
        /// Partition (default: librdkafka's partitioner).
        #[arg(long)]
        partition: Option<i32>,
        /// Input file (plain or gzip); standard input when absent or `-`.
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new random token and the config lines that accept it.
    New {
        /// Who will hold it (appears in the request log).
        #[arg(long)]
        name: String,
        /// analyst (read) or admin.
        #[arg(long, default_value = "analyst")]
        role: String,
    },
    /// Print the SHA-256 of the token given on standard input (for `sha256 = ...`).
    Hash,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List the rules a config would run (default: the bundled rule pack).
    List {
        /// Config file (TOML).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// One line per rule, however wide.
        #[arg(long)]
        wide: bool,
    },
    /// Convert Sigma rules (files or directories) into floodlight rule files; print what was converted or refused and why.
    ImportSigma {
        /// Sigma rule files (.yml / .yaml) or directories of them; correlations may refer to any rule given.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Directory the rule files are written to.
        #[arg(long, default_value = "queries/imported")]
        out: PathBuf,
        /// Extra log-source and field mappings (TOML, like sigma/data/mapping.toml); repeatable.
        #[arg(long)]
        mapping: Vec<PathBuf>,
        /// Licence recorded on rules that do not name theirs (e.g. DRL-1.1 for SigmaHQ rules).
        #[arg(long)]
        license: Option<String>,
        /// Convert and report, but write nothing.
        #[arg(long)]
        dry_run: bool,
        /// One line per rule, however wide.
        #[arg(long)]
        wide: bool,
        /// One JSON object per Sigma document (file, document, title, result, rule_id / kind, reason) instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Print a rule of the config (default: the bundled pack) as a Sigma rule, if Sigma can express it; exit 1 if not.
    ExportSigma {
        /// Rule id (e.g. SS-04).
        id: String,
        /// Config file (TOML): its `[rules]` dirs apply.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Write the YAML to this file instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Run the rules' test cases (fixtures beside each rule) and print a pass/fail table; exit 1 on any failure.
    Test {
        /// A rules directory or rule file, or a filter on rule ids (default: every rule of the config).
        path: Option<String>,
        /// Config file (TOML): its `[rules]` dirs and parameter overrides apply.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn main() {
    let cli = Cli::parse();
    init_tracing(cli.log_format, &cli.log);
    if floodlight_pipeline::runtime::memory::disable_transparent_huge_pages() {
        tracing::debug!("transparent huge pages off for this process (MIMALLOC_ALLOW_THP=1 keeps them)");
    }
    let code = match run_command(cli.command, cli.quiet) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn init_tracing(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log file or a pipe to a collector gets plain text.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| progress::LogWriter).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the tokio runtime")
}

/// The config to use and the directory its relative paths resolve against.
fn load_config(path: Option<&Path>) -> Result<(Config, PathBuf)> {
    match path {
        Some(p) => {
            let cfg = Config::load(p)?;
            let base = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            Ok((cfg, base))
        }
        None => Ok((Config::parse(DEMO_CONFIG, Path::new("<embedded demo config>"))?, PathBuf::from("."))),
    }
}

fn run_command(command: Command, quiet: bool) -> Result<i32> {
    match command {
        Command::Run { config, no_table, wide, serve, admin_listen } => cmd_run(
            config.as_deref(),
            RunOutput { no_table, wide, progress: progress::wanted(quiet) },
            serve,
            admin_listen,
        ),
        Command::Query { sql, schema, config, format, since, output, max_rows, timeout } => {
            let (cfg, base) = load_config(config.as_deref())?;
            let args = analyst::QueryArgs { sql, schema, format, since, output, max_rows, timeout };
            analyst::cmd_query(&cfg, &base, args, &runtime()?)
        }
        Command::Serve { config, admin_listen } => cmd_serve(&config, admin_listen),
        Command::Token { command: TokenCommand::New { name, role } } => {
            if !matches!(role.as_str(), "analyst" | "admin") {
                bail!("--role must be analyst or admin, not `{role}`");
            }
            analyst::cmd_token_new(&name, &role)
        }
        Command::Token { command: TokenCommand::Hash } => analyst::cmd_token_hash(),
        Command::Validate { config } => cmd_validate(&config),
        Command::Parse { format, file } => cmd_parse(&format, file.as_deref(), quiet),
        Command::Rules { command: RulesCommand::List { config, wide } } => cmd_rules_list(config.as_deref(), wide),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "floodlight", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man { out_dir } => cmd_man(out_dir.as_deref()),
        Command::Rules { command: RulesCommand::ImportSigma { paths, out, mapping, license, dry_run, wide, json } } => {
            sigma::import(sigma::ImportArgs { paths, out, mappings: mapping, license, dry_run, wide, json })
        }
        Command::Rules { command: RulesCommand::ExportSigma { id, config, out } } => {
            let (cfg, base) = load_config(config.as_deref())?;
            sigma::export(&cfg, &base, &id, out.as_deref())
        }
        Command::Rules { command: RulesCommand::Test { path, config } } => {
            let (cfg, base) = load_config(config.as_deref())?;
            rules_test::run(&cfg, &base, path.as_deref(), false)
        }
        Command::Produce { brokers, topic, partition, file } => {
            let n = runtime()?.block_on(produce::produce(&brokers, &topic, partition, file.as_deref()))?;
            eprintln!("{n} record(s) produced to {topic}");
            Ok(0)
        }
        Command::Lookup { kind, value, config } => {
            let (cfg, base) = load_config(config.as_deref())?;
            let snap = cfg.enrichments(&base)?;
            let v = lookup::lookup(&snap, kind, &value)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(0)
        }
        Command::Decide { app, status, reason, owner, expires, alternative, config, yes, who } => {
            let (cfg, base) = load_config(Some(&config))?;
            let decision = floodlight_enrichments::Decision { id: app, status, reason, owner, expires, alternative };
            let args = decide::DecideArgs { decision, yes, who };
            decide::run(&cfg, &base, args)
        }
        Command::Formats => {
            let mut t = tables::table(&[("format", Fit::Whole), ("classes", Fit::Whole), ("reads", Fit::Rest)], false);
            for f in formats() {
                let classes: Vec<_> = f.classes().iter().map(|c| c.as_str()).collect();
                t.add_row([f.id, &classes.join(", "), f.description]);
            }
            println!("{t}");
            Ok(0)
        }
    }
}

/// The `[server]` table, or an error saying how to add one.
fn server_config(cfg: &Config) -> Result<&floodlight_pipeline::config::ServerConfig> {
    cfg.server.as_ref().context(
        "the config has no [server] table: add `[server]` with `listen` and at least one `[[server.tokens]]` \
         (`floodlight token new --name you` prints one)",
    )
}

/// Start the API in the background; it stops when `token` is cancelled.
async fn spawn_server(
    cfg: &Config,
    base: &Path,
    token: CancellationToken,
    nudger: Option<Arc<floodlight_server::nudges::Nudger>>,
) -> Result<tokio::task::JoinHandle<Result<(), floodlight_server::ServerError>>> {
    let server = server_config(cfg)?.clone();
    let limits = analyst::limits(cfg)?;
    let lake = analyst::open_lake(cfg, base, None, limits).await?;
    let base = base.to_path_buf();
    // Check the tokens now, so a bad secret stops the command before it runs.
    floodlight_server::Auth::from_config(&server, &base)?;
    // The console's store is opened (and migrated) now, for the same reason.
    let mut console = floodlight_server::Console::from_config(&server, &cfg.enrichments, &base)
        .await
        .context("cannot start the web console")?;
    if let Some(console) = console.as_mut() {
        console.nudger = nudger.clone();
    }
    // Deferred nudges (quiet hours, the daily cap, retries) go out while serving.
    if let Some(n) = nudger {
        tokio::spawn(n.run(None, nudges::DELIVERY_INTERVAL, token.clone()));
    }
    Ok(tokio::spawn(async move { floodlight_server::serve(lake, &server, &base, console, token).await }))
}

fn cmd_serve(config: &Path, admin_listen: Option<SocketAddr>) -> Result<i32> {
    let (cfg, base) = load_config(Some(config))?;
    let problems = cfg.problems(&base);
    if !problems.is_empty() {
        return Err(floodlight_pipeline::config::ConfigError::Invalid(problems).into());
    }
    runtime()?.block_on(async {
        health().expect(API_CHECK, "opening the lake and the console");
        let _admin = start_admin(&cfg, admin_listen).await?;
        let token = CancellationToken::new();
        let grace = floodlight_server::serve::SHUTDOWN_GRACE;
        runtime::cancel_on_signals(token.clone(), Some(runtime::drain_deadline(grace)));
        let nudger = nudges::open(&cfg, &base).await?;
        let server = spawn_server(&cfg, &base, token, nudger).await?;
        health().pass(API_CHECK);
        server.await.context("the API task failed")??;
        anyhow::Ok(0)
    })
}

/// The readiness check of the analyst API (`serve`, `run --serve`): the
/// lake, the console's store and the tokens are open.
const API_CHECK: &str = "api";

/// Start the admin listener (`/healthz`, `/readyz`, `/metrics`) that
/// `[admin]` or `--admin-listen` asks for. It runs until the process ends,
/// answering through the drain.
async fn start_admin(cfg: &Config, flag: Option<SocketAddr>) -> Result<Option<floodlight_server::admin::Admin>> {
    let admin = match (flag, &cfg.admin) {
        (Some(listen), Some(a)) => Some(AdminConfig { listen, ..a.clone() }),
        (Some(listen), None) => Some(AdminConfig::on(listen)),
        (None, a) => a.clone(),
    };
    let Some(admin) = admin else { return Ok(None) };
    let started = floodlight_server::admin::start(&admin).await.context("cannot start the admin listener")?;
    Ok(Some(started))
}

/// How `run` reports.
struct RunOutput {
    /// No findings table at the end.
    no_table: bool,
    /// One line per finding.
    wide: bool,
    /// Draw progress on stderr.
    progress: bool,
}

fn cmd_run(config: Option<&Path>, output: RunOutput, serve: bool, admin_listen: Option<SocketAddr>) -> Result<i32> {
    let (cfg, base) = load_config(config)?;
    let rt = runtime()?;
    let report = |summary: &RunSummary| {
        let options =
            report::ReportOptions { findings_table: !output.no_table, wide: output.wide, config_path: config };
        report::print(summary, &cfg, &base, &options);
    };
    let summary = rt.block_on(async {
        // Readiness first, then the admin listener: /readyz answers 503
        // while the lake opens, the rules compile and the sources connect.
        cfg.expect_readiness();
        if serve {
            health().expect(API_CHECK, "opening the lake and the console");
        }
        let _admin = start_admin(&cfg, admin_listen).await?;
        let server_stop = CancellationToken::new();
        let nudger = nudges::open(&cfg, &base).await?;
        let server =
            if serve { Some(spawn_server(&cfg, &base, server_stop.clone(), nudger.clone()).await?) } else { None };
        if serve {
            health().pass(API_CHECK);
        }
        let mut pipeline = cfg.build(&base).await?;
        let nudges_stop = CancellationToken::new();
        let nudge_task = nudger.map(|n| {
            let (sink, rx) = floodlight_server::nudges::NudgeSink::new(n.clone());
            pipeline.sinks.push(Box::new(sink));
            tokio::spawn(n.run(Some(rx), nudges::DELIVERY_INTERVAL, nudges_stop.clone()))
        });
        tracing::info!(
            sources = pipeline.sources.len(),
            rules = pipeline.engine.len(),
            sinks = pipeline.sinks.len(),
            workers = pipeline.options.worker_count(),
            "floodlight started"
        );
        let total: Option<u64> = pipeline.sources.iter().map(|s| s.input_bytes()).sum();
        let progress = output.progress.then(|| progress::RunProgress::start(total));
        let token = CancellationToken::new();
        runtime::cancel_on_signals(token.clone(), Some(runtime::drain_deadline(pipeline.options.drain_timeout)));
        let summary = runtime::run(pipeline, token.clone()).await;
        // Queue what the last batches selected and send what is due now.
        nudges_stop.cancel();
        if let Some(task) = nudge_task {
            task.await.context("the nudge sender failed")?;
        }
        if let Some(p) = progress {
            p.finish().await;
        }
        if let Some(server) = server {
            report(&summary);
            if !token.is_cancelled() {
                eprintln!("input finished; still serving the API (Ctrl-C or SIGTERM to stop)");
            }
            token.cancelled().await;
            server_stop.cancel();
            server.await.context("the API task failed")??;
            return anyhow::Ok((summary, true));
        }
        anyhow::Ok((summary, false))
    })?;
    let (summary, printed) = summary;
    if !printed {
        report(&summary);
    }
    let failed = summary.sources.iter().any(|(_, r)| r.is_err());
    Ok(if failed { 2 } else { 0 })
}

fn cmd_man(out_dir: Option<&Path>) -> Result<i32> {
    let cmd = Cli::command();
    match out_dir {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout()).context("writing the manual page")?,
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir).with_context(|| format!("writing manual pages to {}", dir.display()))?;
            eprintln!("manual pages written to {} (`man -M {} floodlight`… or `man -l`)", dir.display(), dir.display());
        }
    }
    Ok(0)
}

fn cmd_validate(path: &Path) -> Result<i32> {
    let (cfg, base) = load_config(Some(path))?;
    let rt = runtime()?;
    match rt.block_on(cfg.check(&base)) {
        Ok(engine) => {
            if let Err(e) = cfg.enrichments(&base) {
                eprintln!("{}: {e}", path.display());
                return Ok(1);
            }
            println!(
                "{}: OK ({} source(s), {} rule(s) compiled)",
                path.display(),
                cfg.sources.len().max(1),
                engine.len()
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            Ok(1)
        }
    }
}

fn cmd_rules_list(config: Option<&Path>, wide: bool) -> Result<i32> {
    let (cfg, base) = load_config(config)?;
    let (source, settings) = cfg.rule_setup(&base);
    let (defs, errors) = load_rules(&source, &settings);
    let mut t = tables::table(
        &[
            ("id", Fit::Whole),
            ("family", Fit::AtMost(16)),
            ("severity", Fit::Whole),
            ("mode", Fit::Whole),
            ("classes", Fit::AtMost(14)),
            ("ATT&CK", Fit::AtMost(12)),
            ("title", Fit::Rest),
            ("file", Fit::AtMost(30)),
        ],
        wide,
    );
    for d in &defs {
        t.add_row([
            d.id().to_string(),
            d.file.family.as_str().to_string(),
            d.file.severity.as_str().to_string(),
            d.mode.name().to_string(),
            d.classes().iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
            d.file.attack.join(", "),
            d.file.title.clone(),
            d.path.display().to_string(),
        ]);
    }
    println!("{t}");
    for e in &errors {
        eprintln!("error: {e}");
    }
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// The input of `parse`: its name, a reader (gzip undone) and its size when
/// that is the number of bytes the reader gives (a plain file).
fn open_input(file: Option<&Path>) -> Result<(String, Box<dyn BufRead>, Option<u64>)> {
    let (name, raw, size): (String, Box<dyn Read>, Option<u64>) = match file {
        None => ("stdin".into(), Box::new(std::io::stdin()), None),
        Some(p) if p.as_os_str() == "-" => ("stdin".into(), Box::new(std::io::stdin()), None),
        Some(p) => {
            let f = std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            let size = f.metadata().ok().map(|m| m.len());
            (format!("file:{}", p.display()), Box::new(f), size)
        }
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let gz = reader.fill_buf().map(|b| b.starts_with(&[0x1f, 0x8b])).unwrap_or(false);
    if gz {
        // Bounded like the file source's: a decompression bomb is refused.
        return Ok((name, Box::new(BufReader::new(floodlight_pipeline::source::file::Gunzip::new(reader))), None));
    }
    Ok((name, Box::new(reader), size))
}

fn cmd_parse(format: &str, file: Option<&Path>, quiet: bool) -> Result<i32> {
    let Some(decoder) = decoder_for(format) else {
        bail!("unknown format `{format}` (known: {})", format_ids());
    };
    let (source, mut input, size) = open_input(file)?;
    // Progress only when the events go elsewhere than the terminal.
    let progress =
        (progress::wanted(quiet) && !std::io::stdout().is_terminal()).then(|| progress::ParseProgress::start(size));
    let mut bytes_read = 0u64;
    let source: Arc<str> = Arc::from(source);
    let fmt: Arc<str> = Arc::from(format);
    let mut headers: Vec<Bytes> = Vec::new();
    let (mut parsed, mut skipped, mut dead, mut rows_out) = (0u64, 0u64, 0u64, 0u64);
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    let mut records = Vec::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut flush = |records: &mut Vec<RawRecord>, headers: &[Bytes], out: &mut dyn Write| -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let batch = RawBatch {
            source: source.clone(),
            partition: None,
            format: fmt.clone(),
            headers: Arc::from(headers.to_vec()),
            records: std::mem::take(records),
            ack: AckToken::detached(0),
            pos: floodlight_pipeline::event_time::StreamPos::detached(),
        };
        for (offset, outcome, rows) in decode_rows(decoder.as_ref(), &batch) {
            match outcome {
                Ok(DecodeOutcome::Parsed(_)) => {
                    parsed += 1;
                    for r in rows {
                        rows_out += 1;
                        writeln!(out, "{}", r.to_json())?;
                    }
                }
                Ok(DecodeOutcome::Skipped(reason)) => {
                    skipped += 1;
                    tracing::debug!(origin = %origin_string(&source, None, offset), reason, "skipped");
                }
                Err(reason) => {
                    dead += 1;
                    // Above the progress bar, if one is drawn.
                    let _ = writeln!(progress::LogWriter, "{}: {reason}", origin_string(&source, None, offset));
                }
            }
        }
        Ok(())
    };
    // A line is a record up to the sources' record limit; a longer one is
    // reported and skipped, never held whole.
    let max_line = floodlight_pipeline::source::BatchLimits::default().max_record_bytes;
    let mut too_long = 0u64;
    loop {
        buf.clear();
        let n = (&mut input).take(max_line as u64 + 1).read_until(b'\n', &mut buf).context("reading input")?;
        if n == 0 {
            break;
        }
        bytes_read += n as u64;
        line_no += 1;
        if n > max_line && buf.last() != Some(&b'\n') {
            bytes_read += input.skip_until(b'\n').context("reading input")? as u64;
            too_long += 1;
            let _ = writeln!(
                progress::LogWriter,
                "{}: a line longer than {max_line} bytes (max_record_bytes); not decoded",
                origin_string(&source, None, line_no)
            );
            continue;
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        if buf.is_empty() {
            continue;
        }
        if buf.first() == Some(&b'#') {
            flush(&mut records, &headers, &mut out)?;
            headers.push(Bytes::copy_from_slice(&buf));
            continue;
        }
        records.push(RawRecord::new(line_no, Bytes::copy_from_slice(&buf)));
        if records.len() >= 4096 {
            flush(&mut records, &headers, &mut out)?;
            if let Some(p) = &progress {
                p.update(line_no, bytes_read);
            }
        }
    }
    flush(&mut records, &headers, &mut out)?;
    out.flush()?;
    if let Some(p) = progress {
        p.finish();
    }
    let dead = dead + too_long;
    eprintln!("{parsed} parsed, {dead} dead-lettered ({skipped} skipped as not modelled, {rows_out} events)");
    Ok(0)
}
