//! Which rows of a batch are late, judged against their own stream only.
//!
//! A record's *threshold* is the newest event time of every record before
//! it in its stream: the stream time before the batch (from
//! [`StreamClocks`](super::StreamClocks)) combined with the records before
//! it in the batch. A row's *margin* is how far its event time is behind
//! that threshold; the row is late for a rule when the margin exceeds the
//! allowed lateness. Since the threshold depends only on the stream's
//! content and order, so does lateness: not on batch sizes, workers or
//! other streams.

use arrow::array::BooleanArray;

use super::Micros;

/// Per record of a batch, the newest event time of the records before it
/// in the batch, and the batch's newest event time.
#[derive(Debug, Clone, Default)]
pub struct RecordTimes {
    newest_before: Vec<Option<Micros>>,
    newest: Option<Micros>,
}

impl RecordTimes {
    /// From every row's (record index, event time); `records` is the batch's record count.
    pub fn new(records: usize, rows: impl IntoIterator<Item = (u32, Micros)>) -> RecordTimes {
        let mut newest_of: Vec<Option<Micros>> = vec![None; records];
        for (rec, t) in rows {
            if let Some(slot) = newest_of.get_mut(rec as usize) {
                *slot = Some(slot.map_or(t, |m| m.max(t)));
            }
        }
        let mut newest_before = Vec::with_capacity(records);
        let mut running: Option<Micros> = None;
        for n in newest_of {
            newest_before.push(running);
            if let Some(t) = n {
                running = Some(running.map_or(t, |m| m.max(t)));
            }
        }
        RecordTimes { newest_before, newest: running }
    }

    /// The batch's newest event time.
    pub fn newest(&self) -> Option<Micros> {
        self.newest
    }

    /// How far `time` (a row of record `record`) is behind the newest event
    /// before it in its stream, given the stream time `before` the batch.
    /// Negative or zero: not behind. `None`: nothing came before it.
    pub fn margin(&self, before: Option<Micros>, record: u32, time: Micros) -> Option<Micros> {
        Some(self.stream_time_before(before, record)?.saturating_sub(time))
    }

    /// The newest event time before record `record` in its stream, given the
    /// stream time `before` the batch: what a record without a usable time
    /// of its own is given (`time_inferred`). `None`: nothing came before it.
    pub fn stream_time_before(&self, before: Option<Micros>, record: u32) -> Option<Micros> {
        let within = self.newest_before.get(record as usize).copied().flatten();
        match (before, within) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (x, None) | (None, x) => x,
        }
    }

    /// The time a record without a usable time of its own is given
    /// (`time_inferred`): [`Self::stream_time_before`], else `read` (the time
    /// it was read) when nothing came before it in its stream.
    pub fn inferred_time(&self, before: Option<Micros>, record: u32, read: Micros) -> Micros {
        self.stream_time_before(before, record).unwrap_or(read)
    }
}

/// The margins of one class batch's rows, in row order.
#[derive(Debug, Clone, Default)]
pub struct RowMargins {
    margins: Vec<Micros>,
    largest: Micros,
}

impl RowMargins {
    /// Margins of rows given as (record index, event time), in row order.
    pub fn new(times: &RecordTimes, before: Option<Micros>, rows: impl IntoIterator<Item = (u32, Micros)>) -> Self {
        let margins: Vec<Micros> =
            rows.into_iter().map(|(rec, t)| times.margin(before, rec, t).unwrap_or(Micros::MIN)).collect();
        let largest = margins.iter().copied().max().unwrap_or(Micros::MIN);
        RowMargins { margins, largest }
    }

    /// Whether any row is late for `lateness`.
    pub fn any_late(&self, lateness: Micros) -> bool {
        self.largest > lateness
    }

    /// The rows on time for `lateness` as a filter mask; `None` when all are.
    pub fn on_time(&self, lateness: Micros) -> Option<BooleanArray> {
        if !self.any_late(lateness) {
            return None;
        }
        Some(self.margins.iter().map(|m| Some(*m <= lateness)).collect())
    }

    /// The indices of the rows late for `lateness`.
    pub fn late(&self, lateness: Micros) -> Vec<u32> {
        if !self.any_late(lateness) {
            return Vec::new();
        }
        self.margins.iter().enumerate().filter(|(_, m)| **m > lateness).map(|(i, _)| i as u32).collect()
    }

    /// One row's margin (`Micros::MIN` when nothing came before it).
    pub fn margin(&self, row: usize) -> Micros {
        self.margins.get(row).copied().unwrap_or(Micros::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_judged_against_the_records_before_it_not_after() {
        // Records: 0 @100, 1 @300, 2 @150 (two rows: 150 and 90), 3 @310.
        let rows = [(0, 100), (1, 300), (2, 150), (2, 90), (3, 310)];
        let times = RecordTimes::new(4, rows);
        assert_eq!(times.newest(), Some(310));
        let m = RowMargins::new(&times, Some(120), rows);
        assert_eq!((0..5).map(|i| m.margin(i)).collect::<Vec<_>>(), [20, -180, 150, 210, -10]);
        assert!(m.any_late(100) && !m.any_late(210));
        assert_eq!(m.late(100), [2, 3]);
        let mask = m.on_time(100).unwrap();
        assert_eq!(mask.iter().map(|v| v.unwrap()).collect::<Vec<_>>(), [true, true, false, false, true]);
        assert!(m.on_time(1000).is_none(), "no mask when every row is on time");
    }

    #[test]
    fn the_first_record_of_a_stream_is_never_late() {
        let rows = [(0, 50), (1, 10)];
        let times = RecordTimes::new(2, rows);
        let m = RowMargins::new(&times, None, rows);
        assert_eq!(m.margin(0), Micros::MIN);
        assert_eq!(m.margin(1), 40);
    }

    #[test]
    fn the_same_rows_in_other_batch_sizes_get_the_same_margins() {
        let stream: Vec<Micros> = vec![10, 40, 20, 5, 60, 55, 30, 61];
        let whole = {
            let rows: Vec<(u32, Micros)> = stream.iter().enumerate().map(|(i, t)| (i as u32, *t)).collect();
            let times = RecordTimes::new(stream.len(), rows.clone());
            let m = RowMargins::new(&times, None, rows);
            (0..stream.len()).map(|i| m.margin(i)).collect::<Vec<_>>()
        };
        for size in 1..=stream.len() {
            let mut before: Option<Micros> = None;
            let mut got = Vec::new();
            for chunk in stream.chunks(size) {
                let rows: Vec<(u32, Micros)> = chunk.iter().enumerate().map(|(i, t)| (i as u32, *t)).collect();
                let times = RecordTimes::new(chunk.len(), rows.clone());
                let m = RowMargins::new(&times, before, rows);
                got.extend((0..chunk.len()).map(|i| m.margin(i)));
                before = super::super::clock::max_opt(before, times.newest());
            }
            assert_eq!(got, whole, "batches of {size}");
        }
    }
}
