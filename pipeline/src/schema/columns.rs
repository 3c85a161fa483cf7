//! Column primitives shared by every event class: the Rust value types a row
//! field may have, the Arrow type each maps to, and the builder that turns a
//! slice of rows into Arrow arrays.
//!
//! A class is declared once with [`event_class!`](crate::event_class); that
//! macro uses [`ColumnValue`] to derive the Arrow schema, the serde form (the
//! `floodlight-json` format) and a columnar builder from the same field list,
//! so the three can never drift apart.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, TimeUnit};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
            Raw::Text(s) => crate::decode::time::parse_any(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("unrecognised time `{s}`"))),
            Raw::Int(n) => Ok(crate::decode::time::from_epoch_number(n as f64)),
            Raw::Float(f) => Ok(crate::decode::time::from_epoch_number(f)),
        }
    }
}

/// A Rust type that can be a column of an event class.
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

impl ColumnValue for String {
    type Builder = StringBuilder;
    const KIND: ColumnKind = ColumnKind::Utf8;
    const NULLABLE: bool = false;
    fn builder(capacity: usize) -> StringBuilder {
        StringBuilder::with_capacity(capacity, capacity * 16)
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

impl ColumnValue for Option<String> {
    type Builder = StringBuilder;
    const KIND: ColumnKind = ColumnKind::Utf8;
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> StringBuilder {
        StringBuilder::with_capacity(capacity, capacity * 16)
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

impl ColumnValue for Vec<String> {
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

/// Declares a row type and its Arrow schema and builder from one field list.
///
/// ```ignore
/// event_class! {
///     /// A DNS query.
///     pub struct DnsEvent / DnsBuilder {
///         /// The name queried.
///         query: Option<String>,
///     }
/// }
/// ```
#[macro_export]
macro_rules! event_class {
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

        /// Columnar builder for the row type of the same class.
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
