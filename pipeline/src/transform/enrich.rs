//! The enrichment stage: appends the columns of
//! [`schema::enriched`](crate::schema::enriched) (and the configured custom
//! GeoIP columns) to a decoded batch.
//!
//! Works column-at-a-time on Arrow arrays. Lookups go to an immutable
//! [`Enrichments`] snapshot held in an `ArcSwap`: a reload builds a new
//! snapshot and swaps it in atomically; batches in flight finish on the one
//! they started with.
//!
//! Each group of columns has a key column (`host`, `query`, `dst_ip`,
//! `src_ip`, `user`, the sender's domain). A batch is enriched in two
//! passes per group: the key's *distinct* values are looked up once each
//! (the catalog, the GeoIP cache, the directory) into a small table, and
//! every row gets the index of its value (one hash probe per row, skipped
//! when a row repeats the one before); then each output column is built over
//! the small table and expanded to the batch with Arrow's `take` kernel. No
//! per-row allocation.
//!
//! The stage also owns the hot-reload watcher ([`Enricher::start_reloader`]):
//! it lives and dies with the stage, so the reloader stops when the runtime
//! drops the pipeline.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use arc_swap::ArcSwap;
use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, BooleanBuilder, Float64Array, Int32Array, Int32Builder,
    Int64Array, ListArray, ListBuilder, StringArray, StringBuilder, UInt32Array, UInt32Builder,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use floodlight_enrichments::{
    resembles_user, watched_files, AddressInfo, App, ColumnType, CustomValue, DirectoryEntry, EnrichmentConfig,
    EnrichmentError, Enrichments, GeoRecord, ReloadEvent, ReloadOptions, ReloadStats, Reloader,
};

use crate::internal_events::{
    emit, register_collector, EnrichmentObserved, EnrichmentReloadFailed, EnrichmentReloaderStarted,
    EnrichmentsReloaded,
};
use crate::schema::{ClassSchemas, EventClass};

/// The classes that get the IP columns of `src_ip`, and so the custom GeoIP columns.
pub const IP_ENRICHED_CLASSES: [EventClass; 2] = [EventClass::Auth, EventClass::Oauth];

/// The Arrow type of a custom GeoIP column.
pub fn custom_column_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::String => DataType::Utf8,
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
    }
}

/// The enriched schemas `cfg` gives: the built-in columns, then each
/// `[[enrichments.geoip.fields]]` column, in order, on `auth` and `oauth`.
/// Computed from the configuration alone (no database is opened), so
/// `floodlight validate` plans rules against the schema a run produces.
/// Fields with problems ([`custom_column_problems`] and the crate's
/// checks) are left out.
pub fn class_schemas(cfg: &EnrichmentConfig) -> ClassSchemas {
    let mut extra = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for f in &cfg.geoip.fields {
        let Some(t) = ColumnType::parse(&f.column_type) else { continue };
        if seen.contains(&f.column.as_str()) || clashing_class(&f.column).is_some() {
            continue;
        }
        seen.push(&f.column);
        for class in IP_ENRICHED_CLASSES {
            extra.push((class, Field::new(&f.column, custom_column_type(t), true)));
        }
    }
    ClassSchemas::with_extra(&extra)
}

/// The first IP-enriched class that already has a column `name`.
fn clashing_class(name: &str) -> Option<EventClass> {
    IP_ENRICHED_CLASSES.into_iter().find(|c| c.enriched_columns().iter().any(|col| col.name == name))
}

/// Custom GeoIP column names that clash with a column of `auth` or `oauth`:
/// (`enrichments.geoip.fields[i].column`, what is wrong). The crate itself
/// reports names that are not snake_case, built-in IP columns and repeats.
pub fn custom_column_problems(cfg: &EnrichmentConfig) -> Vec<(String, String)> {
    cfg.geoip
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !floodlight_enrichments::geo::BUILTIN_IP_COLUMNS.contains(&f.column.as_str()))
        .filter_map(|(i, f)| {
            clashing_class(&f.column).map(|class| {
                (
                    format!("enrichments.geoip.fields[{i}].column"),
                    format!(
                        "`{}` is already a column of the `{class}` class (docs/schema.md); custom GeoIP columns are \
                         added to `auth` and `oauth` and need a name of their own, e.g. `geo_{}`",
                        f.column, f.column
                    ),
                )
            })
        })
        .collect()
}

/// A custom column the stage's schemas carry: its name and Arrow type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CustomField {
    name: String,
    data_type: DataType,
}

fn describe(fields: &[CustomField]) -> String {
    if fields.is_empty() {
        return "none".into();
    }
    fields.iter().map(|f| format!("{} {}", f.name, f.data_type)).collect::<Vec<_>>().join(", ")
}

/// A snapshot fits a stage when its custom GeoIP columns are the ones the
/// stage's schemas (and the planned rules) were built with.
fn check_custom_columns(expected: &[CustomField], snap: &Enrichments) -> Result<(), EnrichmentError> {
    let have: Vec<CustomField> = snap
        .geo
        .custom_columns()
        .iter()
        .map(|c| CustomField { name: c.name.clone(), data_type: custom_column_type(c.column_type) })
        .collect();
    if have == expected {
        Ok(())
    } else {
        Err(EnrichmentError::Setting {
            setting: "enrichments.geoip.fields".into(),
            message: format!(
                "the custom GeoIP columns are fixed when floodlight starts ({}), but this snapshot has ({}); \
                 restart floodlight to change them",
                describe(expected),
                describe(&have)
            ),
        })
    }
}

/// Shared, hot-swappable enrichment stage.
pub struct Enricher {
    snapshot: Arc<ArcSwap<Enrichments>>,
    /// When the snapshot in service was loaded.
    loaded: Arc<Mutex<Instant>>,
    schemas: ClassSchemas,
    /// The custom GeoIP columns of the schemas, in order.
    custom: Arc<[CustomField]>,
    reloader: Mutex<Option<Reloader>>,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher").field("custom", &self.custom).field("reload", &self.reload_stats()).finish()
    }
}

impl Enricher {
    /// A stage serving `snapshot`, producing `schemas` (from
    /// [`class_schemas`]; the custom GeoIP columns are the fields of
    /// `auth` after its built-in ones).
    pub fn new(snapshot: Arc<Enrichments>, schemas: ClassSchemas) -> Self {
        let auth = schemas.get(EventClass::Auth);
        let builtin = EventClass::Auth.enriched_schema().fields().len();
        let custom: Vec<CustomField> = auth
            .fields()
            .iter()
            .skip(builtin)
            .map(|f| CustomField { name: f.name().clone(), data_type: f.data_type().clone() })
            .collect();
        Enricher {
            snapshot: Arc::new(ArcSwap::new(snapshot)),
            loaded: Arc::new(Mutex::new(Instant::now())),
            schemas,
            custom: custom.into(),
            reloader: Mutex::new(None),
        }
    }

    /// The enriched schemas this stage produces.
    pub fn schemas(&self) -> &ClassSchemas {
        &self.schemas
    }

    /// Replace the snapshot (hot reload). A snapshot whose custom GeoIP
    /// columns differ from the stage's is refused: the column set is fixed
    /// at start.
    pub fn swap(&self, snapshot: Arc<Enrichments>) -> Result<(), EnrichmentError> {
        check_custom_columns(&self.custom, &snapshot)?;
        self.snapshot.store(snapshot);
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// Report the snapshot's age and the GeoIP cache's hits and misses to
    /// every `/metrics` scrape ([`crate::internal_events::register_collector`]),
    /// for as long as this stage lives.
    pub fn register_metrics(&self) {
        let cell = Arc::downgrade(&self.snapshot);
        let loaded = Arc::downgrade(&self.loaded);
        // The cache counters already reported: a new snapshot's cache starts at zero.
        let reported = Mutex::new((0u64, 0u64));
        let collector = move || {
            let (Some(cell), Some(loaded)) = (cell.upgrade(), loaded.upgrade()) else { return };
            let age = loaded.lock().unwrap_or_else(PoisonError::into_inner).elapsed();
            let stats = cell.load().geo.cache_stats();
            let mut last = reported.lock().unwrap_or_else(PoisonError::into_inner);
            let delta = |now: u64, before: u64| if now >= before { now - before } else { now };
            let (hits, misses) = (delta(stats.hits, last.0), delta(stats.misses, last.1));
            *last = (stats.hits, stats.misses);
            emit(EnrichmentObserved { snapshot_age: age, geoip_hits: hits, geoip_misses: misses });
        };
        register_collector("enrichment", Box::new(collector));
    }

    /// The snapshot in service.
    pub fn snapshot(&self) -> Arc<Enrichments> {
        self.snapshot.load_full()
    }

    /// Watch the files `cfg` names and swap in a new snapshot when they
    /// change (`[enrichments.reload]`): each reload is an
    /// [`EnrichmentsReloaded`] or [`EnrichmentReloadFailed`] event. Does
    /// nothing when reload is disabled or no file is named (bundled
    /// `embedded:` files never change). Returns how many files are watched.
    /// The watcher stops when the stage is dropped (or
    /// [`Enricher::stop_reloader`]).
    pub fn start_reloader(&self, cfg: &EnrichmentConfig, base_dir: &Path) -> usize {
        let files = watched_files(cfg, base_dir);
        if !cfg.reload.enabled || files.is_empty() {
            return 0;
        }
        let cell = Arc::clone(&self.snapshot);
        let loaded = Arc::clone(&self.loaded);
        let expected = Arc::clone(&self.custom);
        let reloader = Reloader::start_observed(
            self.snapshot(),
            cfg.clone(),
            base_dir,
            ReloadOptions::from(&cfg.reload),
            move |snap| check_custom_columns(&expected, snap),
            move |ev| match ev {
                ReloadEvent::Reloaded { snapshot, changed } => {
                    cell.store(snapshot);
                    *loaded.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
                    emit(EnrichmentsReloaded { files: changed });
                }
                ReloadEvent::Failed { error, .. } => {
                    emit(EnrichmentReloadFailed { setting: error.setting(), error: &error.to_string() })
                }
            },
        );
        let settings: Vec<&str> = files.iter().map(|f| f.setting.as_str()).collect();
        emit(EnrichmentReloaderStarted {
            files: &settings,
            notifications: reloader.is_watching(),
            poll_interval_secs: cfg.reload.poll_interval_secs,
        });
        *self.reloader.lock().unwrap_or_else(PoisonError::into_inner) = Some(reloader);
        files.len()
    }

    /// Reload counters, while a reloader runs.
    pub fn reload_stats(&self) -> Option<ReloadStats> {
        self.reloader.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(Reloader::stats)
    }

    /// Ask the reloader to look at the files now (e.g. on SIGHUP).
    pub fn check_files_now(&self) {
        if let Some(r) = self.reloader.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            r.check_now();
        }
    }

    /// Stop watching (joins the reloader's thread).
    pub fn stop_reloader(&self) {
        let r = self.reloader.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(r);
    }

    /// `batch` (of `class`'s base schema) with the enrichment columns appended.
    pub fn enrich(&self, class: EventClass, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        self.enrich_with(class, batch, None)
    }

    /// As [`Enricher::enrich`], for rows whose person attribution learned
    /// from the logs: where `leased` has a value (a canonical id) and the
    /// row's own `user` is empty, that is the row's `user_id`, with
    /// `user_source = 'ip_lease'` (see [`crate::attribute`]).
    pub fn enrich_attributed(
        &self,
        class: EventClass,
        batch: &RecordBatch,
        leased: &StringArray,
    ) -> Result<RecordBatch, ArrowError> {
        self.enrich_with(class, batch, Some(leased))
    }

    fn enrich_with(
        &self,
        class: EventClass,
        batch: &RecordBatch,
        leased: Option<&StringArray>,
    ) -> Result<RecordBatch, ArrowError> {
        let snap = self.snapshot.load();
        let snap: &Enrichments = &snap;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let who = people(snap, class, batch, leased)?;
        match class {
            EventClass::Network => {
                let apps = app_index(snap, str_col(batch, "host")?);
                columns.extend(app_columns(snap, &apps, &who.ids, &who.entries)?);
                let dst = ip_index(snap, str_col(batch, "dst_ip")?);
                columns.extend(dst_ip_columns(&dst)?);
                columns.extend(user_columns(who)?);
            }
            EventClass::Dns => {
                let apps = app_index(snap, str_col(batch, "query")?);
                columns.extend(app_columns(snap, &apps, &who.ids, &who.entries)?);
                columns.extend(user_columns(who)?);
            }
            EventClass::Auth => {
                let ips = ip_index(snap, str_col(batch, "src_ip")?);
                columns.extend(ip_columns(&ips)?);
                columns.extend(user_columns(who)?);
                columns.extend(custom_columns(snap, &self.custom, &ips)?);
            }
            EventClass::Oauth => {
                let apps = oauth_app_index(snap, str_col(batch, "client_id")?, str_col(batch, "client_app")?);
                columns.extend(app_columns(snap, &apps, &who.ids, &who.entries)?);
                let ips = ip_index(snap, str_col(batch, "src_ip")?);
                columns.extend(ip_columns(&ips)?);
                columns.extend(user_columns(who)?);
                columns.extend(custom_columns(snap, &self.custom, &ips)?);
            }
            EventClass::Email => {
                let sender_domain = domains_of(str_col(batch, "sender")?);
                let apps = app_index(snap, &sender_domain);
                let sender_is_personal = mailbox_providers(snap, &sender_domain);
                columns.push(Arc::new(sender_domain.clone()));
                columns.push(Arc::new(sender_is_personal));
                columns.extend(app_columns(snap, &apps, &who.ids, &who.entries)?);
                columns.extend(dest_columns(
                    snap,
                    str_col(batch, "user")?,
                    &who.entries,
                    list_col(batch, "forward_to")?,
                    list_col(batch, "recipients")?,
                ));
                columns.extend(user_columns(who)?);
            }
        }
        RecordBatch::try_new(self.schemas.get(class), columns)
    }
}

fn str_col<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray, ArrowError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| ArrowError::SchemaError(format!("enrich: column `{name}` missing or not a string")))
}

fn list_col<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ListArray, ArrowError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_list_opt::<i32>())
        .ok_or_else(|| ArrowError::SchemaError(format!("enrich: column `{name}` missing or not a list")))
}

/// One batch's distinct values of a key column, each looked up once, and
/// for every row the index of its value (null where the row has none).
struct Distinct<V> {
    values: Vec<V>,
    rows: UInt32Array,
}

impl<V> Distinct<V> {
    /// Every row null (nothing to look up).
    fn none(rows: usize) -> Self {
        Distinct { values: Vec::new(), rows: UInt32Array::new_null(rows) }
    }

    /// The value of `row`, if it has one.
    fn get(&self, row: usize) -> Option<&V> {
        self.rows.is_valid(row).then(|| self.values.get(self.rows.value(row) as usize)).flatten()
    }
}

/// Index `col`'s distinct values: `look_up` runs once per distinct value;
/// `None` (and a null cell) makes the row null.
fn distinct<'a, V>(col: &'a StringArray, mut look_up: impl FnMut(&'a str) -> Option<V>) -> Distinct<V> {
    // Per batch (bounded by it, dropped after it): the fast hasher.
    let mut seen: foldhash::HashMap<&'a str, Option<u32>> = foldhash::HashMap::default();
    let mut values = Vec::new();
    let mut rows = UInt32Builder::with_capacity(col.len());
    let mut last: Option<(&'a str, Option<u32>)> = None;
    for v in col.iter() {
        let idx = match v {
            None => None,
            // Logs repeat: the same host or user on consecutive rows skips the hash.
            Some(s) => match last {
                Some((l, i)) if l == s => i,
                _ => {
                    let i = *seen.entry(s).or_insert_with(|| {
                        look_up(s).map(|v| {
                            values.push(v);
                            (values.len() - 1) as u32
                        })
                    });
                    last = Some((s, i));
                    i
                }
            },
        };
        rows.append_option(idx);
    }
    Distinct { values, rows: rows.finish() }
}

/// `small` (one element per distinct value) expanded to the batch.
fn expand(small: ArrayRef, rows: &UInt32Array) -> Result<ArrayRef, ArrowError> {
    if small.is_empty() {
        return Ok(new_null_array(small.data_type(), rows.len()));
    }
    take(small.as_ref(), rows, None)
}

fn expand_all(smalls: Vec<ArrayRef>, rows: &UInt32Array) -> Result<Vec<ArrayRef>, ArrowError> {
    smalls.into_iter().map(|s| expand(s, rows)).collect()
}

fn strings<'v, V: 'v>(values: &'v [V], f: impl Fn(&'v V) -> Option<&'v str>) -> ArrayRef {
    Arc::new(values.iter().map(f).collect::<StringArray>())
}

fn string_lists<'v, V: 'v, I: IntoIterator<Item = &'v str>>(
    values: &'v [V],
    f: impl Fn(&'v V) -> Option<I>,
) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for v in values {
        match f(v) {
            Some(items) => {
                for s in items {
                    b.values().append_value(s);
                }
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

// --- app catalog -----------------------------------------------------------

/// A distinct app lookup: the app, or `None` for a value the catalog does
/// not know (`app_status = unknown`).
type AppHit<'s> = Option<&'s App>;

fn app_index<'s>(snap: &'s Enrichments, domains: &StringArray) -> Distinct<AppHit<'s>> {
    // A domain we saw but do not know is `unknown`; no domain at all is null.
    distinct(domains, |d| (!d.is_empty()).then(|| snap.catalog.lookup_domain(d)))
}

fn oauth_app_index<'s>(snap: &'s Enrichments, client_ids: &StringArray, names: &StringArray) -> Distinct<AppHit<'s>> {
    let mut by_id: foldhash::HashMap<&str, Option<&App>> = foldhash::HashMap::default();
    let mut by_name: foldhash::HashMap<&str, Option<&App>> = foldhash::HashMap::default();
    let mut slot: foldhash::HashMap<*const App, u32> = foldhash::HashMap::default();
    let mut values: Vec<AppHit<'s>> = Vec::new();
    let mut unknown: Option<u32> = None;
    let mut rows = UInt32Builder::with_capacity(client_ids.len());
    for i in 0..client_ids.len() {
        let cid = client_ids.is_valid(i).then(|| client_ids.value(i)).filter(|c| !c.trim().is_empty());
        let name = names.is_valid(i).then(|| names.value(i)).filter(|n| !n.trim().is_empty());
        let app = cid
            .and_then(|c| *by_id.entry(c).or_insert_with(|| snap.catalog.lookup_client_id(c)))
            .or_else(|| name.and_then(|n| *by_name.entry(n).or_insert_with(|| snap.catalog.lookup_oauth_name(n))));
        let idx = match app {
            Some(a) => Some(*slot.entry(a as *const App).or_insert_with(|| {
                values.push(Some(a));
                (values.len() - 1) as u32
            })),
            None if cid.is_some() || name.is_some() => Some(*unknown.get_or_insert_with(|| {
                values.push(None);
                (values.len() - 1) as u32
            })),
            None => None,
        };
        rows.append_option(idx);
    }
    Distinct { values, rows: rows.finish() }
}

/// [`APP_COLUMNS`](crate::schema::enriched::APP_COLUMNS), in order.
///
/// `app_exception` says which overlay exception covers the row: `everyone`
/// for an app the overlay made `monitored`, or the scope of an
/// `[[exception]]` entry naming the row's user (`users`) or their directory
/// department (`people`). A scoped exception also makes that row's
/// `app_status` `monitored`, with the exception's reason and owner.
fn app_columns(
    snap: &Enrichments,
    apps: &Distinct<AppHit<'_>>,
    users: &StringArray,
    people: &Distinct<&DirectoryEntry>,
) -> Result<Vec<ArrayRef>, ArrowError> {
    let v = &apps.values;
    let risk: Int32Array = v.iter().map(|a| a.map(|a| i32::from(a.risk))).collect();
    let alternatives: StringArray = v
        .iter()
        .map(|a| {
            a.and_then(|a| a.alternative.as_deref()).map(|id| snap.catalog.get(id).map_or(id, |alt| alt.name.as_str()))
        })
        .collect();
    let mut columns = expand_all(
        vec![
            strings(v, |a| a.map(|a| a.id.as_str())),
            strings(v, |a| a.map(|a| a.name.as_str())),
            strings(v, |a| a.map(|a| a.vendor.as_str())),
            strings(v, |a| a.map(|a| a.category.as_str())),
            Arc::new(risk),
            string_lists(v, |a| a.map(|a| a.risk_factors.iter().map(|f| f.as_str()))),
            strings(v, |a| Some(a.map_or("unknown", |a| a.status.as_str()))),
            strings(v, |a| a.and_then(|a| a.status_reason.as_deref())),
            strings(v, |a| a.and_then(|a| a.owner.as_deref())),
            Arc::new(alternatives),
            strings(v, |a| a.filter(|a| a.excepted_for_everyone()).map(|_| "everyone")),
        ],
        &apps.rows,
    )?;
    if snap.catalog.has_exceptions() {
        scoped_exceptions(snap, apps, users, people, &mut columns);
    }
    Ok(columns)
}

/// A row an `[[exception]]` covers: the row, the scope, the entry.
type ExceptionHit<'a> = (usize, String, &'a floodlight_enrichments::ExceptionRule);

/// Apply the overlay's `[[exception]]` entries to `columns` (from
/// [`app_columns`]) row by row; only rows whose app has one are looked at.
fn scoped_exceptions(
    snap: &Enrichments,
    apps: &Distinct<AppHit<'_>>,
    users: &StringArray,
    people: &Distinct<&DirectoryEntry>,
    columns: &mut [ArrayRef],
) {
    const STATUS: usize = 6;
    const REASON: usize = 7;
    const OWNER: usize = 8;
    const EXCEPTION: usize = 10;
    let mut hits: Vec<ExceptionHit<'_>> = Vec::new();
    for row in 0..users.len() {
        let Some(Some(app)) = apps.get(row) else { continue };
        if app.excepted_for_everyone() || users.is_null(row) {
            continue;
        }
        let rules = snap.catalog.exceptions_for(&app.id);
        let user = users.value(row);
        let entry = people.get(row).copied();
        if let Some((scope, rule)) = rules.iter().find_map(|x| x.covers(user, entry, &snap.directory).map(|s| (s, x))) {
            hits.push((row, scope, rule));
        }
    }
    if hits.is_empty() {
        return;
    }
    let patch = |column: &ArrayRef, value: &dyn Fn(&ExceptionHit<'_>) -> Option<String>| {
        let old = column.as_string::<i32>();
        let mut out: Vec<Option<String>> = old.iter().map(|v| v.map(str::to_string)).collect();
        for hit in &hits {
            out[hit.0] = value(hit);
        }
        Arc::new(StringArray::from(out)) as ArrayRef
    };
    columns[STATUS] = patch(&columns[STATUS], &|_| Some("monitored".to_string()));
    columns[REASON] = patch(&columns[REASON], &|(_, scope, x)| {
        Some(format!("exception ({scope}) until {}: {}", x.expires, x.reason))
    });
    columns[OWNER] = patch(&columns[OWNER], &|(_, _, x)| x.owner.clone());
    columns[EXCEPTION] = patch(&columns[EXCEPTION], &|(_, scope, _)| Some(scope.clone()));
}

// --- GeoIP -----------------------------------------------------------------

fn ip_index(snap: &Enrichments, ips: &StringArray) -> Distinct<Arc<GeoRecord>> {
    distinct(ips, |s| s.trim().parse::<IpAddr>().ok().map(|ip| snap.geo.lookup_record(ip)))
}

/// [`IP_COLUMNS`](crate::schema::enriched::IP_COLUMNS), in order.
fn ip_columns(ips: &Distinct<Arc<GeoRecord>>) -> Result<Vec<ArrayRef>, ArrowError> {
    let v = &ips.values;
    let asn: Int64Array = v.iter().map(|r| r.info.asn.map(i64::from)).collect();
    let anon: BooleanArray = v.iter().map(|r| Some(r.info.is_anonymous)).collect();
    expand_all(
        vec![
            strings(v, |r| r.info.country.as_deref()),
            strings(v, |r| r.info.city.as_deref()),
            Arc::new(asn),
            strings(v, |r| r.info.as_org.as_deref()),
            strings(v, |r| r.info.connection_type.as_deref()),
            strings(v, |r| r.info.user_type.as_deref()),
            Arc::new(anon),
            strings(v, |r| Some(r.info.network_type.as_str())),
        ],
        &ips.rows,
    )
}

/// [`DST_IP_COLUMNS`](crate::schema::enriched::DST_IP_COLUMNS), in order.
fn dst_ip_columns(ips: &Distinct<Arc<GeoRecord>>) -> Result<Vec<ArrayRef>, ArrowError> {
    let v = &ips.values;
    let asn: Int64Array = v.iter().map(|r| r.info.asn.map(i64::from)).collect();
    expand_all(
        vec![strings(v, |r| r.info.country.as_deref()), Arc::new(asn), strings(v, |r| r.info.as_org.as_deref())],
        &ips.rows,
    )
}

/// The custom GeoIP columns the stage's schemas carry, from the records'
/// custom values (matched by name; a value of another type is null).
fn custom_columns(
    snap: &Enrichments,
    fields: &[CustomField],
    ips: &Distinct<Arc<GeoRecord>>,
) -> Result<Vec<ArrayRef>, ArrowError> {
    let have = snap.geo.custom_columns();
    let v = &ips.values;
    fields
        .iter()
        .map(|f| {
            let pos = have.iter().position(|c| c.name == f.name && custom_column_type(c.column_type) == f.data_type);
            let Some(pos) = pos else { return Ok(new_null_array(&f.data_type, ips.rows.len())) };
            let value = |r: &Arc<GeoRecord>| r.custom.get(pos).cloned().flatten();
            let small: ArrayRef = match f.data_type {
                DataType::Int64 => Arc::new(
                    v.iter()
                        .map(|r| match value(r) {
                            Some(CustomValue::Int(i)) => Some(i),
                            _ => None,
                        })
                        .collect::<Int64Array>(),
                ),
                DataType::Float64 => Arc::new(
                    v.iter()
                        .map(|r| match value(r) {
                            Some(CustomValue::Float(x)) => Some(x),
                            _ => None,
                        })
                        .collect::<Float64Array>(),
                ),
                DataType::Boolean => Arc::new(
                    v.iter()
                        .map(|r| match value(r) {
                            Some(CustomValue::Bool(b)) => Some(b),
                            _ => None,
                        })
                        .collect::<BooleanArray>(),
                ),
                _ => strings(v, |r| match r.custom.get(pos) {
                    Some(Some(CustomValue::String(s))) => Some(s.as_str()),
                    _ => None,
                }),
            };
            expand(small, &ips.rows)
        })
        .collect()
}

// --- user directory --------------------------------------------------------

/// `user_source` of a row whose record names the user.
pub const SOURCE_LOG: &str = "log";
/// `user_source` of a row whose fixed workstation the directory assigns.
pub const SOURCE_DIRECTORY: &str = "directory";
/// `user_source` of a row attributed from the logs at its event time.
pub const SOURCE_IP_LEASE: &str = "ip_lease";
/// `user_source` of a row whose person is not known.
pub const SOURCE_NONE: &str = "none";

/// The source-address column of `class` (the one attribution keys on).
pub fn source_address_column(class: EventClass) -> &'static str {
    match class {
        EventClass::Dns => "client_ip",
        _ => "src_ip",
    }
}

/// Who each row is about: `user_id`, `user_source`, and the directory entry
/// of the id (see [`people`]).
struct People<'s> {
    ids: StringArray,
    sources: StringArray,
    entries: Distinct<&'s DirectoryEntry>,
}

/// Each row's person, by precedence: the record's `user` (made canonical by
/// [`floodlight_enrichments::Directory::person`]), the `leased` id, the
/// directory's fixed workstation for the source address or device; else none.
fn people<'s>(
    snap: &'s Enrichments,
    class: EventClass,
    batch: &RecordBatch,
    leased: Option<&StringArray>,
) -> Result<People<'s>, ArrowError> {
    let directory = &snap.directory;
    let users = str_col(batch, "user")?;
    let named = distinct(users, |u| directory.person(u).map(|(id, _)| id));
    let optional = |name: &str| batch.column_by_name(name).and_then(|c| c.as_string_opt::<i32>());
    let fixed_ip = optional(source_address_column(class))
        .filter(|_| directory.has_fixed_workstations())
        .map(|ips| distinct(ips, |ip| directory.by_ip(ip)));
    let fixed_host = optional("device")
        .filter(|_| directory.has_fixed_workstations())
        .map(|hosts| distinct(hosts, |h| directory.by_host(h)));
    let n = batch.num_rows();
    let mut ids = StringBuilder::with_capacity(n, n * 8);
    let mut sources = StringBuilder::with_capacity(n, n * 3);
    for row in 0..n {
        let fixed =
            || fixed_ip.as_ref().and_then(|d| d.get(row)).or_else(|| fixed_host.as_ref().and_then(|d| d.get(row)));
        if let Some(id) = named.get(row) {
            ids.append_value(id);
            sources.append_value(SOURCE_LOG);
        } else if let Some(id) = leased.filter(|l| l.is_valid(row)).map(|l| l.value(row)) {
            ids.append_value(id);
            sources.append_value(SOURCE_IP_LEASE);
        } else if let Some(e) = fixed() {
            ids.append_value(&e.id);
            sources.append_value(SOURCE_DIRECTORY);
        } else {
            ids.append_null();
            sources.append_value(SOURCE_NONE);
        }
    }
    let ids = ids.finish();
    let entries = if directory.is_empty() { Distinct::none(n) } else { distinct(&ids, |id| directory.lookup(id)) };
    Ok(People { ids, sources: sources.finish(), entries })
}

/// [`USER_COLUMNS`](crate::schema::enriched::USER_COLUMNS), in order.
fn user_columns(who: People<'_>) -> Result<Vec<ArrayRef>, ArrowError> {
    let v = &who.entries.values;
    let mut columns: Vec<ArrayRef> = vec![Arc::new(who.ids), Arc::new(who.sources)];
    columns.extend(expand_all(
        vec![
            strings(v, |e| e.display_name.as_deref()),
            strings(v, |e| e.email.as_deref()),
            strings(v, |e| e.department.as_deref()),
            strings(v, |e| e.manager.as_deref()),
            strings(v, |e| e.role.as_deref()),
            string_lists(v, |e| Some(e.flags.iter().map(String::as_str))),
        ],
        &who.entries.rows,
    )?);
    Ok(columns)
}

// --- email -----------------------------------------------------------------

fn domains_of(addresses: &StringArray) -> StringArray {
    addresses
        .iter()
        .map(|a| {
            a.and_then(|a| {
                let a = a.trim().trim_end_matches('>');
                let (_, d) = a.rsplit_once('@')?;
                let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
                (!d.is_empty()).then_some(d)
            })
        })
        .collect()
}

/// For each domain, whether it is a free-mail or disposable provider (null
/// for a null domain); one look-up per distinct domain.
fn mailbox_providers(snap: &Enrichments, domains: &StringArray) -> BooleanArray {
    let providers = distinct(domains, |d| Some(snap.email.is_mailbox_provider(d)));
    (0..domains.len()).map(|row| providers.get(row).copied()).collect()
}

/// Append the addresses of `list`'s `row` to `out`, borrowed.
fn push_list_values<'a>(list: &'a ListArray, values: Option<&'a StringArray>, row: usize, out: &mut Vec<&'a str>) {
    let Some(values) = values else { return };
    if list.is_null(row) {
        return;
    }
    let offsets = list.value_offsets();
    for j in offsets[row] as usize..offsets[row + 1] as usize {
        if values.is_valid(j) {
            out.push(values.value(j));
        }
    }
}

/// [`DEST_COLUMNS`](crate::schema::enriched::DEST_COLUMNS), in order.
fn dest_columns(
    snap: &Enrichments,
    users: &StringArray,
    directory: &Distinct<&DirectoryEntry>,
    forward_to: &ListArray,
    recipients: &ListArray,
) -> Vec<ArrayRef> {
    let n = users.len();
    let mut address = StringBuilder::with_capacity(n, n * 16);
    let mut domain = StringBuilder::with_capacity(n, n * 8);
    let mut personal = BooleanBuilder::with_capacity(n);
    let mut disposable = BooleanBuilder::with_capacity(n);
    let mut corporate = BooleanBuilder::with_capacity(n);
    let mut resembles = BooleanBuilder::with_capacity(n);
    let mut external = Int32Builder::with_capacity(n);
    let mut partner = StringBuilder::with_capacity(n, 0);
    let fwd_values = forward_to.values().as_string_opt::<i32>();
    let rcpt_values = recipients.values().as_string_opt::<i32>();
    // One classification per distinct address per batch.
    let mut classified: foldhash::HashMap<&str, AddressInfo> = foldhash::HashMap::default();
    let mut candidates: Vec<&str> = Vec::new();
    let mut text = String::new();
    for row in 0..n {
        candidates.clear();
        push_list_values(forward_to, fwd_values, row, &mut candidates);
        push_list_values(recipients, rcpt_values, row, &mut candidates);
        for a in &candidates {
            classified.entry(a).or_insert_with(|| snap.email.classify(a));
        }
        let is_external = |i: &&AddressInfo| i.domain.is_some() && !i.is_corporate;
        let ext = candidates.iter().filter_map(|a| classified.get(a)).filter(is_external).count();
        let infos = || candidates.iter().filter_map(|a| classified.get(a));
        let chosen = infos()
            .find(|i| is_external(i) && i.partner.is_none())
            .or_else(|| infos().find(is_external))
            .or_else(|| candidates.first().and_then(|a| classified.get(a)));
        match chosen {
            Some(info) => {
                match (&info.local_part, &info.domain) {
                    (Some(l), Some(d)) => {
                        text.clear();
                        text.push_str(l);
                        text.push('@');
                        text.push_str(d);
                        address.append_value(&text);
                    }
                    _ => address.append_null(),
                }
                domain.append_option(info.domain.as_deref());
                personal.append_value(info.is_personal);
                disposable.append_value(info.is_disposable);
                corporate.append_value(info.is_corporate);
                let user = users.is_valid(row).then(|| users.value(row));
                let display_name = directory.get(row).and_then(|e| e.display_name.as_deref());
                let looks_own = match (user, &info.local_part) {
                    (Some(u), Some(local)) if info.is_personal => resembles_user(u, display_name, local),
                    _ => false,
                };
                resembles.append_value(looks_own);
                external.append_value(ext as i32);
                partner.append_option(info.partner.as_deref());
            }
            None => {
                address.append_null();
                domain.append_null();
                personal.append_null();
                disposable.append_null();
                corporate.append_null();
                resembles.append_null();
                external.append_value(0);
                partner.append_null();
            }
        }
    }
    vec![
        Arc::new(address.finish()),
        Arc::new(domain.finish()),
        Arc::new(personal.finish()),
        Arc::new(disposable.finish()),
        Arc::new(corporate.finish()),
        Arc::new(resembles.finish()),
        Arc::new(external.finish()),
        Arc::new(partner.finish()),
    ]
}

#[cfg(test)]
mod tests;
