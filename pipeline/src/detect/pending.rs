//! Rule output waiting for the watermark.
//!
//! Workers run every rule's SQL as batches come; what a stateful step needs
//! from the result waits here, filed by *evaluation interval* (a fixed slice
//! of event time, `[rules] evaluation_interval`), until the rule's watermark
//! has passed the whole interval. Then the interval is taken out and its
//! rows consumed in event-time order ([`Pending::take_first`]): no row that
//! is not late can still arrive for it, so the result does not depend on
//! which batch came first.
//!
//! Pending rows are part of the checkpointed rule state; record batches are
//! stored in the Arrow IPC format.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::columns::{Reader, ValueKind};

/// One piece of rule output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// A row of a streaming rule (a finding candidate), as JSON: what a
    /// scale-out peer sends, and what checkpoints of earlier versions hold.
    Row(Map<String, Value>),
    /// Rows of a streaming rule's SQL (finding candidates), all in the same
    /// interval, kept as Arrow until the interval is consumed: a few bytes
    /// per value instead of a JSON map per row while they wait.
    Rows(#[serde(with = "ipc")] RecordBatch),
    /// Rows of a windowed or first-seen rule's SQL, all in the same interval.
    Batch(#[serde(with = "ipc")] RecordBatch),
    /// A row of a correlation step (0: `first`, 1..: the `then` steps), as JSON.
    Step(u8, Map<String, Value>),
}

impl Item {
    fn rows(&self) -> usize {
        match self {
            Item::Batch(b) | Item::Rows(b) => b.num_rows(),
            Item::Row(_) | Item::Step(..) => 1,
        }
    }
}

/// The start of the evaluation interval `t` falls in.
pub fn interval_of(t: i64, interval: i64) -> i64 {
    t.div_euclid(interval.max(1)) * interval.max(1)
}

/// A rule's pending output, by interval start; see the module docs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pending {
    intervals: BTreeMap<i64, Vec<Item>>,
    rows: usize,
}

impl Pending {
    /// File `item`, whose rows all fall in the interval starting at `start`.
    pub fn push(&mut self, start: i64, item: Item) {
        self.rows += item.rows();
        self.intervals.entry(start).or_default().push(item);
    }

    /// File every row of `batch` (event time in column `time`) in its
    /// interval; rows without a time are returned as an error count.
    pub fn push_batch(&mut self, batch: &RecordBatch, time: &str, interval: i64) -> Result<usize, String> {
        if batch.num_rows() == 0 {
            return Ok(0);
        }
        let t = Reader::new(batch, time, ValueKind::Time)?;
        let mut by_interval: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let mut untimed = 0;
        for row in 0..batch.num_rows() {
            match t.int(row) {
                Some(v) => by_interval.entry(interval_of(v, interval)).or_default().push(row as u32),
                None => untimed += 1,
            }
        }
        self.push_grouped(batch, by_interval, Item::Batch)?;
        Ok(untimed)
    }

    /// File the rows of `batch` listed under each interval start in
    /// `by_interval`, each group as one item made by `item`: the batch
    /// itself when one group holds all its rows, else a copy of the group's
    /// rows (so nothing waiting keeps the rest of the batch alive).
    pub fn push_grouped(
        &mut self,
        batch: &RecordBatch,
        by_interval: BTreeMap<i64, Vec<u32>>,
        item: fn(RecordBatch) -> Item,
    ) -> Result<(), String> {
        if let Some((start, rows)) = by_interval.first_key_value() {
            if by_interval.len() == 1 && rows.len() == batch.num_rows() {
                self.push(*start, item(batch.clone()));
                return Ok(());
            }
        }
        for (start, rows) in by_interval {
            let part = take_record_batch(batch, &UInt32Array::from(rows)).map_err(|e| e.to_string())?;
            self.push(start, item(part));
        }
        Ok(())
    }

    /// The earliest interval with rows.
    pub fn first(&self) -> Option<i64> {
        self.intervals.keys().next().copied()
    }

    /// Take the earliest interval out.
    pub fn take_first(&mut self) -> Option<(i64, Vec<Item>)> {
        let (start, items) = self.intervals.pop_first()?;
        self.rows -= items.iter().map(Item::rows).sum::<usize>();
        Some((start, items))
    }

    /// Rows waiting.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }
}

/// Record batches in checkpoints: Arrow IPC stream bytes, base64.
pub(crate) mod ipc {
    use super::*;

    pub fn serialize<S: Serializer>(batch: &RecordBatch, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::new();
        {
            let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema())
                .map_err(serde::ser::Error::custom)?;
            w.write(batch).map_err(serde::ser::Error::custom)?;
            w.finish().map_err(serde::ser::Error::custom)?;
        }
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(buf))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RecordBatch, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)?;
        let mut reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
            .map_err(serde::de::Error::custom)?;
        let schema = reader.schema();
        match reader.next() {
            Some(b) => b.map_err(serde::de::Error::custom),
            None => Ok(RecordBatch::new_empty(Arc::clone(&schema))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    fn batch(times: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("time", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("event_id", DataType::Utf8, true),
        ]));
        let ids: Vec<String> = (0..times.len()).map(|i| format!("e{i}")).collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(TimestampMicrosecondArray::from(times.to_vec()).with_timezone("UTC")),
                Arc::new(StringArray::from(ids)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn rows_are_filed_by_interval_and_taken_earliest_first() {
        let mut p = Pending::default();
        assert_eq!(p.push_batch(&batch(&[125, 10, 130, 99]), "time", 100).unwrap(), 0);
        p.push(0, Item::Row(Map::new()));
        assert_eq!((p.rows(), p.first()), (5, Some(0)));
        let (start, items) = p.take_first().unwrap();
        assert_eq!(start, 0);
        let rows: usize = items.iter().map(Item::rows).sum();
        assert_eq!(rows, 3, "10 and 99 from the batch, and the row");
        let (start, items) = p.take_first().unwrap();
        assert_eq!((start, items.len(), p.rows()), (100, 1, 0));
        assert!(p.take_first().is_none() && p.is_empty());
    }

    #[test]
    fn grouped_rows_wait_whole_or_as_copies_of_their_group() {
        let mut p = Pending::default();
        let b = batch(&[5, 7, 150]);
        p.push_grouped(&b, BTreeMap::from([(0, vec![0, 1, 2])]), Item::Rows).unwrap();
        let (_, items) = p.take_first().unwrap();
        match &items[..] {
            [Item::Rows(whole)] => assert_eq!(whole, &b, "one group of every row: the batch itself"),
            other => panic!("{other:?}"),
        }
        p.push_grouped(&b, BTreeMap::from([(0, vec![0, 1]), (100, vec![2])]), Item::Rows).unwrap();
        assert_eq!(p.rows(), 3);
        let (start, items) = p.take_first().unwrap();
        match &items[..] {
            [Item::Rows(part)] => assert_eq!((start, part), (0, &batch(&[5, 7]))),
            other => panic!("{other:?}"),
        }
        let (start, items) = p.take_first().unwrap();
        match &items[..] {
            [Item::Rows(part)] => {
                assert_eq!(start, 100);
                assert_eq!(part.num_rows(), 1);
                assert_eq!(part.column(1).as_any().downcast_ref::<StringArray>().unwrap().value(0), "e2");
            }
            other => panic!("{other:?}"),
        }
        assert!(p.is_empty() && p.rows() == 0);
    }

    #[test]
    fn pending_batches_survive_a_checkpoint() {
        let mut p = Pending::default();
        p.push_batch(&batch(&[5, 7]), "time", 100).unwrap();
        p.push(100, Item::Step(1, serde_json::json!({"user": "ana"}).as_object().unwrap().clone()));
        p.push(200, Item::Rows(batch(&[250, 260])));
        let json = serde_json::to_string(&p).unwrap();
        let mut back: Pending = serde_json::from_str(&json).unwrap();
        assert_eq!(back.rows(), 5);
        let (_, items) = back.take_first().unwrap();
        match &items[0] {
            Item::Batch(b) => assert_eq!(b, &batch(&[5, 7])),
            other => panic!("{other:?}"),
        }
        back.take_first().unwrap();
        match back.take_first().unwrap() {
            (200, items) => match &items[..] {
                [Item::Rows(b)] => assert_eq!(b, &batch(&[250, 260]), "streaming rows come back as they were"),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
}
