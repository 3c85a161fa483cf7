//! Query results as people and tools take them: a terminal table, JSON
//! (lines, or one document for the API), CSV, Parquet and the Arrow IPC
//! stream format.

use std::io::Write;

use arrow::record_batch::RecordBatch;
use serde_json::{Map, Value};

use crate::error::AnalystError;
use crate::query::QueryResult;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// One JSON object per row, one per line.
    Json,
    /// CSV with a header line.
    Csv,
    /// A Parquet file.
    Parquet,
    /// The Arrow IPC stream format.
    Arrow,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" | "jsonl" | "ndjson" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "arrow" | "ipc" | "arrow-ipc" => Ok(Format::Arrow),
            other => Err(format!("unknown format `{other}` (table, json, csv, parquet, arrow)")),
        }
    }
}

impl Format {
    /// The media type the API answers with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Table => "text/plain; charset=utf-8",
            Format::Json => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Arrow => "application/vnd.apache.arrow.stream",
        }
    }
}

/// Write `result` to `out` in `format`.
pub fn write_result(result: &QueryResult, format: Format, out: &mut dyn Write) -> Result<(), AnalystError> {
    let io = |e: std::io::Error| AnalystError::Output(e.to_string());
    match format {
        Format::Table => {
            let table = arrow::util::pretty::pretty_format_batches(&result.batches)?;
            writeln!(out, "{table}").map_err(io)?;
        }
        Format::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
            for b in &result.batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            if result.batches.is_empty() {
                w.write(&RecordBatch::new_empty(result.schema.clone()))?;
            }
            for b in &result.batches {
                w.write(b)?;
            }
        }
        Format::Parquet => {
            let mut buf = Vec::new();
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, result.schema.clone(), None)
                .map_err(|e| AnalystError::Output(e.to_string()))?;
            for b in &result.batches {
                w.write(b).map_err(|e| AnalystError::Output(e.to_string()))?;
            }
            w.close().map_err(|e| AnalystError::Output(e.to_string()))?;
            out.write_all(&buf).map_err(io)?;
        }
        Format::Arrow => {
            let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut *out, &result.schema)?;
            for b in &result.batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    out.flush().map_err(io)
}

/// The rows as JSON objects (column name → value; nulls kept as `null`).
pub fn rows_json(batches: &[RecordBatch]) -> Result<Vec<Map<String, Value>>, AnalystError> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::JsonArray>(&mut buf);
        for b in batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&buf).map_err(|e| AnalystError::Output(e.to_string()))
}
