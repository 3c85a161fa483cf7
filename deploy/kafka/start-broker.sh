#!/usr/bin/env bash
# Start a Kafka-protocol broker (tansu, SQLite storage in a temporary
# directory) on loopback and create the topics the example config reads and
# writes. Runs in the foreground; Ctrl-C stops it and deletes its data.
#
#   deploy/kafka/start-broker.sh              # port 9092
#   deploy/kafka/start-broker.sh 19092        # another port
#
# Then, in another terminal:
#   cargo run --release -- run --config deploy/kafka/floodlight-kafka.toml
#   cargo run --release -- produce --brokers 127.0.0.1:9092 --topic logs.panos deploy/demo/logs/panos--fw01.log
set -euo pipefail
port="${1:-9092}"
here="$(cd "$(dirname "$0")" && pwd)"
tansu="$("$here/install-tansu.sh")"
url="tcp://127.0.0.1:$port"
data="$(mktemp -d)"
# tansu resolves sqlite:// paths against its working directory.
(cd "$data" && exec "$tansu" broker --listener-url "$url" --advertised-listener-url "$url" --storage-engine sqlite://tansu.db) &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT INT TERM
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
for topic in logs.panos logs.zeek-dns logs.okta logs.m365-audit; do
    "$tansu" topic create "$topic" --partitions 4 --broker "$url" >/dev/null
done
for topic in floodlight.findings floodlight.dead-letter floodlight.events; do
    "$tansu" topic create "$topic" --partitions 1 --broker "$url" >/dev/null
done
echo "broker ready on 127.0.0.1:$port (pid $pid); topics: logs.{panos,zeek-dns,okta,m365-audit}, floodlight.{findings,dead-letter,events}" >&2
wait $pid
