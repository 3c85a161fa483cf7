//! A rule's output rows as JSON objects, the form findings are built from.
//!
//! The definition is `arrow_json`'s: write the batch as a JSON array (nulls
//! left out), then parse it with `serde_json`. That costs a text rendering
//! and a parse per row, on every row a rule matches (about 2,000
//! instructions per FortiGate event with the whole rule pack). So the
//! column types rule output nearly always has (text, integers, booleans,
//! times and lists of them) are read straight from the arrays into the same
//! [`Value`]s; a batch with any other type (floats, whose parse back from
//! text may round differently, decimals, structs, maps, dictionaries,
//! binary) takes the writer and the parse, so the result is always the
//! defined one. A property test holds the two ways to each other.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow::json::writer::{JsonArray, WriterBuilder};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Map, Number, Value};

use super::columns::ValueKind;

/// The batch as one JSON object per row (nulls omitted).
pub(crate) fn rows_as_json(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>, String> {
    match rows_from_columns(batch) {
        Some(rows) => Ok(rows),
        None => rows_through_text(batch),
    }
}

/// The named columns of each row as a JSON object, exactly as
/// [`rows_as_json`] would give them (columns the batch lacks and nulls
/// left out): for deciding from a few columns what to do with rows that
/// stay in Arrow until they are needed whole.
pub(crate) fn columns_as_json(batch: &RecordBatch, names: &[&str]) -> Result<Vec<Map<String, Value>>, String> {
    let schema = batch.schema();
    let present: Vec<usize> = names.iter().filter_map(|n| schema.index_of(n).ok()).collect();
    if present.is_empty() {
        return Ok(vec![Map::new(); batch.num_rows()]);
    }
    let rows = rows_as_json(&batch.project(&present).map_err(|e| e.to_string())?)?;
    if rows.len() != batch.num_rows() {
        return Err(format!("rule output: {} rows read as {} JSON objects", batch.num_rows(), rows.len()));
    }
    Ok(rows)
}

/// The defined way: `arrow_json`'s text, parsed back.
fn rows_through_text(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>, String> {
    let mut buf = Vec::new();
    {
        let mut writer = WriterBuilder::new().with_explicit_nulls(false).build::<_, JsonArray>(&mut buf);
        writer.write(batch).map_err(|e| format!("rule output cannot be rendered as JSON: {e}"))?;
        writer.finish().map_err(|e| format!("rule output cannot be rendered as JSON: {e}"))?;
    }
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&buf).map_err(|e| format!("rule output JSON is malformed: {e}"))
}

/// The same rows read from the arrays; `None` when a column has a type
/// this does not read.
fn rows_from_columns(batch: &RecordBatch) -> Option<Vec<Map<String, Value>>> {
    // The writer's own options for times (its defaults).
    let options = FormatOptions::new().with_display_error(true);
    let columns: Vec<Column<'_>> =
        batch.columns().iter().map(|c| Column::new(c.as_ref(), &options)).collect::<Option<_>>()?;
    let schema = batch.schema();
    let mut rows = vec![Map::new(); batch.num_rows()];
    for (field, column) in schema.fields().iter().zip(&columns) {
        for (i, row) in rows.iter_mut().enumerate() {
            if column.array().is_valid(i) {
                row.insert(field.name().clone(), column.value(i));
            }
        }
    }
    Some(rows)
}

/// A column read into [`Value`]s.
enum Column<'a> {
    Text(&'a dyn Array),
    Int(&'a dyn Array),
    Bool(&'a dyn Array),
    /// Dates and times, in the text the JSON writer gives them.
    Time(&'a dyn Array, ArrayFormatter<'a>),
    List(&'a dyn Array, Box<Column<'a>>),
}

impl<'a> Column<'a> {
    fn new(array: &'a dyn Array, options: &'a FormatOptions<'a>) -> Option<Column<'a>> {
        Some(match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Column::Text(array),
            DataType::Boolean => Column::Bool(array),
            DataType::List(_) => {
                let values = array.as_list::<i32>().values().as_ref();
                Column::List(array, Box::new(Column::new(values, options)?))
            }
            t => match ValueKind::of(t) {
                ValueKind::Int => Column::Int(array),
                ValueKind::Time => Column::Time(array, ArrayFormatter::try_new(array, options).ok()?),
                ValueKind::Float | ValueKind::Text => return None,
            },
        })
    }

    fn array(&self) -> &'a dyn Array {
        match self {
            Column::Text(a) | Column::Int(a) | Column::Bool(a) | Column::Time(a, _) | Column::List(a, _) => *a,
        }
    }

    /// The value at `i` (valid there).
    fn value(&self, i: usize) -> Value {
        match self {
            Column::Text(a) => Value::String(text_at(*a, i).to_string()),
            Column::Int(a) => int_at(*a, i),
            Column::Bool(a) => Value::Bool(a.as_boolean().value(i)),
            Column::Time(_, f) => Value::String(f.value(i).to_string()),
            Column::List(a, items) => {
                let offsets = a.as_list::<i32>().value_offsets();
                let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                let inner = items.array();
                Value::Array(
                    (start..end).map(|j| if inner.is_valid(j) { items.value(j) } else { Value::Null }).collect(),
                )
            }
        }
    }
}

fn text_at(a: &dyn Array, i: usize) -> &str {
    match a.data_type() {
        DataType::LargeUtf8 => a.as_string::<i64>().value(i),
        DataType::Utf8View => a.as_string_view().value(i),
        _ => a.as_string::<i32>().value(i),
    }
}

fn int_at(a: &dyn Array, i: usize) -> Value {
    let n = match a.data_type() {
        DataType::Int8 => Number::from(a.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => Number::from(a.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Number::from(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Number::from(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Number::from(a.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => Number::from(a.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => Number::from(a.as_primitive::<UInt32Type>().value(i)),
        _ => Number::from(a.as_primitive::<UInt64Type>().value(i)),
    };
    Value::Number(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, LargeStringArray, ListBuilder, StringArray,
        StringBuilder, TimestampMicrosecondArray, UInt64Array,
    };
    use arrow::datatypes::{Field, Schema};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a)| a).collect())
            .expect("a valid batch")
    }

    #[test]
    fn floats_and_other_types_take_the_writer() {
        let b = batch(vec![("ratio", Arc::new(Float64Array::from(vec![Some(0.1), None])) as ArrayRef)]);
        assert!(rows_from_columns(&b).is_none());
        let rows = rows_as_json(&b).expect("rows");
        assert_eq!(rows[0].get("ratio"), Some(&serde_json::json!(0.1)));
        assert!(rows[1].is_empty(), "a null is left out");
    }

    #[test]
    fn named_columns_read_as_the_whole_rows_would_give_them() {
        let b = batch(vec![
            ("user", Arc::new(StringArray::from(vec![Some("ana"), None])) as ArrayRef),
            (
                "time",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), Some(5)]).with_timezone("UTC"),
                ),
            ),
            ("ratio", Arc::new(Float64Array::from(vec![Some(0.1), None]))),
        ]);
        let whole = rows_as_json(&b).expect("rows");
        let some = columns_as_json(&b, &["first_seen", "time", "ratio"]).expect("rows");
        assert_eq!(some.len(), 2);
        for (row, full) in some.iter().zip(&whole) {
            let expected: Map<String, Value> =
                full.iter().filter(|(k, _)| *k != "user").map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(row, &expected, "a missing column and nulls are left out, the rest as in the whole row");
        }
        let none = columns_as_json(&b, &["first_seen"]).expect("rows");
        assert_eq!(none, vec![Map::new(), Map::new()], "one empty object per row when no column is there");
        let times = super::super::findings::row_times(&b).expect("times");
        let expected: Vec<_> = whole.iter().map(super::super::findings::row_time).collect();
        assert_eq!(times, expected);
        assert!(times.iter().all(Option::is_some));
    }

    proptest! {
        /// The arrays read directly give exactly what the JSON writer and
        /// the parse give, on the types read directly.
        #[test]
        fn columns_read_directly_equal_the_writer_and_parse(
            rows in proptest::collection::vec((
                proptest::option::of("[a-z\"\\\\é \\n\\u{1}]{0,6}"),
                proptest::option::of(any::<i64>()),
                proptest::option::of(any::<u64>()),
                proptest::option::of(any::<bool>()),
                proptest::option::of(-62_000_000_000_000_000i64..250_000_000_000_000_000),
                proptest::option::of(proptest::collection::vec(proptest::option::of("[a-c]{0,3}"), 0..4)),
                proptest::option::of(any::<i32>()),
            ), 0..12),
        ) {
            let mut ids = ListBuilder::new(StringBuilder::new());
            for r in &rows {
                match &r.5 {
                    Some(items) => {
                        for item in items {
                            ids.values().append_option(item.as_deref());
                        }
                        ids.append(true);
                    }
                    None => ids.append(false),
                }
            }
            let b = batch(vec![
                ("user", Arc::new(StringArray::from(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())) as ArrayRef),
                ("host", Arc::new(LargeStringArray::from(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>()))),
                ("bytes", Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()))),
                ("big", Arc::new(UInt64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>()))),
                ("flag", Arc::new(BooleanArray::from(rows.iter().map(|r| r.3).collect::<Vec<_>>()))),
                ("time", Arc::new(TimestampMicrosecondArray::from(rows.iter().map(|r| r.4).collect::<Vec<_>>()).with_timezone("UTC"))),
                ("local", Arc::new(TimestampMicrosecondArray::from(rows.iter().map(|r| r.4).collect::<Vec<_>>()))),
                ("event_ids", Arc::new(ids.finish())),
                ("port", Arc::new(Int32Array::from(rows.iter().map(|r| r.6).collect::<Vec<_>>()))),
            ]);
            let direct = rows_from_columns(&b);
            prop_assert!(direct.is_some(), "every column here is read directly");
            prop_assert_eq!(direct, Some(rows_through_text(&b).expect("the writer")));
        }
    }
}
