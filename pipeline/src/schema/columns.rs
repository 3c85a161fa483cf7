//! Column primitives shared by every event class: the Rust value types a row
//! field may have, the Arrow type each maps to, and the builders that turn
//! rows into Arrow arrays.
//!
//! Two macros declare row types from one field list, so the Rust struct, the
//! Arrow schema, the serde form and the columnar builder cannot drift apart:
//!
//! * [`event_class!`](crate::event_class) declares an *event* row. Event rows
//!   borrow their text from the raw record ([`Str`] is a `Cow<str>`), so a
//!   decoder that only slices its input allocates nothing per field. The
//!   macro adds the columns every class shares: `event_id`, `time`,
//!   `origin`, `format` first and `vendor_fields` last. The builder takes
//!   `event_id` / `origin` / `format` from a [`RowOrigin`] the decode stage
//!   computes once per record, not from the row.
//! * [`row_type!`](crate::row_type) declares an owned row (the finding).

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, MapBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Text of an event column: borrowed from the raw record when the decoder
/// could slice it, owned when it had to build it (unescaping, lower-casing).
pub type Str<'a> = Cow<'a, str>;

/// The logical type of a column, as documented in `docs/schema.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// UTF-8 string.
    Utf8,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// Boolean.
    Bool,
    /// Microsecond timestamp in UTC.
    Timestamp,
    /// List of UTF-8 strings.
    Utf8List,
    /// Map from UTF-8 keys to UTF-8 values.
    Utf8Map,
}

impl ColumnKind {
    /// The Arrow type of this column.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnKind::Utf8 => DataType::Utf8,
            ColumnKind::Int32 => DataType::Int32,
            ColumnKind::Int64 => DataType::Int64,
            ColumnKind::Bool => DataType::Boolean,
            ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnKind::Utf8List => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            ColumnKind::Utf8Map => {
                // The layout arrow's `MapBuilder` produces with its default field names.
                let entries = Fields::from(vec![
                    Field::new("keys", DataType::Utf8, false),
                    Field::new("values", DataType::Utf8, true),
                ]);
                DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
            }
        }
    }

    /// The name used for this type in `docs/schema.md`.
    pub fn doc_name(self) -> &'static str {
        match self {
            ColumnKind::Utf8 => "string",
            ColumnKind::Int32 => "int32",
            ColumnKind::Int64 => "int64",
            ColumnKind::Bool => "bool",
            ColumnKind::Timestamp => "timestamp",
            ColumnKind::Utf8List => "list<string>",
            ColumnKind::Utf8Map => "map<string, string>",
        }
    }
}

/// One column of a schema: name, type, nullability and its documentation.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// Column name (OCSF-aligned, flat, snake_case).
    pub name: &'static str,
    /// Logical type.
    pub kind: ColumnKind,
    /// Whether the column may hold nulls.
    pub nullable: bool,
    /// One-line description (the doc comment of the field).
    pub doc: &'static str,
}

impl ColumnDef {
    /// The Arrow field of this column.
    pub fn field(&self) -> Field {
        Field::new(self.name, self.kind.data_type(), self.nullable)
    }
}

/// A UTC instant with microsecond precision, the type of every time column.
///
/// Serialises as RFC 3339 (`2026-11-24T09:14:03.120Z`); deserialises from
/// RFC 3339 or from epoch seconds / milliseconds (numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// What a decoder gives a row whose record (of a format it recognised)
    /// has no usable time, with `time_inferred` set: the pipeline replaces it
    /// with the stream's time before the record (see `time_inferred`).
    pub const UNKNOWN: Timestamp = Timestamp(i64::MIN);

    /// Microseconds since the Unix epoch.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// From a chrono UTC time.
    pub fn from_datetime<T: TimeZone>(dt: &DateTime<T>) -> Self {
        Timestamp(dt.timestamp_micros())
    }

    /// The current time.
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_micros())
    }

    /// RFC 3339 text, UTC, millisecond precision.
    pub fn to_rfc3339(self) -> String {
        match DateTime::<Utc>::from_timestamp_micros(self.0) {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => self.0.to_string(),
        }
    }

    /// The UTC calendar date (`YYYY-MM-DD`), used for lake partitions.
    pub fn date(self) -> String {
        match DateTime::<Utc>::from_timestamp_micros(self.0) {
            Some(dt) => dt.format("%Y-%m-%d").to_string(),
            None => "1970-01-01".to_string(),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
            Float(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => crate::schema::time::parse_any(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("unrecognised time `{s}`"))),
            Raw::Int(n) => Ok(crate::schema::time::from_epoch_number(n as f64)),
            Raw::Float(f) => Ok(crate::schema::time::from_epoch_number(f)),
        }
    }
}

/// Vendor fields that have no column of their own, by the vendor's field
/// name, in the order the record had them (the `vendor_fields` column).
/// Serialises as a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VendorFields<'a>(pub Vec<(Str<'a>, Str<'a>)>);

impl<'a> VendorFields<'a> {
    /// Add one field; empty values are not kept.
    pub fn push(&mut self, key: impl Into<Str<'a>>, value: impl Into<Str<'a>>) {
        let value = value.into();
        if !value.is_empty() {
            self.0.push((key.into(), value));
        }
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for VendorFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }
}

impl<'de> Deserialize<'de> for VendorFields<'_> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(d)?;
        Ok(VendorFields(map.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))).collect()))
    }
}

/// Which vendor fields the builders write into the `vendor_fields` column.
///
/// The copy into Arrow (every key name and value of every row) is what this
/// saves when nothing downstream reads them; with `None`, decoders may also
/// skip collecting them (`RecordContext::vendor_fields`; FortiGate does).
/// The runtime picks it per batch from `[runtime] vendor_fields`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VendorFieldsFilter {
    /// Every field (the column as decoded).
    #[default]
    All,
    /// None: every row's map is empty.
    None,
    /// Only these keys, in the record's order.
    Only(Arc<[String]>),
}

impl VendorFieldsFilter {
    /// Whether `key` is written.
    pub fn keeps(&self, key: &str) -> bool {
        match self {
            VendorFieldsFilter::All => true,
            VendorFieldsFilter::None => false,
            VendorFieldsFilter::Only(keys) => keys.iter().any(|k| k == key),
        }
    }

    /// Append `fields` to `builder`, the kept ones only.
    pub fn append(&self, builder: &mut MapBuilder<StringBuilder, StringBuilder>, fields: &VendorFields<'_>) {
        match self {
            VendorFieldsFilter::All => VendorFields::append(builder, fields),
            VendorFieldsFilter::None => {
                // Cannot fail: no keys or values were appended.
                let _ = builder.append(true);
            }
            VendorFieldsFilter::Only(_) => {
                for (k, v) in fields.0.iter().filter(|(k, _)| self.keeps(k)) {
                    builder.keys().append_value(k);
                    builder.values().append_value(v);
                }
                // Cannot fail: keys and values were appended in pairs above.
                let _ = builder.append(true);
            }
        }
    }
}

/// Where one record came from, as the builder writes it into the shared
/// origin columns of every row the record produced.
#[derive(Debug, Clone, Copy)]
pub struct RowOrigin<'o> {
    /// `event_id` column.
    pub event_id: &'o str,
    /// `origin` column.
    pub origin: &'o str,
    /// `format` column, unless the row names its own (`auto` does).
    pub format: &'o str,
}

/// A Rust type that can be a column of a row type.
pub trait ColumnValue {
    /// Arrow builder used for this type.
    type Builder;
    /// Logical type of the column.
    const KIND: ColumnKind;
    /// Whether the column is nullable.
    const NULLABLE: bool;
    /// A new builder with room for `capacity` rows.
    fn builder(capacity: usize) -> Self::Builder;
    /// Append one value.
    fn append(builder: &mut Self::Builder, value: &Self);
    /// Finish the builder into an array.
    fn finish(builder: &mut Self::Builder) -> ArrayRef;
    /// Whether serde should skip this value (absent / empty).
    fn is_absent(&self) -> bool;
}

/// A column value that can be detached from the record it borrows from.
pub trait IntoStatic {
    /// The same type with every borrow replaced by an owned value.
    type Static;
    /// Detach.
    fn into_static(self) -> Self::Static;
}

macro_rules! plain_static {
    ($($t:ty),*) => {$(
        impl IntoStatic for $t {
            type Static = $t;
            fn into_static(self) -> $t {
                self
            }
        }
    )*};
}
plain_static!(
    Option<i32>,
    Option<i64>,
    Option<bool>,
    Timestamp,
    Option<Timestamp>,
    String,
    Option<String>,
    Vec<String>
);

impl IntoStatic for Str<'_> {
    type Static = Str<'static>;
    fn into_static(self) -> Str<'static> {
        Cow::Owned(self.into_owned())
    }
}

impl IntoStatic for Option<Str<'_>> {
    type Static = Option<Str<'static>>;
    fn into_static(self) -> Option<Str<'static>> {
        self.map(|s| Cow::Owned(s.into_owned()))
    }
}

impl IntoStatic for Vec<Str<'_>> {
    type Static = Vec<Str<'static>>;
    fn into_static(self) -> Vec<Str<'static>> {
        self.into_iter().map(|s| Cow::Owned(s.into_owned())).collect()
    }
}

impl IntoStatic for VendorFields<'_> {
    type Static = VendorFields<'static>;
    fn into_static(self) -> VendorFields<'static> {
        VendorFields(
            self.0.into_iter().map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned()))).collect(),
        )
    }
}

fn string_builder(capacity: usize) -> StringBuilder {
    StringBuilder::with_capacity(capacity, capacity * 16)
}

macro_rules! text_column {
    ($t:ty, $lt:lifetime) => {
        impl<$lt> ColumnValue for $t {
            type Builder = StringBuilder;
            const KIND: ColumnKind = ColumnKind::Utf8;
            const NULLABLE: bool = false;
            fn builder(capacity: usize) -> StringBuilder {
                string_builder(capacity)
            }
            fn append(b: &mut StringBuilder, v: &Self) {
                b.append_value(v)
            }
            fn finish(b: &mut StringBuilder) -> ArrayRef {
                Arc::new(b.finish())
            }
            fn is_absent(&self) -> bool {
                false
            }
        }
    };
}
text_column!(Str<'a>, 'a);

impl ColumnValue for String {
    type Builder = StringBuilder;
    const KIND: ColumnKind = ColumnKind::Utf8;
    const NULLABLE: bool = false;
    fn builder(capacity: usize) -> StringBuilder {
        string_builder(capacity)
    }
    fn append(b: &mut StringBuilder, v: &Self) {
        b.append_value(v)
    }
    fn finish(b: &mut StringBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        false
    }
}

impl<'a> ColumnValue for Option<Str<'a>> {
    type Builder = StringBuilder;
    const KIND: ColumnKind = ColumnKind::Utf8;
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> StringBuilder {
        string_builder(capacity)
    }
    fn append(b: &mut StringBuilder, v: &Self) {
        b.append_option(v.as_deref())
    }
    fn finish(b: &mut StringBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl ColumnValue for Option<String> {
    type Builder = StringBuilder;
    const KIND: ColumnKind = ColumnKind::Utf8;
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> StringBuilder {
        string_builder(capacity)
    }
    fn append(b: &mut StringBuilder, v: &Self) {
        b.append_option(v.as_deref())
    }
    fn finish(b: &mut StringBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl ColumnValue for Option<i32> {
    type Builder = Int32Builder;
    const KIND: ColumnKind = ColumnKind::Int32;
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> Int32Builder {
        Int32Builder::with_capacity(capacity)
    }
    fn append(b: &mut Int32Builder, v: &Self) {
        b.append_option(*v)
    }
    fn finish(b: &mut Int32Builder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl ColumnValue for Option<i64> {
    type Builder = Int64Builder;
    const KIND: ColumnKind = ColumnKind::Int64;
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> Int64Builder {
        Int64Builder::with_capacity(capacity)
    }
    fn append(b: &mut Int64Builder, v: &Self) {
        b.append_option(*v)
    }
    fn finish(b: &mut Int64Builder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl ColumnValue for Option<bool> {
    type Builder = BooleanBuilder;
    const KIND: ColumnKind = ColumnKind::Bool;
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> BooleanBuilder {
        BooleanBuilder::with_capacity(capacity)
    }
    fn append(b: &mut BooleanBuilder, v: &Self) {
        b.append_option(*v)
    }
    fn finish(b: &mut BooleanBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl ColumnValue for Timestamp {
    type Builder = TimestampMicrosecondBuilder;
    const KIND: ColumnKind = ColumnKind::Timestamp;
    const NULLABLE: bool = false;
    fn builder(capacity: usize) -> TimestampMicrosecondBuilder {
        TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC")
    }
    fn append(b: &mut TimestampMicrosecondBuilder, v: &Self) {
        b.append_value(v.0)
    }
    fn finish(b: &mut TimestampMicrosecondBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        false
    }
}

impl ColumnValue for Option<Timestamp> {
    type Builder = TimestampMicrosecondBuilder;
    const KIND: ColumnKind = ColumnKind::Timestamp;
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> TimestampMicrosecondBuilder {
        TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC")
    }
    fn append(b: &mut TimestampMicrosecondBuilder, v: &Self) {
        b.append_option(v.map(|t| t.0))
    }
    fn finish(b: &mut TimestampMicrosecondBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

macro_rules! list_column {
    ($t:ty $(, $lt:lifetime)?) => {
        impl$(<$lt>)? ColumnValue for $t {
            type Builder = ListBuilder<StringBuilder>;
            const KIND: ColumnKind = ColumnKind::Utf8List;
            const NULLABLE: bool = true;
            fn builder(capacity: usize) -> ListBuilder<StringBuilder> {
                ListBuilder::with_capacity(StringBuilder::new(), capacity)
            }
            fn append(b: &mut ListBuilder<StringBuilder>, v: &Self) {
                for s in v {
                    b.values().append_value(s);
                }
                b.append(true)
            }
            fn finish(b: &mut ListBuilder<StringBuilder>) -> ArrayRef {
                Arc::new(b.finish())
            }
            fn is_absent(&self) -> bool {
                self.is_empty()
            }
        }
    };
}
list_column!(Vec<String>);
list_column!(Vec<Str<'a>>, 'a);

impl ColumnValue for VendorFields<'_> {
    type Builder = MapBuilder<StringBuilder, StringBuilder>;
    const KIND: ColumnKind = ColumnKind::Utf8Map;
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> Self::Builder {
        MapBuilder::with_capacity(
            None,
            StringBuilder::with_capacity(capacity, capacity * 8),
            StringBuilder::with_capacity(capacity, capacity * 8),
            capacity,
        )
    }
    fn append(b: &mut Self::Builder, v: &Self) {
        for (k, val) in &v.0 {
            b.keys().append_value(k);
            b.values().append_value(val);
        }
        // Cannot fail: keys and values were appended in pairs above.
        let _ = b.append(true);
    }
    fn finish(b: &mut Self::Builder) -> ArrayRef {
        Arc::new(b.finish())
    }
    fn is_absent(&self) -> bool {
        self.0.is_empty()
    }
}

/// Declares an event row type (borrowing its text from the raw record), its
/// Arrow schema and its builder from one field list. Adds the shared
/// columns: `event_id`, `time`, `origin`, `format`, `time_inferred` first, `vendor_fields`
/// last.
///
/// ```ignore
/// event_class! {
///     /// A DNS query.
///     pub struct DnsEvent<'a> / DnsBuilder {
///         /// The name queried.
///         query: Option<Str<'a>>,
///     }
/// }
/// ```
#[macro_export]
macro_rules! event_class {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident<$lt:lifetime> / $builder:ident {
            $( $(#[doc = $doc:literal])+ $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $name<$lt> {
            /// Stable hash of the record's origin (source, partition, offset); the same record always gets the same id.
            #[serde(default, skip_serializing_if = "crate::schema::ColumnValue::is_absent")]
            pub event_id: $crate::schema::Str<$lt>,
            /// When the event happened, UTC.
            #[serde(default)]
            pub time: $crate::schema::Timestamp,
            /// Where the raw record came from: `file:<path>:<line>`, `stdin:<line>`, `kafka:<topic>/<partition>@<offset>`.
            #[serde(default, skip_serializing_if = "crate::schema::ColumnValue::is_absent")]
            pub origin: $crate::schema::Str<$lt>,
            /// Input format id that decoded the record (e.g. `panos`).
            #[serde(default, skip_serializing_if = "crate::schema::ColumnValue::is_absent")]
            pub format: $crate::schema::Str<$lt>,
            /// Whether `time` was inferred: the record is of a known format but had no usable time of its own, so it carries its stream's time (the newest event time before it), or the time it was read when nothing came before it.
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            pub time_inferred: bool,
            $(
                $(#[doc = $doc])+
                #[serde(default, skip_serializing_if = "crate::schema::ColumnValue::is_absent")]
                pub $field: $ty,
            )*
            /// Vendor fields with no column of their own, by the vendor's field name (empty values are not kept).
            #[serde(default, skip_serializing_if = "crate::schema::ColumnValue::is_absent")]
            pub vendor_fields: $crate::schema::VendorFields<$lt>,
        }

        impl<$lt> $name<$lt> {
            /// The columns of this row type, in schema order.
            pub const COLUMNS: &'static [$crate::schema::ColumnDef] = &[
                $crate::schema::ColumnDef {
                    name: "event_id",
                    kind: $crate::schema::ColumnKind::Utf8,
                    nullable: false,
                    doc: " Stable hash of the record's origin (source, partition, offset); the same record always gets the same id.",
                },
                $crate::schema::ColumnDef {
                    name: "time",
                    kind: $crate::schema::ColumnKind::Timestamp,
                    nullable: false,
                    doc: " When the event happened, UTC.",
                },
                $crate::schema::ColumnDef {
                    name: "origin",
                    kind: $crate::schema::ColumnKind::Utf8,
                    nullable: false,
                    doc: " Where the raw record came from: `file:<path>:<line>`, `stdin:<line>`, `kafka:<topic>/<partition>@<offset>`.",
                },
                $crate::schema::ColumnDef {
                    name: "format",
                    kind: $crate::schema::ColumnKind::Utf8,
                    nullable: false,
                    doc: " Input format id that decoded the record (e.g. `panos`).",
                },
                $crate::schema::ColumnDef {
                    name: "time_inferred",
                    kind: $crate::schema::ColumnKind::Bool,
                    // Always written; nullable so lakes written before the column existed still read.
                    nullable: true,
                    doc: " Whether `time` was inferred: the record is of a known format but had no usable time of its own, so it carries its stream's time (the newest event time before it), or the time it was read when nothing came before it.",
                },
                $( $crate::schema::ColumnDef {
                    name: stringify!($field),
                    kind: <$ty as $crate::schema::ColumnValue>::KIND,
                    nullable: <$ty as $crate::schema::ColumnValue>::NULLABLE,
                    doc: concat!($($doc),+),
                }, )*
                $crate::schema::ColumnDef {
                    name: "vendor_fields",
                    kind: $crate::schema::ColumnKind::Utf8Map,
                    nullable: true,
                    doc: " Vendor fields with no column of their own, by the vendor's field name (empty values are not kept).",
                },
            ];

            /// The same row with every borrowed value copied, detached from its record.
            pub fn into_static(self) -> $name<'static> {
                $name {
                    event_id: $crate::schema::IntoStatic::into_static(self.event_id),
                    time: self.time,
                    origin: $crate::schema::IntoStatic::into_static(self.origin),
                    format: $crate::schema::IntoStatic::into_static(self.format),
                    time_inferred: self.time_inferred,
                    $( $field: $crate::schema::IntoStatic::into_static(self.$field), )*
                    vendor_fields: $crate::schema::IntoStatic::into_static(self.vendor_fields),
                }
            }
        }

        /// Columnar builder for the row type of the same class (rows borrowing for `'a`).
        $vis struct $builder<$lt> {
            event_id: ::arrow::array::StringBuilder,
            time: ::arrow::array::TimestampMicrosecondBuilder,
            origin: ::arrow::array::StringBuilder,
            format: ::arrow::array::StringBuilder,
            time_inferred: ::arrow::array::BooleanBuilder,
            $( $field: <$ty as $crate::schema::ColumnValue>::Builder, )*
            vendor_fields: <$crate::schema::VendorFields<$lt> as $crate::schema::ColumnValue>::Builder,
            vendor_filter: $crate::schema::VendorFieldsFilter,
            len: usize,
            rows: ::std::marker::PhantomData<&$lt ()>,
        }

        impl<$lt> $builder<$lt> {
            /// A builder with room for `capacity` rows.
            pub fn with_capacity(capacity: usize) -> Self {
                Self {
                    event_id: ::arrow::array::StringBuilder::with_capacity(capacity, capacity * 32),
                    time: <$crate::schema::Timestamp as $crate::schema::ColumnValue>::builder(capacity),
                    origin: ::arrow::array::StringBuilder::with_capacity(capacity, capacity * 32),
                    format: ::arrow::array::StringBuilder::with_capacity(capacity, capacity * 8),
                    time_inferred: ::arrow::array::BooleanBuilder::with_capacity(capacity),
                    $( $field: <$ty as $crate::schema::ColumnValue>::builder(capacity), )*
                    vendor_fields: <$crate::schema::VendorFields<$lt> as $crate::schema::ColumnValue>::builder(capacity),
                    vendor_filter: $crate::schema::VendorFieldsFilter::All,
                    len: 0,
                    rows: ::std::marker::PhantomData,
                }
            }

            /// Append one row; the shared origin columns come from `origin`
            /// (`format` from the row when it names one).
            pub fn append(&mut self, row: &$name<$lt>, origin: &$crate::schema::RowOrigin<'_>) {
                self.event_id.append_value(origin.event_id);
                self.time.append_value(row.time.0);
                self.origin.append_value(origin.origin);
                self.format.append_value(if row.format.is_empty() { origin.format } else { &row.format });
                self.time_inferred.append_value(row.time_inferred);
                $( $crate::schema::ColumnValue::append(&mut self.$field, &row.$field); )*
                self.vendor_filter.append(&mut self.vendor_fields, &row.vendor_fields);
                self.len += 1;
            }

            /// Which vendor fields go into `vendor_fields` from now on (all by default).
            pub fn set_vendor_fields(&mut self, filter: $crate::schema::VendorFieldsFilter) {
                self.vendor_filter = filter;
            }

            /// Rows appended since the last `finish`.
            pub fn len(&self) -> usize {
                self.len
            }

            /// Whether no row was appended since the last `finish`.
            pub fn is_empty(&self) -> bool {
                self.len == 0
            }

            /// The arrays built so far, in schema order; resets the builder.
            pub fn finish_columns(&mut self) -> Vec<::arrow::array::ArrayRef> {
                self.len = 0;
                vec![
                    ::std::sync::Arc::new(self.event_id.finish()),
                    ::std::sync::Arc::new(self.time.finish()),
                    ::std::sync::Arc::new(self.origin.finish()),
                    ::std::sync::Arc::new(self.format.finish()),
                    ::std::sync::Arc::new(self.time_inferred.finish()),
                    $( <$ty as $crate::schema::ColumnValue>::finish(&mut self.$field), )*
                    <$crate::schema::VendorFields<$lt> as $crate::schema::ColumnValue>::finish(&mut self.vendor_fields),
                ]
            }
        }
    };
}

/// Declares an owned row type (no borrowed text, no shared origin columns),
/// its Arrow schema and its builder from one field list. Used for findings.
#[macro_export]
macro_rules! row_type {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident / $builder:ident {
            $( $(#[doc = $doc:literal])+ $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $(
                $(#[doc = $doc])+
                #[serde(default, skip_serializing_if = "crate::schema::ColumnValue::is_absent")]
                pub $field: $ty,
            )*
        }

        impl $name {
            /// The columns of this row type, in schema order.
            pub const COLUMNS: &'static [$crate::schema::ColumnDef] = &[
                $( $crate::schema::ColumnDef {
                    name: stringify!($field),
                    kind: <$ty as $crate::schema::ColumnValue>::KIND,
                    nullable: <$ty as $crate::schema::ColumnValue>::NULLABLE,
                    doc: concat!($($doc),+),
                }, )*
            ];
        }

        /// Columnar builder for the row type of the same name.
        $vis struct $builder {
            $( $field: <$ty as $crate::schema::ColumnValue>::Builder, )*
            len: usize,
        }

        impl $builder {
            /// A builder with room for `capacity` rows.
            pub fn with_capacity(capacity: usize) -> Self {
                Self {
                    $( $field: <$ty as $crate::schema::ColumnValue>::builder(capacity), )*
                    len: 0,
                }
            }

            /// Append one row.
            pub fn append(&mut self, row: &$name) {
                $( <$ty as $crate::schema::ColumnValue>::append(&mut self.$field, &row.$field); )*
                self.len += 1;
            }

            /// Rows appended since the last `finish`.
            pub fn len(&self) -> usize {
                self.len
            }

            /// Whether no row was appended since the last `finish`.
            pub fn is_empty(&self) -> bool {
                self.len == 0
            }

            /// The arrays built so far, in schema order; resets the builder.
            pub fn finish_columns(&mut self) -> Vec<::arrow::array::ArrayRef> {
                self.len = 0;
                vec![ $( <$ty as $crate::schema::ColumnValue>::finish(&mut self.$field), )* ]
            }
        }
    };
}
