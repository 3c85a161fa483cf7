//! Where a record came from, and the stable `event_id` derived from it.
//!
//! An origin is (source name, optional partition, offset): `file:/var/log/fw.log`
//! line 12, `kafka:fw-logs` partition 3 offset 991. The same record read
//! again (replay, crash recovery) gets the same `event_id`, so every sink can
//! deduplicate on it.

use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// Stable id of a record: xxh3-128 of its origin, as 32 hex digits.
pub fn event_id(source: &str, partition: Option<i32>, offset: u64) -> String {
    let mut s = String::with_capacity(32);
    push_hex(&mut s, id_hash(source, partition, offset));
    s
}

/// Append `h` as 32 lower-case hex digits (what `{:032x}` writes, without the
/// formatting machinery: this runs once per record).
fn push_hex(out: &mut String, h: u128) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 32];
    for (i, d) in hex.iter_mut().rev().enumerate() {
        *d = DIGITS[((h >> (i * 4)) & 0xf) as usize];
    }
    // Hex digits are ASCII: this never falls back.
    out.push_str(std::str::from_utf8(&hex).unwrap_or_default());
}

/// Append the origin text of `offset` in `source` / `partition` to `out`.
fn push_origin(out: &mut String, source: &str, partition: Option<i32>, offset: u64) {
    let mut digits = itoa::Buffer::new();
    out.push_str(source);
    match partition {
        Some(p) => {
            out.push('/');
            out.push_str(digits.format(p));
            out.push('@');
        }
        None => out.push(':'),
    }
    out.push_str(digits.format(offset));
}

/// Writes `event_id` and `origin` of successive records of one stream into
/// reused buffers (the decode stage's hot path: no allocation per record).
pub struct OriginWriter<'s> {
    source: &'s str,
    partition: Option<i32>,
    /// [`id_key`], then the offset's eight bytes.
    key: Vec<u8>,
    id: String,
    origin: String,
}

impl<'s> OriginWriter<'s> {
    /// A writer for records of `source` / `partition`.
    pub fn new(source: &'s str, partition: Option<i32>) -> Self {
        let mut key = id_key(source, partition);
        // The offset's place, rewritten by each `record`.
        key.extend_from_slice(&[0; 8]);
        OriginWriter {
            source,
            partition,
            key,
            id: String::with_capacity(32),
            origin: String::with_capacity(source.len() + 24),
        }
    }

    /// `(event_id, origin)` of the record at `offset`; identical to
    /// [`event_id`] and [`origin_string`].
    pub fn record(&mut self, offset: u64) -> (&str, &str) {
        // One-shot xxh3 of the whole key: the same hash as `event_id`'s,
        // without a streaming hasher's set-up per record.
        let prefix = self.key.len() - 8;
        self.key.truncate(prefix);
        self.key.extend_from_slice(&offset.to_le_bytes());
        self.id.clear();
        push_hex(&mut self.id, xxh3_128(&self.key));
        self.origin.clear();
        push_origin(&mut self.origin, self.source, self.partition, offset);
        (&self.id, &self.origin)
    }
}

fn id_hash(source: &str, partition: Option<i32>, offset: u64) -> u128 {
    let mut key = id_key(source, partition);
    key.extend_from_slice(&offset.to_le_bytes());
    xxh3_128(&key)
}

/// What the event id hashes before the offset: the source, `0xff`, the
/// partition (`-1` for none) as four little-endian bytes.
fn id_key(source: &str, partition: Option<i32>) -> Vec<u8> {
    let mut key = Vec::with_capacity(source.len() + 13);
    key.extend_from_slice(source.as_bytes());
    key.push(0xff);
    key.extend_from_slice(&partition.unwrap_or(-1).to_le_bytes());
    key
}

/// Human-readable origin: `file:/x.log:12`, `kafka:topic/3@991`.
pub fn origin_string(source: &str, partition: Option<i32>, offset: u64) -> String {
    let mut s = String::with_capacity(source.len() + 16);
    push_origin(&mut s, source, partition, offset);
    s
}

/// Deterministic id for anything keyed by text parts (findings): xxh3-128, hex.
pub fn stable_id(parts: &[&str]) -> String {
    let mut h = Xxh3::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0x1f]);
    }
    let mut s = String::with_capacity(32);
    push_hex(&mut s, h.digest128());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_is_stable_and_distinguishes_origins() {
        let a = event_id("file:/logs/fw.log", None, 12);
        assert_eq!(a, event_id("file:/logs/fw.log", None, 12));
        assert_eq!(a.len(), 32);
        assert_ne!(a, event_id("file:/logs/fw.log", None, 13));
        assert_ne!(a, event_id("file:/logs/fw.log", Some(0), 12));
        assert_ne!(stable_id(&["ab", "c"]), stable_id(&["a", "bc"]));
        let mut w = OriginWriter::new("kafka:fw", Some(3));
        assert_eq!(w.record(991), (event_id("kafka:fw", Some(3), 991).as_str(), "kafka:fw/3@991"));
        let mut w = OriginWriter::new("file:/logs/fw.log", None);
        assert_eq!(w.record(12), (event_id("file:/logs/fw.log", None, 12).as_str(), "file:/logs/fw.log:12"));
    }

    #[test]
    fn ids_are_32_hex_digits_as_formatting_writes_them() {
        for h in [0u128, 1, 0xabc, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            let mut s = String::new();
            push_hex(&mut s, h);
            assert_eq!(s, format!("{h:032x}"));
        }
        assert_eq!(event_id("s", Some(-1), 7), format!("{:032x}", id_hash("s", Some(-1), 7)));
        assert_eq!(origin_string("kafka:t", Some(-1), u64::MAX), format!("kafka:t/-1@{}", u64::MAX));
    }

    /// Ids are stored in the lake and in findings: they must not change
    /// with how they are computed. The one-shot hash over the key equals
    /// the streaming hash of its parts that ids were first made with.
    #[test]
    fn ids_are_the_streaming_hash_of_their_parts() {
        for (source, partition, offset) in
            [("file:/logs/fw.log", None, 12u64), ("kafka:fw", Some(3), 991), ("", Some(-1), 0)]
        {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(source.as_bytes());
            h.update(&[0xff]);
            h.update(&partition.unwrap_or(-1i32).to_le_bytes());
            h.update(&offset.to_le_bytes());
            assert_eq!(id_hash(source, partition, offset), h.digest128());
            let mut w = OriginWriter::new(source, partition);
            w.record(offset + 1);
            assert_eq!(w.record(offset).0, format!("{:032x}", h.digest128()), "a reused writer");
        }
    }

    #[test]
    fn origin_strings() {
        assert_eq!(origin_string("file:/x.log", None, 12), "file:/x.log:12");
        assert_eq!(origin_string("kafka:fw", Some(3), 991), "kafka:fw/3@991");
    }
}
