//! The decode stage: one [`RawBatch`] → Arrow batches per event class plus
//! dead letters, with origin columns and `event_id` filled in and every
//! outcome counted.

use std::collections::BTreeMap;

use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use super::{DecodeOutcome, Decoder, RecordContext};
use crate::dead_letter::DeadLetter;
use crate::event_time::RecordTimes;
use crate::internal_events::{emit, BatchDecoded};
use crate::origin::{event_id, origin_string, OriginWriter};
use crate::schema::{ClassBatchBuilder, EventClass, Row, RowOrigin, Timestamp, VendorFieldsFilter};
use crate::source::RawBatch;

/// What the decode stage made of one raw batch.
#[derive(Debug, Default)]
pub struct Decoded {
    /// One batch per class that got rows.
    pub batches: Vec<(EventClass, RecordBatch)>,
    /// Per class (by [`EventClass::index`]), the index in the raw batch of
    /// the record each row came from, in row order.
    pub row_records: [Vec<u32>; 5],
    /// Records that failed.
    pub dead_letters: Vec<DeadLetter>,
    /// Records that produced rows.
    pub records: u64,
    /// Rows produced.
    pub rows: u64,
    /// Records skipped, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Records dead-lettered, by kind of reason (a metric label).
    pub dead_lettered: BTreeMap<&'static str, u64>,
    /// Records whose rows have no usable time of their own
    /// ([`Timestamp::UNKNOWN`](crate::schema::Timestamp::UNKNOWN), `time_inferred`).
    pub time_inferred: u64,
}

/// Decode every record of `batch` with `decoder`; `vendor_fields` says which
/// vendor fields the batches keep.
pub fn decode_batch(
    decoder: &dyn Decoder,
    batch: &RawBatch,
    vendor_fields: &VendorFieldsFilter,
) -> Result<Decoded, ArrowError> {
    let mut out = Decoded::default();
    let mut builder = ClassBatchBuilder::with_capacity(batch.records.len());
    builder.set_vendor_fields(vendor_fields);
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(4);
    let ctx = RecordContext {
        headers: &batch.headers,
        vendor_fields: *vendor_fields != crate::schema::VendorFieldsFilter::None,
    };
    let format = decoder.id();
    let mut ids = OriginWriter::new(&batch.source, batch.partition);
    for (rec_index, rec) in batch.records.iter().enumerate() {
        rows.clear();
        if let Some(limit) = rec.cut_at {
            out.dead_letter(
                "too_long",
                DeadLetter::new(
                    &batch.source,
                    batch.partition,
                    rec.offset,
                    format,
                    format!(
                        "a piece of a line longer than max_record_bytes ({limit} bytes): the line is \
                         dead-lettered in pieces, never decoded"
                    ),
                    &rec.data,
                ),
            );
            continue;
        }
        // A decoder must not panic, but a bug must not take the process down
        // or lose the record either: catch it and dead-letter the record.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.decode(&rec.data, ctx, &mut rows)));
        match result {
            Ok(Ok(DecodeOutcome::Parsed(_))) if !rows.is_empty() => {
                let (id, origin) = ids.record(rec.offset);
                let n = rows.len();
                // `|`, not `||`: every row is marked.
                if rows.iter_mut().fold(false, |any, r| r.mark_time_inferred() | any) {
                    out.time_inferred += 1;
                }
                for (i, row) in rows.iter().enumerate() {
                    out.row_records[row.class().index()].push(rec_index as u32);
                    if n == 1 {
                        builder.append(row, &RowOrigin { event_id: id, origin, format });
                    } else {
                        let id = format!("{id}-{i}");
                        builder.append(row, &RowOrigin { event_id: &id, origin, format });
                    }
                }
                out.rows += n as u64;
                out.records += 1;
            }
            Ok(Ok(DecodeOutcome::Parsed(_))) => out.dead_letter(
                "no_rows",
                DeadLetter::new(
                    &batch.source,
                    batch.partition,
                    rec.offset,
                    format,
                    format!("{format}: decoder reported rows but produced none"),
                    &rec.data,
                ),
            ),
            Ok(Ok(DecodeOutcome::Skipped(reason))) => *out.skipped.entry(reason).or_default() += 1,
            Ok(Err(e)) => out.dead_letter(
                "parse",
                DeadLetter::new(&batch.source, batch.partition, rec.offset, format, e.reason, &rec.data),
            ),
            Err(_) => out.dead_letter(
                "panic",
                DeadLetter::new(
                    &batch.source,
                    batch.partition,
                    rec.offset,
                    format,
                    format!("{format}: decoder panicked on this record (bug; please report)"),
                    &rec.data,
                ),
            ),
        }
    }
    out.batches = builder.finish()?;
    out.emit(format, &batch.source);
    Ok(out)
}

impl Decoded {
    /// Dead-letter one record; `kind` is the metric's reason label.
    fn dead_letter(&mut self, kind: &'static str, letter: DeadLetter) {
        *self.dead_lettered.entry(kind).or_default() += 1;
        self.dead_letters.push(letter);
    }

    /// Every record of `batch` dead-lettered with `reason` (`kind` for the metric),
    /// counted like a decoded batch.
    pub fn rejected(batch: &RawBatch, format: &str, kind: &'static str, reason: &str) -> Decoded {
        let mut out = Decoded::default();
        for r in &batch.records {
            out.dead_letter(
                kind,
                DeadLetter::new(&batch.source, batch.partition, r.offset, format, reason.to_string(), &r.data),
            );
        }
        out.emit(format, &batch.source);
        out
    }

    fn emit(&self, format: &str, source: &str) {
        let skipped: Vec<_> = self.skipped.iter().map(|(k, v)| (*k, *v)).collect();
        let dead_lettered: Vec<_> = self.dead_lettered.iter().map(|(k, v)| (*k, *v)).collect();
        emit(BatchDecoded {
            format,
            source,
            records: self.records,
            rows: self.rows,
            skipped: &skipped,
            dead_lettered: &dead_lettered,
            time_inferred: self.time_inferred,
        });
    }
}

/// A raw batch's records decoded into rows without building Arrow batches
/// (for `floodlight parse`): (offset, rows or error). A row without a usable
/// time gets the newest time of the records before it in the batch, or the
/// time it was read, as the pipeline would give it at the start of a stream.
pub fn decode_rows(
    decoder: &dyn Decoder,
    batch: &RawBatch,
) -> Vec<(u64, Result<DecodeOutcome, String>, Vec<Row<'static>>)> {
    let ctx = RecordContext::with_headers(&batch.headers);
    let mut decoded: Vec<_> = batch
        .records
        .iter()
        .map(|rec| {
            let mut rows = Vec::new();
            let r =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.decode(&rec.data, ctx, &mut rows)));
            let outcome = match r {
                Ok(Ok(o)) => Ok(o),
                Ok(Err(e)) => Err(e.reason),
                Err(_) => Err("decoder panicked on this record (bug; please report)".to_string()),
            };
            if outcome.is_err() {
                rows.clear();
            }
            let id = event_id(&batch.source, batch.partition, rec.offset);
            let origin = origin_string(&batch.source, batch.partition, rec.offset);
            let n = rows.len();
            let rows = rows
                .into_iter()
                .enumerate()
                .map(|(i, mut row)| {
                    let id = if n == 1 { id.clone() } else { format!("{id}-{i}") };
                    row.set_origin(&id, &origin, decoder.id());
                    row.mark_time_inferred();
                    row.into_static()
                })
                .collect();
            (rec.offset, outcome, rows)
        })
        .collect();
    let known = decoded.iter().enumerate().flat_map(|(i, (_, _, rows)): (usize, &(_, _, Vec<Row>))| {
        rows.iter().filter(|r| !r.time_inferred()).map(move |r| (i as u32, r.time().micros()))
    });
    let times = RecordTimes::new(decoded.len(), known);
    let read = Timestamp::now().micros();
    for (i, (_, _, rows)) in decoded.iter_mut().enumerate() {
        for row in rows.iter_mut().filter(|r| r.time() == Timestamp::UNKNOWN) {
            row.set_time(Timestamp(times.inferred_time(None, i as u32, read)));
        }
    }
    decoded
}
