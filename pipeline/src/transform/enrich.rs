//! The enrichment stage: appends the columns of
//! [`schema::enriched`](crate::schema::enriched) to a decoded batch.
//!
//! Works column-at-a-time on Arrow arrays. Lookups go to an immutable
//! [`Enrichments`] snapshot held in an `ArcSwap`: a reload builds a new
//! snapshot and swaps it in atomically; batches in flight finish on the one
//! they started with. Repeated values within a batch (the same host, the same
//! IP) are looked up once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int32Builder, Int64Builder, ListArray, StringArray, StringBuilder,
};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use floodlight_enrichments::{resembles_user, App, Enrichments, GeoInfo};

use crate::schema::{ClassSchemas, EventClass};

/// Shared, hot-swappable enrichment stage.
pub struct Enricher {
    snapshot: ArcSwap<Enrichments>,
    schemas: ClassSchemas,
}

impl Enricher {
    /// A stage serving `snapshot`.
    pub fn new(snapshot: Arc<Enrichments>, schemas: ClassSchemas) -> Self {
        Enricher { snapshot: ArcSwap::new(snapshot), schemas }
    }

    /// The enriched schemas this stage produces.
    pub fn schemas(&self) -> &ClassSchemas {
        &self.schemas
    }

    /// Replace the snapshot (hot reload).
    pub fn swap(&self, snapshot: Arc<Enrichments>) {
        self.snapshot.store(snapshot);
    }

    /// The snapshot in service.
    pub fn snapshot(&self) -> Arc<Enrichments> {
        self.snapshot.load_full()
    }

    /// `batch` (of `class`'s base schema) with the enrichment columns appended.
    pub fn enrich(&self, class: EventClass, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let snap = self.snapshot.load();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        match class {
            EventClass::Network => columns.extend(app_columns_from_domains(&snap, str_col(batch, "host")?)),
            EventClass::Dns => columns.extend(app_columns_from_domains(&snap, str_col(batch, "query")?)),
            EventClass::Auth => columns.extend(ip_columns(&snap, str_col(batch, "src_ip")?)),
            EventClass::Oauth => {
                columns.extend(app_columns_oauth(&snap, str_col(batch, "client_id")?, str_col(batch, "client_app")?));
                columns.extend(ip_columns(&snap, str_col(batch, "src_ip")?));
            }
            EventClass::Email => {
                let sender_domain = domains_of(str_col(batch, "sender")?);
                let apps = app_columns_from_domains(&snap, &sender_domain);
                columns.push(Arc::new(sender_domain));
                columns.extend(apps);
                columns.extend(dest_columns(
                    &snap,
                    str_col(batch, "user")?,
                    list_col(batch, "forward_to")?,
                    list_col(batch, "recipients")?,
                ));
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

struct AppBuilders {
    id: StringBuilder,
    name: StringBuilder,
    category: StringBuilder,
    risk: Int32Builder,
    status: StringBuilder,
    alternative: StringBuilder,
}

impl AppBuilders {
    fn new(n: usize) -> Self {
        AppBuilders {
            id: StringBuilder::with_capacity(n, n * 8),
            name: StringBuilder::with_capacity(n, n * 8),
            category: StringBuilder::with_capacity(n, n * 8),
            risk: Int32Builder::with_capacity(n),
            status: StringBuilder::with_capacity(n, n * 8),
            alternative: StringBuilder::with_capacity(n, n * 8),
        }
    }

    fn push(&mut self, snap: &Enrichments, app: Option<&App>, known_value: bool) {
        match app {
            Some(a) => {
                self.id.append_value(&a.id);
                self.name.append_value(&a.name);
                self.category.append_value(a.category.as_str());
                self.risk.append_value(i32::from(a.risk));
                self.status.append_value(a.status.as_str());
                let alt = a.alternative.as_deref().map(|id| snap.catalog.get(id).map_or(id, |alt| alt.name.as_str()));
                self.alternative.append_option(alt);
            }
            None => {
                self.id.append_null();
                self.name.append_null();
                self.category.append_null();
                self.risk.append_null();
                // A domain we saw but do not know is `unknown`; no domain at all is null.
                self.status.append_option(known_value.then_some("unknown"));
                self.alternative.append_null();
            }
        }
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.id.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.risk.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.alternative.finish()),
        ]
    }
}

fn app_columns_from_domains(snap: &Enrichments, domains: &StringArray) -> Vec<ArrayRef> {
    let mut b = AppBuilders::new(domains.len());
    let mut cache: HashMap<&str, Option<&App>> = HashMap::new();
    for v in domains.iter() {
        match v {
            Some(d) if !d.is_empty() => {
                let app = *cache.entry(d).or_insert_with(|| snap.catalog.lookup_domain(d));
                b.push(snap, app, true);
            }
            _ => b.push(snap, None, false),
        }
    }
    b.finish()
}

fn app_columns_oauth(snap: &Enrichments, client_ids: &StringArray, names: &StringArray) -> Vec<ArrayRef> {
    let mut b = AppBuilders::new(client_ids.len());
    // App names are matched by a catalog scan: once per distinct name per batch.
    let mut by_name: HashMap<&str, Option<&App>> = HashMap::new();
    for i in 0..client_ids.len() {
        let cid = client_ids.is_valid(i).then(|| client_ids.value(i));
        let name = names.is_valid(i).then(|| names.value(i));
        let app = cid.and_then(|c| snap.catalog.lookup_client_id(c)).or_else(|| {
            name.and_then(|n| {
                *by_name.entry(n).or_insert_with(|| snap.catalog.iter().find(|a| a.name.eq_ignore_ascii_case(n.trim())))
            })
        });
        b.push(snap, app, cid.is_some() || name.is_some());
    }
    b.finish()
}

fn ip_columns(snap: &Enrichments, ips: &StringArray) -> Vec<ArrayRef> {
    let n = ips.len();
    let mut country = StringBuilder::with_capacity(n, n * 2);
    let mut city = StringBuilder::with_capacity(n, n * 8);
    let mut asn = Int64Builder::with_capacity(n);
    let mut as_org = StringBuilder::with_capacity(n, n * 8);
    let mut conn = StringBuilder::with_capacity(n, n * 8);
    let mut user_type = StringBuilder::with_capacity(n, n * 8);
    let mut anon = BooleanBuilder::with_capacity(n);
    let mut net = StringBuilder::with_capacity(n, n * 8);
    let mut cache: HashMap<&str, Option<GeoInfo>> = HashMap::new();
    for v in ips.iter() {
        let info = v.and_then(|s| {
            cache.entry(s).or_insert_with(|| s.trim().parse::<IpAddr>().ok().map(|ip| snap.geo.lookup(ip))).clone()
        });
        match info {
            Some(g) => {
                country.append_option(g.country.as_deref());
                city.append_option(g.city.as_deref());
                asn.append_option(g.asn.map(i64::from));
                as_org.append_option(g.as_org.as_deref());
                conn.append_option(g.connection_type.as_deref());
                user_type.append_option(g.user_type.as_deref());
                anon.append_value(g.is_anonymous);
                net.append_value(g.network_type.as_str());
            }
            None => {
                country.append_null();
                city.append_null();
                asn.append_null();
                as_org.append_null();
                conn.append_null();
                user_type.append_null();
                anon.append_null();
                net.append_null();
            }
        }
    }
    vec![
        Arc::new(country.finish()),
        Arc::new(city.finish()),
        Arc::new(asn.finish()),
        Arc::new(as_org.finish()),
        Arc::new(conn.finish()),
        Arc::new(user_type.finish()),
        Arc::new(anon.finish()),
        Arc::new(net.finish()),
    ]
}

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

fn list_values(list: &ListArray, row: usize) -> Vec<String> {
    if list.is_null(row) {
        return Vec::new();
    }
    let values = list.value(row);
    match values.as_string_opt::<i32>() {
        Some(s) => s.iter().flatten().map(str::to_string).collect(),
        None => Vec::new(),
    }
}

fn dest_columns(
    snap: &Enrichments,
    users: &StringArray,
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
    for row in 0..n {
        let mut candidates = list_values(forward_to, row);
        candidates.extend(list_values(recipients, row));
        let infos: Vec<_> = candidates.iter().map(|a| (a, snap.email.classify(a))).collect();
        let ext = infos.iter().filter(|(_, i)| i.domain.is_some() && !i.is_corporate).count();
        let chosen = infos.iter().find(|(_, i)| i.domain.is_some() && !i.is_corporate).or_else(|| infos.first());
        match chosen {
            Some((_, info)) => {
                let addr = match (&info.local_part, &info.domain) {
                    (Some(l), Some(d)) => Some(format!("{l}@{d}")),
                    _ => None,
                };
                address.append_option(addr.as_deref());
                domain.append_option(info.domain.as_deref());
                personal.append_value(info.is_personal);
                disposable.append_value(info.is_disposable);
                corporate.append_value(info.is_corporate);
                let user = users.is_valid(row).then(|| users.value(row));
                let looks_own = match (user, &info.local_part) {
                    (Some(u), Some(local)) if info.is_personal => resembles_user(u, None, local),
                    _ => false,
                };
                resembles.append_value(looks_own);
                external.append_value(ext as i32);
            }
            None => {
                address.append_null();
                domain.append_null();
                personal.append_null();
                disposable.append_null();
                corporate.append_null();
                resembles.append_null();
                external.append_value(0);
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
    ]
}
