//! Scale-out on Kafka: the internal topics, the repartition producer and
//! the changelog.
//!
//! | topic | partitions | cleanup | holds |
//! |---|---|---|---|
//! | `<prefix>.rules-repartition` | `[cluster] partitions` | `delete` | [`PartRecord`]s, partition = part |
//! | `<prefix>.rules-changelog` | the same | `compact` | each part's state, partition = part |
//!
//! [`InternalTopics::ensure`] creates them at start-up, or checks the ones
//! that exist: a partition count other than the configured one is an error
//! (keys would move between parts and with them their state), and a broker
//! that refuses to create topics gets a message naming each topic and the
//! settings to create it with.
//!
//! **Changelog records.** A part's state is one gzip'd JSON snapshot
//! ([`super::RulePart::snapshot`]) with a sequence number. Up to
//! [`MAX_RECORD_BYTES`](super::MAX_RECORD_BYTES) it is written whole under the key `part-<n>`, behind the
//! sequence; a larger one is cut into chunks `part-<n>/<seq>/<i>`, and the
//! record under `part-<n>` (the manifest) names the sequence and the number
//! of chunks. Compaction keeps the newest value per key, so the topic holds
//! the latest snapshot of every part; a reader takes the newest manifest and
//! the chunks it names. A writer deletes the chunks of its previous
//! snapshot of the part (tombstones) once the new manifest is written.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use super::{PartSink, MAX_RECORD_BYTES};
use crate::ack::AckToken;
use crate::kafka::{client_config, CONSUMER_DEFAULTS, PRODUCER_DEFAULTS};
use crate::sinks::kafka::{KafkaSink, KafkaSinkConfig};

/// How to reach the broker, for every scale-out client.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Bootstrap brokers.
    pub brokers: String,
    /// librdkafka properties (TLS, SASL...) shared with the Kafka source.
    pub options: BTreeMap<String, String>,
}

/// The two internal topics of one deployment.
#[derive(Debug, Clone)]
pub struct InternalTopics {
    /// Rule output, by part.
    pub repartition: String,
    /// Part state, compacted.
    pub changelog: String,
    /// Parts (partitions of each topic).
    pub parts: u32,
    /// Replication factor of created topics (`-1`: the broker's default).
    pub replication: i32,
}

impl InternalTopics {
    /// The topics named after `prefix`.
    pub fn new(prefix: &str, parts: u32, replication: i32) -> InternalTopics {
        InternalTopics {
            repartition: format!("{prefix}.rules-repartition"),
            changelog: format!("{prefix}.rules-changelog"),
            parts: parts.max(1),
            replication,
        }
    }

    fn specs(&self) -> [(&str, &'static str); 2] {
        [(self.repartition.as_str(), "delete"), (self.changelog.as_str(), "compact")]
    }

    /// How to create the topics by hand, for error messages.
    fn by_hand(&self) -> String {
        self.specs()
            .iter()
            .map(|(t, cleanup)| format!("`{t}` with {} partitions and cleanup.policy={cleanup}", self.parts))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Create the topics, or check those that exist.
    pub async fn ensure(&self, conn: &Connection, timeout: Duration) -> Result<(), String> {
        let admin: AdminClient<DefaultClientContext> =
            client_config(&conn.brokers, &[], &conn.options, &[])
                .create()
                .map_err(|e| format!("cannot create the Kafka admin client: {e}"))?;
        let partitions = i32::try_from(self.parts).unwrap_or(i32::MAX);
        let new: Vec<NewTopic<'_>> = self
            .specs()
            .iter()
            .map(|(t, cleanup)| {
                NewTopic::new(t, partitions, TopicReplication::Fixed(self.replication)).set("cleanup.policy", cleanup)
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Timeout::After(timeout)));
        let results = admin
            .create_topics(&new, &options)
            .await
            .map_err(|e| format!("cannot create the internal topics ({e}); create {} by hand", self.by_hand()))?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(format!(
                        "the broker refused to create `{topic}` ({code}); create {} by hand, or give floodlight's \
                         principal the right to create topics",
                        self.by_hand()
                    ))
                }
            }
        }
        let metadata = admin
            .inner()
            .fetch_metadata(None, timeout)
            .map_err(|e| format!("cannot read the broker's metadata: {e}"))?;
        for (topic, _) in self.specs() {
            let found = metadata.topics().iter().find(|t| t.name() == topic).map(|t| t.partitions().len());
            match found {
                Some(n) if n == self.parts as usize => {}
                Some(n) => {
                    return Err(format!(
                        "`{topic}` has {n} partitions but `[cluster] partitions` is {}: every replica must split \
                         rule state the same way. Set `partitions = {n}`, or delete both internal topics while \
                         every replica is stopped (their state is lost) to start again with {}",
                        self.parts, self.parts
                    ))
                }
                None => return Err(format!("`{topic}` does not show in the broker's metadata after creating it")),
            }
        }
        Ok(())
    }
}

/// The stream key of every partition of the input topics that `reads` a
/// topic name: the streams every part waits for at start.
pub fn input_streams(
    conn: &Connection,
    reads: impl Fn(&str) -> bool,
    timeout: Duration,
) -> Result<BTreeSet<String>, String> {
    let consumer: BaseConsumer = client_config(&conn.brokers, &[], &conn.options, &[])
        .create()
        .map_err(|e| format!("cannot create a Kafka client: {e}"))?;
    let metadata =
        consumer.fetch_metadata(None, timeout).map_err(|e| format!("cannot read the broker's metadata: {e}"))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| reads(t.name()))
        .flat_map(|t| t.partitions().iter().map(move |p| format!("kafka:{}/{}", t.name(), p.id())))
        .collect())
}

/// The repartition topic as a [`PartSink`]: one record per part and batch,
/// to the partition of the part, held until the broker confirms it.
pub struct KafkaParts {
    producer: KafkaSink,
    topic: String,
    parts: u32,
}

impl KafkaParts {
    /// A producer for `topics.repartition`.
    pub fn open(conn: &Connection, topics: &InternalTopics) -> Result<KafkaParts, String> {
        let config = KafkaSinkConfig {
            brokers: conn.brokers.clone(),
            findings_topic: None,
            events_topic: None,
            dead_letter_topic: None,
            queue_full_timeout: "60s".into(),
            options: conn.options.clone(),
        };
        let producer = KafkaSink::open("repartition", config, Duration::from_secs(60)).map_err(|e| e.to_string())?;
        Ok(KafkaParts { producer, topic: topics.repartition.clone(), parts: topics.parts })
    }
}

impl PartSink for KafkaParts {
    fn parts(&self) -> u32 {
        self.parts
    }

    fn send(&self, part: u32, stream: &str, record: Vec<u8>, ack: AckToken) -> Result<(), String> {
        let partition = i32::try_from(part).map_err(|_| format!("part {part} out of range"))?;
        self.producer
            .send_to(&self.topic, Some(partition), Some(stream.as_bytes()), &record, None, &ack)
            .map_err(|e| e.to_string())
    }

    fn flush(&self) {
        if let Err(e) = self.producer.flush_within(Duration::from_secs(30)) {
            tracing::warn!(error = %e, "the repartition producer did not deliver everything it held");
        }
    }
}

/// The manifest record of a snapshot: its sequence number, its number of
/// chunks, and (no chunks) the snapshot itself.
fn manifest(seq: u64, chunks: u32, inline: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(12 + inline.len());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&chunks.to_be_bytes());
    v.extend_from_slice(inline);
    v
}

/// (sequence, chunks, inline snapshot) of a manifest record.
fn read_manifest(v: &[u8]) -> Option<(u64, u32, &[u8])> {
    let seq = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let chunks = u32::from_be_bytes(v.get(8..12)?.try_into().ok()?);
    Some((seq, chunks, &v[12..]))
}

/// The changelog topic: writes and reads each part's state.
pub struct Changelog {
    conn: Connection,
    topic: String,
    producer: FutureProducer,
    /// Per part, the sequence and chunk count of the last snapshot written here.
    written: Mutex<HashMap<u32, (u64, u32)>>,
    timeout: Duration,
}

impl Changelog {
    /// The changelog of `topics`, every write confirmed within `timeout`.
    pub fn open(conn: &Connection, topics: &InternalTopics, timeout: Duration) -> Result<Changelog, String> {
        let fixed = [("enable.idempotence", "true"), ("acks", "all")];
        let producer: FutureProducer = client_config(&conn.brokers, PRODUCER_DEFAULTS, &conn.options, &fixed)
            .create()
            .map_err(|e| format!("cannot create the changelog producer: {e}"))?;
        Ok(Changelog {
            conn: conn.clone(),
            topic: topics.changelog.clone(),
            producer,
            written: Mutex::default(),
            timeout,
        })
    }

    /// Write `snapshot` as the state of `part` (numbered `seq`, which grows);
    /// returns once the broker confirmed every record. A snapshot that fits
    /// one record is written whole under `part-<n>`; a larger one as chunks
    /// `part-<n>/<seq>/<i>` first, then the manifest, then tombstones for
    /// the chunks of this process's previous snapshot of the part. Every
    /// record names its own snapshot, so writers that overlap (a part's old
    /// and new owner during a rebalance) never mix their chunks.
    pub async fn write(&self, part: u32, seq: u64, snapshot: &[u8]) -> Result<(), String> {
        let partition = i32::try_from(part).map_err(|_| format!("part {part} out of range"))?;
        let chunks: Vec<&[u8]> =
            if snapshot.len() <= MAX_RECORD_BYTES { Vec::new() } else { snapshot.chunks(MAX_RECORD_BYTES).collect() };
        let n = u32::try_from(chunks.len()).map_err(|_| "snapshot too large".to_string())?;
        for (i, chunk) in chunks.iter().enumerate() {
            self.put(partition, &format!("part-{part}/{seq}/{i}"), Some(chunk)).await?;
        }
        let inline = if chunks.is_empty() { snapshot } else { &[][..] };
        self.put(partition, &format!("part-{part}"), Some(&manifest(seq, n, inline))).await?;
        let before = self.written.lock().unwrap_or_else(|p| p.into_inner()).insert(part, (seq, n));
        if let Some((old_seq, old_n)) = before.filter(|(s, _)| *s != seq) {
            for i in 0..old_n {
                self.put(partition, &format!("part-{part}/{old_seq}/{i}"), None).await?;
            }
        }
        Ok(())
    }

    async fn put(&self, partition: i32, key: &str, value: Option<&[u8]>) -> Result<(), String> {
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic).partition(partition).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        self.producer
            .send(record, Timeout::After(self.timeout))
            .await
            .map(|_| ())
            .map_err(|(e, _)| format!("cannot write `{key}` to the changelog `{}`: {e}", self.topic))
    }

    /// The latest snapshot of `part` (`None`: it never had one). Blocking:
    /// reads the part's changelog partition from its start to its end.
    pub fn read(&self, part: u32) -> Result<Option<(u64, Vec<u8>)>, String> {
        let partition = i32::try_from(part).map_err(|_| format!("part {part} out of range"))?;
        let fixed = [("enable.auto.commit", "false"), ("group.id", "floodlight-changelog-reader")];
        let consumer: BaseConsumer = client_config(&self.conn.brokers, CONSUMER_DEFAULTS, &self.conn.options, &fixed)
            .create()
            .map_err(|e| format!("cannot create the changelog reader: {e}"))?;
        let (low, high) = consumer
            .fetch_watermarks(&self.topic, partition, self.timeout)
            .map_err(|e| format!("cannot read the end of `{}` partition {partition}: {e}", self.topic))?;
        if high <= low {
            return Ok(None);
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, partition, Offset::Beginning)
            .map_err(|e| format!("cannot assign the changelog partition: {e}"))?;
        consumer.assign(&tpl).map_err(|e| format!("cannot assign the changelog partition: {e}"))?;
        let mut latest: HashMap<String, Option<Vec<u8>>> = HashMap::new();
        let deadline = Instant::now() + self.timeout;
        loop {
            let Some(next) = consumer.poll(Duration::from_millis(200)) else {
                if Instant::now() >= deadline {
                    return Err(format!(
                        "reading the state of part {part} from `{}` took longer than {:?}",
                        self.topic, self.timeout
                    ));
                }
                continue;
            };
            let m = next.map_err(|e| format!("cannot read `{}` partition {partition}: {e}", self.topic))?;
            if let Some(key) = m.key().map(|k| String::from_utf8_lossy(k).to_string()) {
                latest.insert(key, m.payload().map(<[u8]>::to_vec));
            }
            if m.offset() >= high - 1 {
                break;
            }
        }
        assemble(part, &latest)
    }
}

/// The snapshot of `part` from the latest value of every changelog key.
fn assemble(part: u32, latest: &HashMap<String, Option<Vec<u8>>>) -> Result<Option<(u64, Vec<u8>)>, String> {
    let Some(Some(record)) = latest.get(&format!("part-{part}")) else { return Ok(None) };
    let (seq, chunks, inline) =
        read_manifest(record).ok_or_else(|| format!("the changelog manifest of part {part} is not readable"))?;
    if chunks == 0 {
        return Ok(Some((seq, inline.to_vec())));
    }
    let mut bytes = Vec::new();
    for i in 0..chunks {
        let chunk = latest.get(&format!("part-{part}/{seq}/{i}")).and_then(Option::as_ref);
        let chunk = chunk.ok_or_else(|| format!("the changelog of part {part} lacks chunk {i} of snapshot {seq}"))?;
        bytes.extend_from_slice(chunk);
    }
    Ok(Some((seq, bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_its_manifest_or_the_chunks_it_names() {
        let mut latest = HashMap::new();
        assert_eq!(assemble(3, &latest).unwrap(), None);
        // Small: whole in the manifest.
        latest.insert("part-3".to_string(), Some(manifest(7, 0, b"small")));
        assert_eq!(assemble(3, &latest).unwrap(), Some((7, b"small".to_vec())));
        // Large: the chunks of its own sequence, whatever else is there.
        latest.insert("part-3/8/0".to_string(), Some(b"ab".to_vec()));
        latest.insert("part-3/8/1".to_string(), Some(b"cd".to_vec()));
        latest.insert("part-3/9/0".to_string(), Some(b"other writer".to_vec()));
        latest.insert("part-3".to_string(), Some(manifest(8, 2, b"")));
        assert_eq!(assemble(3, &latest).unwrap(), Some((8, b"abcd".to_vec())));
        // A chunk deleted (tombstone) or never written is an error that names it.
        latest.insert("part-3/8/1".to_string(), None);
        let e = assemble(3, &latest).unwrap_err();
        assert!(e.contains("lacks chunk 1 of snapshot 8"), "{e}");
        latest.insert("part-4".to_string(), Some(vec![1, 2]));
        assert!(assemble(4, &latest).unwrap_err().contains("not readable"));
    }
}
