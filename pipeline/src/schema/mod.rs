//! The data model: event classes, their Arrow schemas (base and enriched),
//! and the finding schema. Everything that names a column lives here.
//!
//! * [`columns`] — the value types a column can have and the `event_class!` macro.
//! * [`events`] — the five classes (`network`, `dns`, `auth`, `oauth`, `email`).
//! * [`enriched`] — the columns the enrichment stage appends.
//! * [`finding`] — the finding row.
//! * [`doc`] — the column reference of `docs/schema.md`, generated from the above.

pub mod columns;
pub mod doc;
pub mod enriched;
pub mod events;
pub mod finding;
pub mod time;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

pub use columns::{
    ColumnDef, ColumnKind, ColumnValue, IntoStatic, RowOrigin, Str, Timestamp, VendorFields, VendorFieldsFilter,
};
pub use events::{
    AuthBuilder, AuthEvent, DnsBuilder, DnsEvent, EmailBuilder, EmailEvent, NetworkBuilder, NetworkEvent, OauthBuilder,
    OauthEvent,
};
pub use finding::{Finding, FindingBuilder};

/// One of the five normalised event classes. Its name is also the SQL table
/// name rules select from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventClass {
    /// Firewall / proxy sessions and HTTP requests.
    Network,
    /// DNS queries.
    Dns,
    /// Sign-ins.
    Auth,
    /// OAuth consents and grants.
    Oauth,
    /// Messages and mailbox / transport configuration.
    Email,
}

impl EventClass {
    /// Every class, in a fixed order.
    pub const ALL: [EventClass; 5] =
        [EventClass::Network, EventClass::Dns, EventClass::Auth, EventClass::Oauth, EventClass::Email];

    /// Lower-case name, also the SQL table name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventClass::Network => "network",
            EventClass::Dns => "dns",
            EventClass::Auth => "auth",
            EventClass::Oauth => "oauth",
            EventClass::Email => "email",
        }
    }

    /// Position in [`EventClass::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The OCSF class uid this class aligns with.
    pub fn ocsf_class_uid(self) -> u32 {
        match self {
            EventClass::Network => 4001,
            EventClass::Dns => 4003,
            EventClass::Auth => 3002,
            EventClass::Oauth => 6003,
            EventClass::Email => 4009,
        }
    }

    /// The columns decoders fill in.
    pub fn base_columns(self) -> &'static [ColumnDef] {
        match self {
            EventClass::Network => NetworkEvent::COLUMNS,
            EventClass::Dns => DnsEvent::COLUMNS,
            EventClass::Auth => AuthEvent::COLUMNS,
            EventClass::Oauth => OauthEvent::COLUMNS,
            EventClass::Email => EmailEvent::COLUMNS,
        }
    }

    /// Base columns followed by enrichment columns: what rules and the lake see.
    pub fn enriched_columns(self) -> Vec<ColumnDef> {
        let mut cols = self.base_columns().to_vec();
        for group in enriched::enrichment_groups(self) {
            cols.extend_from_slice(group);
        }
        cols
    }

    /// Arrow schema of decoded batches.
    pub fn base_schema(self) -> SchemaRef {
        static CACHE: OnceLock<Vec<SchemaRef>> = OnceLock::new();
        CACHE.get_or_init(|| EventClass::ALL.iter().map(|c| schema_of(c.base_columns())).collect())[self.index()]
            .clone()
    }

    /// Arrow schema of enriched batches.
    pub fn enriched_schema(self) -> SchemaRef {
        static CACHE: OnceLock<Vec<SchemaRef>> = OnceLock::new();
        CACHE.get_or_init(|| EventClass::ALL.iter().map(|c| schema_of(&c.enriched_columns())).collect())[self.index()]
            .clone()
    }
}

impl fmt::Display for EventClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EventClass::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown event class `{s}` (expected one of network, dns, auth, oauth, email)"))
    }
}

/// The enriched schema of every class for one pipeline: the built-in
/// columns ([`EventClass::enriched_schema`]) plus the extra enrichment
/// columns its configuration adds (custom GeoIP fields). The enrichment
/// stage builds batches with it; rules are planned against it.
#[derive(Debug, Clone)]
pub struct ClassSchemas {
    schemas: Vec<SchemaRef>,
}

impl Default for ClassSchemas {
    fn default() -> Self {
        Self::builtin()
    }
}

impl ClassSchemas {
    /// The built-in columns only.
    pub fn builtin() -> Self {
        ClassSchemas { schemas: EventClass::ALL.iter().map(|c| c.enriched_schema()).collect() }
    }

    /// The built-in columns, then `extra` fields appended to the classes they name.
    pub fn with_extra(extra: &[(EventClass, arrow::datatypes::Field)]) -> Self {
        let schemas = EventClass::ALL
            .iter()
            .map(|c| {
                let mut fields: Vec<arrow::datatypes::FieldRef> =
                    c.enriched_schema().fields().iter().cloned().collect();
                fields.extend(extra.iter().filter(|(k, _)| k == c).map(|(_, f)| Arc::new(f.clone())));
                Arc::new(Schema::new(fields))
            })
            .collect();
        ClassSchemas { schemas }
    }

    /// The enriched schema of `class`.
    pub fn get(&self, class: EventClass) -> SchemaRef {
        self.schemas[class.index()].clone()
    }
}

/// The Arrow schema of the finding row.
pub fn finding_schema() -> SchemaRef {
    static CACHE: OnceLock<SchemaRef> = OnceLock::new();
    CACHE.get_or_init(|| schema_of(Finding::COLUMNS)).clone()
}

/// Build an Arrow schema from column definitions.
pub fn schema_of(columns: &[ColumnDef]) -> SchemaRef {
    Arc::new(Schema::new(columns.iter().map(ColumnDef::field).collect::<Vec<_>>()))
}

/// One decoded row of any class, borrowing its text from the raw record.
#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    /// A `network` row.
    Network(NetworkEvent<'a>),
    /// A `dns` row.
    Dns(DnsEvent<'a>),
    /// An `auth` row.
    Auth(AuthEvent<'a>),
    /// An `oauth` row.
    Oauth(OauthEvent<'a>),
    /// An `email` row.
    Email(EmailEvent<'a>),
}

/// Apply `$body` to the event inside any [`Row`] variant.
macro_rules! each_row {
    ($row:expr, $e:ident => $body:expr) => {
        match $row {
            Row::Network($e) => $body,
            Row::Dns($e) => $body,
            Row::Auth($e) => $body,
            Row::Oauth($e) => $body,
            Row::Email($e) => $body,
        }
    };
}

impl<'a> Row<'a> {
    /// The class of this row.
    pub fn class(&self) -> EventClass {
        match self {
            Row::Network(_) => EventClass::Network,
            Row::Dns(_) => EventClass::Dns,
            Row::Auth(_) => EventClass::Auth,
            Row::Oauth(_) => EventClass::Oauth,
            Row::Email(_) => EventClass::Email,
        }
    }

    /// Fill in the origin columns every class shares (for rows that leave
    /// the pipeline as rows, e.g. `floodlight parse`; the Arrow builder takes
    /// them from a [`RowOrigin`] instead). `format` fills the `format`
    /// column only when the decoder left it empty (`auto` sets the format it
    /// recognised).
    pub fn set_origin(&mut self, event_id: &str, origin: &str, format: &str) {
        each_row!(self, e => {
            e.event_id = Str::Owned(event_id.to_owned());
            e.origin = Str::Owned(origin.to_owned());
            if e.format.is_empty() {
                e.format = Str::Owned(format.to_owned());
            }
        })
    }

    /// Set the `format` column (the input format the row was decoded from).
    pub fn set_format(&mut self, format: &'static str) {
        each_row!(self, e => e.format = Str::Borrowed(format))
    }

    /// The event time.
    pub fn time(&self) -> Timestamp {
        each_row!(self, e => e.time)
    }

    /// Whether the row's time is inferred (its record had no usable time).
    pub fn time_inferred(&self) -> bool {
        each_row!(self, e => e.time_inferred)
    }

    /// Set the event time (an inferred one: see `time_inferred`).
    pub fn set_time(&mut self, time: Timestamp) {
        each_row!(self, e => e.time = time)
    }

    /// Mark the row as one whose record had no usable time if its time is
    /// [`Timestamp::UNKNOWN`] (what a decoder gives such a row); returns
    /// whether it did.
    pub fn mark_time_inferred(&mut self) -> bool {
        let unknown = self.time() == Timestamp::UNKNOWN;
        if unknown {
            each_row!(self, e => e.time_inferred = true);
        }
        unknown
    }

    /// The same row detached from the record it borrows from.
    pub fn into_static(self) -> Row<'static> {
        match self {
            Row::Network(e) => Row::Network(e.into_static()),
            Row::Dns(e) => Row::Dns(e.into_static()),
            Row::Auth(e) => Row::Auth(e.into_static()),
            Row::Oauth(e) => Row::Oauth(e.into_static()),
            Row::Email(e) => Row::Email(e.into_static()),
        }
    }

    /// The normalised JSON form (`floodlight-json`), with a `class` key.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = each_row!(self, e => serde_json::to_value(e)).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("class".into(), self.class().as_str().into());
        }
        v
    }
}

/// Accumulates rows of every class and turns them into one Arrow batch per class.
///
/// A class's builder is made when its first row comes, sized for the whole
/// batch: a batch nearly always holds one class (a raw batch has one
/// format), and the arrays a builder finishes keep the room it was made
/// with, so room made for classes that never come would be held by every
/// batch in flight.
pub struct ClassBatchBuilder<'a> {
    capacity: usize,
    vendor_fields: VendorFieldsFilter,
    network: Option<NetworkBuilder<'a>>,
    dns: Option<DnsBuilder<'a>>,
    auth: Option<AuthBuilder<'a>>,
    oauth: Option<OauthBuilder<'a>>,
    email: Option<EmailBuilder<'a>>,
}

impl<'a> ClassBatchBuilder<'a> {
    /// A builder for batches of about `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            vendor_fields: VendorFieldsFilter::All,
            network: None,
            dns: None,
            auth: None,
            oauth: None,
            email: None,
        }
    }

    /// Which vendor fields every class writes into `vendor_fields` from now on.
    pub fn set_vendor_fields(&mut self, filter: &VendorFieldsFilter) {
        self.vendor_fields = filter.clone();
        if let Some(b) = &mut self.network {
            b.set_vendor_fields(filter.clone());
        }
        if let Some(b) = &mut self.dns {
            b.set_vendor_fields(filter.clone());
        }
        if let Some(b) = &mut self.auth {
            b.set_vendor_fields(filter.clone());
        }
        if let Some(b) = &mut self.oauth {
            b.set_vendor_fields(filter.clone());
        }
        if let Some(b) = &mut self.email {
            b.set_vendor_fields(filter.clone());
        }
    }

    /// Append one row to its class, with the origin columns of its record.
    pub fn append(&mut self, row: &Row<'a>, origin: &RowOrigin<'_>) {
        let (capacity, filter) = (self.capacity, &self.vendor_fields);
        macro_rules! to {
            ($slot:expr, $builder:ident, $e:expr) => {
                $slot
                    .get_or_insert_with(|| {
                        let mut b = $builder::with_capacity(capacity);
                        b.set_vendor_fields(filter.clone());
                        b
                    })
                    .append($e, origin)
            };
        }
        match row {
            Row::Network(e) => to!(self.network, NetworkBuilder, e),
            Row::Dns(e) => to!(self.dns, DnsBuilder, e),
            Row::Auth(e) => to!(self.auth, AuthBuilder, e),
            Row::Oauth(e) => to!(self.oauth, OauthBuilder, e),
            Row::Email(e) => to!(self.email, EmailBuilder, e),
        }
    }

    /// Rows appended so far, all classes.
    pub fn len(&self) -> usize {
        self.network.as_ref().map_or(0, NetworkBuilder::len)
            + self.dns.as_ref().map_or(0, DnsBuilder::len)
            + self.auth.as_ref().map_or(0, AuthBuilder::len)
            + self.oauth.as_ref().map_or(0, OauthBuilder::len)
            + self.email.as_ref().map_or(0, EmailBuilder::len)
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One batch per class that has rows, in class order; resets the builder.
    pub fn finish(&mut self) -> Result<Vec<(EventClass, RecordBatch)>, ArrowError> {
        let mut out = Vec::new();
        let parts = [
            (EventClass::Network, self.network.take().filter(|b| !b.is_empty()).map(|mut b| b.finish_columns())),
            (EventClass::Dns, self.dns.take().filter(|b| !b.is_empty()).map(|mut b| b.finish_columns())),
            (EventClass::Auth, self.auth.take().filter(|b| !b.is_empty()).map(|mut b| b.finish_columns())),
            (EventClass::Oauth, self.oauth.take().filter(|b| !b.is_empty()).map(|mut b| b.finish_columns())),
            (EventClass::Email, self.email.take().filter(|b| !b.is_empty()).map(|mut b| b.finish_columns())),
        ];
        for (class, cols) in parts {
            if let Some(cols) = cols {
                out.push((class, RecordBatch::try_new(class.base_schema(), cols)?));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_produces_batches_matching_the_declared_schema() {
        let mut b = ClassBatchBuilder::with_capacity(4);
        let mut dns = DnsEvent { time: Timestamp(1_700_000_000_000_000), ..Default::default() };
        dns.query = Some("wetransfer.com".into());
        dns.answers = vec!["1.2.3.4".into(), "5.6.7.8".into()];
        dns.vendor_fields.push("qclass_name", "C_INTERNET");
        let origin = RowOrigin { event_id: "e1", origin: "file:x:1", format: "zeek-dns" };
        b.append(&Row::Dns(dns.clone()), &origin);
        b.append(&Row::Dns(DnsEvent::default()), &origin);
        let batches = b.finish().unwrap();
        assert_eq!(batches.len(), 1);
        let (class, batch) = &batches[0];
        assert_eq!(*class, EventClass::Dns);
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), EventClass::Dns.base_schema());
        assert!(b.is_empty());
    }

    #[test]
    fn vendor_fields_are_written_as_the_filter_says() {
        use arrow::array::{Array, MapArray, StringArray};
        let mut dns = DnsEvent { time: Timestamp(1_700_000_000_000_000), ..Default::default() };
        dns.vendor_fields.push("qclass_name", "C_INTERNET");
        dns.vendor_fields.push("rcode_name", "NOERROR");
        dns.vendor_fields.push("TTLs", "300");
        let origin = RowOrigin { event_id: "e1", origin: "file:x:1", format: "zeek-dns" };
        let written = |filter: VendorFieldsFilter| -> Vec<(String, String)> {
            let mut b = ClassBatchBuilder::with_capacity(4);
            b.set_vendor_fields(&filter);
            b.append(&Row::Dns(dns.clone()), &origin);
            let batches = b.finish().unwrap();
            let col = batches[0].1.column_by_name("vendor_fields").unwrap();
            let map = col.as_any().downcast_ref::<MapArray>().unwrap();
            assert!(map.is_valid(0), "an empty map, not a null");
            let entries = map.value(0);
            let keys = entries.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let values = entries.column(1).as_any().downcast_ref::<StringArray>().unwrap();
            (0..keys.len()).map(|i| (keys.value(i).to_string(), values.value(i).to_string())).collect()
        };
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            written(VendorFieldsFilter::All),
            [pair("qclass_name", "C_INTERNET"), pair("rcode_name", "NOERROR"), pair("TTLs", "300")]
        );
        assert_eq!(written(VendorFieldsFilter::None), []);
        let only = VendorFieldsFilter::Only(vec!["TTLs".to_string(), "qclass_name".to_string()].into());
        assert_eq!(written(only), [pair("qclass_name", "C_INTERNET"), pair("TTLs", "300")], "the record's order");
    }

    #[test]
    fn every_class_has_the_shared_origin_columns_first() {
        for class in EventClass::ALL {
            let names: Vec<_> = class.base_columns().iter().map(|c| c.name).take(5).collect();
            assert_eq!(names, ["event_id", "time", "origin", "format", "time_inferred"], "{class}");
        }
    }

    #[test]
    fn enriched_schema_has_no_duplicate_columns() {
        for class in EventClass::ALL {
            let cols = class.enriched_columns();
            let mut names: Vec<_> = cols.iter().map(|c| c.name).collect();
            names.sort();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{class} has a duplicated column");
        }
    }

    #[test]
    fn class_names_round_trip() {
        for class in EventClass::ALL {
            assert_eq!(class.as_str().parse::<EventClass>().unwrap(), class);
        }
        assert!("proxy".parse::<EventClass>().is_err());
    }
}
