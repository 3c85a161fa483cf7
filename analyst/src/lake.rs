//! The lake as SQL tables: a DataFusion session over the Parquet files the
//! lake sink writes, plus the catalog and the directory as small tables.
//!
//! | name | what | one row per |
//! |---|---|---|
//! | `network`, `dns`, `auth`, `oauth`, `email` | enriched events, duplicates hidden | event (`event_id`) |
//! | `network_raw`, ... `email_raw` | every copy the lake holds (replays write events again) | copy |
//! | `findings` | every revision of every finding, duplicates hidden | (`finding_id`, `revision`) |
//! | `findings_latest` | the newest revision of each finding | `finding_id` |
//! | `findings_raw` | every copy of every revision | copy |
//! | `apps` | the SaaS catalog with the organisation's overlay (status, reason, owner, expiry, alternative) | app |
//! | `users` | the directory | person |
//!
//! Event tables are listing tables on `<lake>/events/class=<class>/`, with
//! the partition column `date` (`YYYY-MM-DD`, the event's UTC day); the
//! findings table is on `<lake>/findings/` with partition columns `class`
//! and `date`. A filter on `date` (or `class`) prunes whole folders before
//! any file is opened: `WHERE date >= '2026-11-20'`. The de-duplicating
//! tables ([`DedupTable`]) key on `date` as well as the id (a replayed event
//! has the same time and so the same `date`) and pass filters to the scan,
//! so pruning works through them too.
//!
//! A [`Window`] (`--since 7d`) restricts every event and findings table to
//! recent rows, on `date` and on `time`, so analysts get pruning without
//! writing the filter.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, ListBuilder, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::MemTable;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use floodlight_enrichments::{AppCatalog, Enrichments};
use floodlight_pipeline::schema::{finding_schema, ClassSchemas, EventClass, Timestamp};
use floodlight_pipeline::sinks::lake::{LakeLocation, LakeStore};

use crate::dedup::DedupTable;
use crate::error::AnalystError;
use crate::limits::QueryLimits;

/// How long a folder listing is reused: files the lake sink closes show in
/// queries at most this late.
pub const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Only rows at or after `start` (event or finding `time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The earliest time kept.
    pub start: Timestamp,
}

impl Window {
    /// The last `span` before now: `"7d"`, `"36h"`, `"90m"`, or an RFC 3339
    /// time / `YYYY-MM-DD` date to start from.
    pub fn parse_since(span: &str, now: Timestamp) -> Result<Window, AnalystError> {
        let bad = |problem: &str| AnalystError::Input(format!("--since `{span}`: {problem}"));
        let text = span.trim();
        if let Ok(d) = humantime::parse_duration(text) {
            let micros = i64::try_from(d.as_micros()).map_err(|_| bad("too long"))?;
            return Ok(Window { start: Timestamp(now.micros().saturating_sub(micros)) });
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
            return Ok(Window { start: Timestamp::from_datetime(&t) });
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let t = d.and_hms_opt(0, 0, 0).ok_or_else(|| bad("not a date"))?.and_utc();
            return Ok(Window { start: Timestamp::from_datetime(&t) });
        }
        Err(bad("expected a span (`7d`, `24h`, `90m`), an RFC 3339 time or a `YYYY-MM-DD` date"))
    }

    /// The SQL condition, for a table with `date` and `time` columns.
    fn condition(&self) -> String {
        format!("date >= '{}' AND time >= TIMESTAMP '{}'", self.start.date(), self.start.to_rfc3339())
    }
}

/// What to open.
#[derive(Clone)]
pub struct LakeSpec {
    /// Where the lake is.
    pub location: LakeLocation,
    /// The event schemas the lake was written with (built-in columns plus the
    /// config's extra enrichment columns).
    pub schemas: ClassSchemas,
    /// Catalog, overlay and directory for `apps` and `users` (empty tables without).
    pub enrichments: Option<Arc<Enrichments>>,
    /// Restrict every event and findings table to this window.
    pub window: Option<Window>,
    /// Limits for the session's memory pool.
    pub limits: QueryLimits,
}

/// A DataFusion session with the lake's tables registered.
#[derive(Clone)]
pub struct Lake {
    ctx: SessionContext,
    /// Queries running at once share the memory pool: at most
    /// `QueryLimits::concurrent` run, the others wait (within their time limit).
    running: Arc<tokio::sync::Semaphore>,
    store: LakeStore,
    limits: QueryLimits,
    window: Option<Window>,
}

/// Names of the event tables (the de-duplicated views).
pub fn event_tables() -> impl Iterator<Item = &'static str> {
    EventClass::ALL.iter().map(|c| c.as_str())
}

impl Lake {
    /// Open `spec`: register every table and view. Nothing is read yet
    /// (files are listed when a query runs), so an empty or new lake opens.
    pub async fn open(spec: LakeSpec) -> Result<Lake, AnalystError> {
        let store = spec.location.open().map_err(|e| AnalystError::Lake(e.to_string()))?;
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(spec.limits.memory_bytes, 1.0)
            // No spilling: a query that needs more than the pool fails
            // instead of filling the disk.
            .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled))
            // DataFusion caches folder listings forever by default; the lake
            // grows while `serve` runs, so new files show within seconds.
            .with_cache_manager(CacheManagerConfig::default().with_list_files_cache_ttl(Some(LISTING_TTL)))
            .build_arc()
            .map_err(|e| AnalystError::Lake(e.to_string()))?;
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("floodlight", "lake")
            .with_target_partitions(spec.limits.partitions);
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        ctx.register_object_store(&store.store_url, store.store.clone());

        for class in EventClass::ALL {
            let name = class.as_str();
            let raw = format!("{name}_raw");
            let table = listing(&store, &format!("events/class={name}"), spec.schemas.get(class), &["date"]).await?;
            ctx.register_table(raw.as_str(), table.clone()).map_err(AnalystError::from)?;
            let events = DedupTable::new(table, &["date", "event_id"]).map_err(AnalystError::from)?;
            register_windowed(&ctx, name, Arc::new(events), spec.window)?;
        }
        // Findings files carry `class` too; the partition folder gives the
        // same value, so the table takes it from there (and prunes on it).
        let file_schema = finding_schema();
        let without_class: Vec<Field> =
            file_schema.fields().iter().filter(|f| f.name() != "class").map(|f| f.as_ref().clone()).collect();
        let findings = listing(&store, "findings", Arc::new(Schema::new(without_class)), &["class", "date"]).await?;
        ctx.register_table("findings_raw", findings.clone()).map_err(AnalystError::from)?;
        let revisions =
            DedupTable::new(findings, &["class", "date", "finding_id", "revision"]).map_err(AnalystError::from)?;
        register_windowed(&ctx, "findings", Arc::new(revisions), spec.window)?;
        // A finding's `time` (its first event) and class never change, so
        // (class, date, finding_id) is the finding; keeping `class` and
        // `date` in the join lets a filter on them prune folders.
        create_view(
            &ctx,
            "findings_latest",
            "SELECT f.* FROM findings f JOIN (\
                 SELECT class, date, finding_id, max(revision) AS revision FROM findings \
                 GROUP BY class, date, finding_id) newest \
             ON f.class = newest.class AND f.date = newest.date AND f.finding_id = newest.finding_id \
                AND f.revision = newest.revision",
        )
        .await?;
        let (apps, users) = match &spec.enrichments {
            Some(e) => (apps_batch(&e.catalog)?, users_batch(e)?),
            None => (RecordBatch::new_empty(apps_schema()), RecordBatch::new_empty(users_schema())),
        };
        for (name, batch) in [("apps", apps), ("users", users)] {
            let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(AnalystError::from)?;
            ctx.register_table(name, Arc::new(table)).map_err(AnalystError::from)?;
        }
        let running = Arc::new(tokio::sync::Semaphore::new(spec.limits.concurrent.max(1)));
        Ok(Lake { ctx, running, store, limits: spec.limits, window: spec.window })
    }

    /// The DataFusion session (for the query runner and reports).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Where the lake is, as people read it.
    pub fn root(&self) -> String {
        self.store.root_url.to_string()
    }

    /// The limits queries on this lake run with.
    pub fn limits(&self) -> QueryLimits {
        self.limits
    }

    /// Replace the `apps` table with `catalog` (the catalog with the
    /// overlay applied), for a server that sees the overlay change: the
    /// next query, report or page shows the new statuses.
    pub fn set_catalog(&self, catalog: &AppCatalog) -> Result<(), AnalystError> {
        let batch = apps_batch(catalog)?;
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(AnalystError::from)?;
        self.ctx.deregister_table("apps").map_err(AnalystError::from)?;
        self.ctx.register_table("apps", Arc::new(table)).map_err(AnalystError::from)?;
        Ok(())
    }

    /// Wait for a turn to run a query (see `QueryLimits::concurrent`).
    pub(crate) async fn turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.running.clone().acquire_owned().await.ok()
    }

    /// The window every table is restricted to, if any.
    pub fn window(&self) -> Option<Window> {
        self.window
    }

    /// Every table and view with its columns: (table, kind, columns).
    pub async fn describe(&self) -> Result<Vec<TableInfo>, AnalystError> {
        let mut out = Vec::new();
        for name in TABLES {
            let table = self.ctx.table(*name).await.map_err(AnalystError::from)?;
            let schema = table.schema().as_arrow().clone();
            out.push(TableInfo {
                name: (*name).to_string(),
                about: table_about(name),
                columns: schema
                    .fields()
                    .iter()
                    .map(|f| ColumnInfo {
                        name: f.name().clone(),
                        data_type: type_name(f.data_type()),
                        nullable: f.is_nullable(),
                    })
                    .collect(),
            });
        }
        Ok(out)
    }
}

/// The tables and views analysts see, in the order `--schema` lists them.
pub const TABLES: &[&str] = &[
    "findings",
    "findings_latest",
    "network",
    "dns",
    "auth",
    "oauth",
    "email",
    "apps",
    "users",
    "findings_raw",
    "network_raw",
    "dns_raw",
    "auth_raw",
    "oauth_raw",
    "email_raw",
];

fn table_about(name: &str) -> String {
    match name {
        "findings" => "every revision of every finding (duplicates from replays hidden)".into(),
        "findings_latest" => "the newest revision of each finding".into(),
        "apps" => "the SaaS catalog with the organisation's overlay: status, reason, owner, expiry, alternative".into(),
        "users" => "the directory: one row per person".into(),
        n if n.ends_with("_raw") => {
            format!("every copy of `{}` the lake holds (replays included)", n.trim_end_matches("_raw"))
        }
        n => format!("{n} events, one row per event_id (duplicates from replays hidden)"),
    }
}

/// A table and its columns, for `--schema` and the API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableInfo {
    /// Table or view name.
    pub name: String,
    /// What one row is.
    pub about: String,
    /// Its columns.
    pub columns: Vec<ColumnInfo>,
}

/// One column.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// SQL-ish type name (`string`, `timestamp`, `list<string>`, ...).
    pub data_type: String,
    /// Whether it may be null.
    pub nullable: bool,
}

/// A readable type name.
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Dictionary(_, v) => type_name(v),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::List(f) | DataType::LargeList(f) => format!("list<{}>", type_name(f.data_type())),
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{}, {}>", type_name(kv[0].data_type()), type_name(kv[1].data_type()))
            }
            other => format!("map<{}>", type_name(other)),
        },
        other => other.to_string().to_lowercase(),
    }
}

async fn listing(
    store: &LakeStore,
    relative: &str,
    schema: SchemaRef,
    partitions: &[&str],
) -> Result<Arc<ListingTable>, AnalystError> {
    let url = ListingTableUrl::parse(store.table_url(relative)).map_err(AnalystError::from)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(partitions.iter().map(|p| (p.to_string(), DataType::Utf8)).collect());
    let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config).map_err(AnalystError::from)?))
}

/// Register `table` as `name`, restricted to `window` when there is one.
fn register_windowed(
    ctx: &SessionContext,
    name: &str,
    table: Arc<dyn TableProvider>,
    window: Option<Window>,
) -> Result<(), AnalystError> {
    let table = match window {
        None => table,
        Some(w) => {
            let frame = ctx.read_table(table).map_err(AnalystError::from)?;
            let condition = frame.parse_sql_expr(&w.condition()).map_err(AnalystError::from)?;
            frame.filter(condition).map_err(AnalystError::from)?.into_view()
        }
    };
    ctx.register_table(name, table).map_err(AnalystError::from)?;
    Ok(())
}

async fn create_view(ctx: &SessionContext, name: &str, select: &str) -> Result<(), AnalystError> {
    let plan = ctx.sql(select).await.map_err(AnalystError::from)?.into_unoptimized_plan();
    let view = datafusion::catalog::view::ViewTable::new(plan, Some(select.to_string()));
    ctx.register_table(name, Arc::new(view)).map_err(AnalystError::from)?;
    Ok(())
}

fn list_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8, true))
}

fn apps_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let l = |n: &str| Field::new(n, DataType::List(list_field()), true);
    Arc::new(Schema::new(vec![
        Field::new("app_id", DataType::Utf8, false),
        s("name"),
        s("vendor"),
        s("category"),
        Field::new("risk", DataType::Int32, true),
        l("risk_factors"),
        s("status"),
        s("status_reason"),
        s("owner"),
        s("expires"),
        s("alternative"),
        l("domains"),
        l("client_ids"),
        s("notes"),
    ]))
}

fn users_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let l = |n: &str| Field::new(n, DataType::List(list_field()), true);
    Arc::new(Schema::new(vec![
        Field::new("user", DataType::Utf8, false),
        s("email"),
        s("display_name"),
        s("department"),
        s("manager"),
        s("role"),
        l("flags"),
        l("aliases"),
    ]))
}

fn list_column<'a>(rows: impl Iterator<Item = &'a [String]>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for items in rows {
        for i in items {
            b.values().append_value(i);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

fn apps_batch(catalog: &AppCatalog) -> Result<RecordBatch, AnalystError> {
    let apps: Vec<_> = catalog.iter().collect();
    let text = |f: &dyn Fn(&floodlight_enrichments::catalog::App) -> Option<String>| -> ArrayRef {
        Arc::new(apps.iter().copied().map(f).collect::<StringArray>())
    };
    let factors: Vec<Vec<String>> =
        apps.iter().map(|a| a.risk_factors.iter().map(|f| f.as_str().to_string()).collect()).collect();
    let columns: Vec<ArrayRef> = vec![
        text(&|a| Some(a.id.clone())),
        text(&|a| Some(a.name.clone())),
        text(&|a| Some(a.vendor.clone())),
        text(&|a| Some(a.category.as_str().to_string())),
        Arc::new(apps.iter().map(|a| Some(i32::from(a.risk))).collect::<Int32Array>()),
        list_column(factors.iter().map(Vec::as_slice)),
        text(&|a| Some(a.status.as_str().to_string())),
        text(&|a| a.status_reason.clone()),
        text(&|a| a.owner.clone()),
        text(&|a| a.expires.map(|d| d.to_string())),
        text(&|a| a.alternative.clone()),
        list_column(apps.iter().map(|a| a.domains.as_slice())),
        list_column(apps.iter().map(|a| a.client_ids.as_slice())),
        text(&|a| a.notes.clone()),
    ];
    RecordBatch::try_new(apps_schema(), columns).map_err(AnalystError::from)
}

fn users_batch(e: &Enrichments) -> Result<RecordBatch, AnalystError> {
    let users = e.directory.entries();
    let text = |f: &dyn Fn(&floodlight_enrichments::directory::DirectoryEntry) -> Option<String>| -> ArrayRef {
        Arc::new(users.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|u| Some(u.user.clone())),
        text(&|u| u.email.clone()),
        text(&|u| u.display_name.clone()),
        text(&|u| u.department.clone()),
        text(&|u| u.manager.clone()),
        text(&|u| u.role.clone()),
        list_column(users.iter().map(|u| u.flags.as_slice())),
        list_column(users.iter().map(|u| u.aliases.as_slice())),
    ];
    RecordBatch::try_new(users_schema(), columns).map_err(AnalystError::from)
}
