//! `floodlight produce`: replay a log file (plain or gzip) or standard input
//! into a Kafka topic, one record per line, with an idempotent producer.
//! For trials against a local broker (`deploy/kafka/start-broker.sh`) and
//! for re-feeding dead-lettered records after a fix.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

/// Produce every non-empty line of `file` to `topic`; returns the count.
pub async fn produce(brokers: &str, topic: &str, partition: Option<i32>, file: Option<&Path>) -> Result<u64> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "20")
        .set("message.timeout.ms", "60000")
        .create()
        .context("cannot create the Kafka producer")?;
    let (_, mut input, _) = crate::open_input(file)?;
    let mut line = Vec::new();
    let mut pending = Vec::new();
    let mut sent = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).context("reading input")? == 0 {
            break;
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        let mut record = FutureRecord::<(), [u8]>::to(topic).payload(line.as_slice());
        if let Some(p) = partition {
            record = record.partition(p);
        }
        // At most 10,000 records are awaited at a time, far below the local queue size.
        pending.push(producer.send_result(record).map_err(|(e, _)| e).context("cannot enqueue a record")?);
        if pending.len() >= 10_000 {
            sent += wait_all(&mut pending).await?;
        }
    }
    sent += wait_all(&mut pending).await?;
    producer.flush(Timeout::After(Duration::from_secs(30))).context("flushing the producer")?;
    Ok(sent)
}

async fn wait_all(pending: &mut Vec<rdkafka::producer::DeliveryFuture>) -> Result<u64> {
    let mut n = 0;
    for f in pending.drain(..) {
        match f.await {
            Ok(Ok(_)) => n += 1,
            Ok(Err((e, _))) => bail!("the broker rejected a record: {e}"),
            Err(_) => bail!("the producer was closed before a record was delivered"),
        }
    }
    Ok(n)
}
