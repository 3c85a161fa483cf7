//! Reading rule output columns row by row, whatever Arrow type the SQL
//! gave them: the stateful rule modes need key values as text, times as
//! microseconds and aggregate inputs as numbers or text.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;

/// One column of a rule's output, cast once to the shape a mode needs.
pub enum Reader {
    /// Integers and times (microseconds).
    Int(ArrayRef),
    /// Floating point.
    Float(ArrayRef),
    /// Anything else, rendered as text.
    Text(ArrayRef),
}

/// What kind of value a column holds, decided from its Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ValueKind {
    /// Integers.
    Int,
    /// Timestamps (kept as UTC microseconds).
    Time,
    /// Floating point.
    Float,
    /// Text (and anything else, rendered as text).
    Text,
}

impl ValueKind {
    /// The kind of values of an Arrow type.
    pub fn of(t: &DataType) -> ValueKind {
        match t {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => ValueKind::Int,
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => ValueKind::Time,
            DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => ValueKind::Float,
            _ => ValueKind::Text,
        }
    }

    /// The Arrow type a value of this kind is written back as.
    pub fn data_type(self) -> DataType {
        match self {
            ValueKind::Int => DataType::Int64,
            ValueKind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ValueKind::Float => DataType::Float64,
            ValueKind::Text => DataType::Utf8,
        }
    }
}

fn cast(a: &ArrayRef, to: &DataType) -> Result<ArrayRef, String> {
    if a.data_type() == to {
        return Ok(a.clone());
    }
    cast_with_options(a, to, &CastOptions { safe: true, ..Default::default() })
        .map_err(|e| format!("cannot read column of type {} as {to}: {e}", a.data_type()))
}

impl Reader {
    /// A reader for `name` in `batch`, as `kind`.
    pub fn new(batch: &RecordBatch, name: &str, kind: ValueKind) -> Result<Reader, String> {
        let a = batch.column_by_name(name).ok_or_else(|| format!("the rule's sql returns no column `{name}`"))?;
        Ok(match kind {
            ValueKind::Int => Reader::Int(cast(a, &DataType::Int64)?),
            ValueKind::Time => {
                let t = cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
                Reader::Int(cast(&t, &DataType::Int64)?)
            }
            ValueKind::Float => Reader::Float(cast(a, &DataType::Float64)?),
            ValueKind::Text => Reader::Text(text_array(a)?),
        })
    }

    /// The value at `row` as an integer (times: microseconds).
    pub fn int(&self, row: usize) -> Option<i64> {
        match self {
            Reader::Int(a) => {
                let a = a.as_primitive::<arrow::datatypes::Int64Type>();
                a.is_valid(row).then(|| a.value(row))
            }
            Reader::Float(a) => {
                let a = a.as_primitive::<arrow::datatypes::Float64Type>();
                a.is_valid(row).then(|| a.value(row) as i64)
            }
            Reader::Text(a) => {
                a.as_string::<i32>().is_valid(row).then(|| a.as_string::<i32>().value(row).parse().ok())?
            }
        }
    }

    /// The value at `row` as a float.
    pub fn float(&self, row: usize) -> Option<f64> {
        match self {
            Reader::Float(a) => {
                let a = a.as_primitive::<arrow::datatypes::Float64Type>();
                a.is_valid(row).then(|| a.value(row))
            }
            Reader::Int(_) => self.int(row).map(|v| v as f64),
            Reader::Text(a) => {
                a.as_string::<i32>().is_valid(row).then(|| a.as_string::<i32>().value(row).parse().ok())?
            }
        }
    }

    /// The value at `row` as text.
    pub fn text(&self, row: usize) -> Option<String> {
        match self {
            Reader::Text(a) => {
                let a = a.as_string::<i32>();
                a.is_valid(row).then(|| a.value(row).to_string())
            }
            Reader::Int(_) => self.int(row).map(|v| v.to_string()),
            Reader::Float(_) => self.float(row).map(|v| v.to_string()),
        }
    }

    /// Whether the value at `row` is not null (what [`Reader::text`] is `Some` for).
    pub fn is_valid(&self, row: usize) -> bool {
        match self {
            Reader::Int(a) | Reader::Float(a) | Reader::Text(a) => a.is_valid(row),
        }
    }

    /// The value at `row` as text, as [`Reader::text`] gives it, borrowed
    /// from the array when it is text.
    pub fn text_ref(&self, row: usize) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Reader::Text(_) => self.str(row).map(std::borrow::Cow::Borrowed),
            Reader::Int(_) | Reader::Float(_) => self.text(row).map(std::borrow::Cow::Owned),
        }
    }

    /// The value at `row` as text, borrowed (text readers only).
    pub fn str(&self, row: usize) -> Option<&str> {
        match self {
            Reader::Text(a) => {
                let a = a.as_string::<i32>();
                a.is_valid(row).then(|| a.value(row))
            }
            _ => None,
        }
    }
}

/// Render any array as text: lists become `a, b`, everything else Arrow's display form.
fn text_array(a: &ArrayRef) -> Result<ArrayRef, String> {
    if let DataType::List(_) | DataType::LargeList(_) = a.data_type() {
        let mut b = arrow::array::StringBuilder::with_capacity(a.len(), a.len() * 16);
        let fmt = arrow::util::display::ArrayFormatter::try_new(a.as_ref(), &Default::default())
            .map_err(|e| e.to_string())?;
        for i in 0..a.len() {
            if a.is_valid(i) {
                let s = fmt.value(i).to_string();
                b.append_value(s.trim_start_matches('[').trim_end_matches(']'));
            } else {
                b.append_null();
            }
        }
        return Ok(Arc::new(b.finish()));
    }
    cast(a, &DataType::Utf8)
}
