//! `[cluster]`: one process, or one replica of many sharing the work on Kafka.
//!
//! ```toml
//! [cluster]
//! role = "replica"                 # "all" (default): one process does everything
//! partitions = 12                  # parts rule state is split into: the most replicas that share it
//! topic_prefix = "floodlight"      # floodlight.rules-repartition, floodlight.rules-changelog
//! replication_factor = 3           # of the internal topics floodlight creates (-1: the broker's default)
//! instance_id = "${POD_NAME}"      # optional: static membership in the consumer groups
//! ```
//!
//! With `role = "replica"` every replica runs the same config: the Kafka
//! sources' consumer group shares the input partitions, rule output goes to
//! the repartition topic by key, and a second group (`<group_id>.rules`)
//! shares its partitions, the parts, each with its state in the changelog
//! topic ([`crate::scale`], `docs/scaling.md`). [`ClusterConfig::problems`]
//! says what a replica cannot have: file, stdin or demo sources (every
//! replica would read them whole), a rule-state directory (the changelog
//! holds the state), and attribution (not split across replicas yet).
//!
//! `instance_id` makes this process a *static member* of every consumer
//! group it joins (`group.instance.id`, KIP-345): a replica that restarts
//! under the same id within `session.timeout.ms` takes its partitions back
//! without a rebalance of the others. Give each replica its own stable id
//! (a StatefulSet pod name); leave it unset when replicas come and go
//! under new names, because a static member that leaves is only replaced
//! after its session expires.

use serde::Deserialize;

use crate::source::kafka::KafkaSourceConfig;

/// `[cluster]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// What this process does.
    pub role: ClusterRole,
    /// Parts rule state is split into (partitions of both internal topics).
    pub partitions: u32,
    /// Prefix of the internal topics' names.
    pub topic_prefix: String,
    /// Replication factor of internal topics floodlight creates (`-1`: the broker's default).
    pub replication_factor: i32,
    /// How long a changelog read or write may take.
    pub changelog_timeout: String,
    /// This process's static membership id in the consumer groups (`group.instance.id`).
    pub instance_id: Option<String>,
}

/// What one process does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterRole {
    /// Everything, in one process, with no internal topics.
    #[default]
    All,
    /// One of several replicas sharing the work through Kafka.
    Replica,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            role: ClusterRole::All,
            partitions: 12,
            topic_prefix: "floodlight".into(),
            replication_factor: -1,
            changelog_timeout: "30s".into(),
            instance_id: None,
        }
    }
}

/// What a replica's config must (not) have, beside `[cluster]` itself.
pub struct ReplicaView<'a> {
    /// The Kafka sources, or `None` for each source of another type.
    pub sources: Vec<Option<&'a KafkaSourceConfig>>,
    /// `[rules] state_dir` is set.
    pub state_dir: bool,
    /// `[rules.attribution] enabled`.
    pub attribution: bool,
}

impl ClusterConfig {
    /// Whether this process is one replica of many.
    pub fn is_replica(&self) -> bool {
        self.role == ClusterRole::Replica
    }

    /// Problems, as (setting, message), for a replica with `view`.
    pub fn problems(&self, view: &ReplicaView<'_>) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if !(1..=10_000).contains(&self.partitions) {
            p.push(("cluster.partitions".into(), "must be between 1 and 10000".into()));
        }
        let prefix_ok = !self.topic_prefix.is_empty()
            && self.topic_prefix.len() <= 200
            && self.topic_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !prefix_ok {
            p.push((
                "cluster.topic_prefix".into(),
                format!("`{}` cannot start a topic name (1-200 of a-z A-Z 0-9 . _ -)", self.topic_prefix),
            ));
        }
        if self.replication_factor == 0 || self.replication_factor < -1 {
            p.push(("cluster.replication_factor".into(), "must be -1 (the broker's default) or at least 1".into()));
        }
        if humantime::parse_duration(&self.changelog_timeout).is_err() {
            p.push((
                "cluster.changelog_timeout".into(),
                format!("`{}` is not a duration; write e.g. `30s`", self.changelog_timeout),
            ));
        }
        if let Some(id) = &self.instance_id {
            let ok =
                !id.is_empty() && id.len() <= 249 && id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok {
                p.push((
                    "cluster.instance_id".into(),
                    format!("`{id}` is not a group instance id (1-249 of a-z A-Z 0-9 . _ -)"),
                ));
            }
        }
        if !self.is_replica() {
            return p;
        }
        if view.sources.is_empty() {
            p.push((
                "sources".into(),
                "a replica reads Kafka: add a `type = \"kafka\"` source (without sources it would read the demo logs)"
                    .into(),
            ));
        }
        for (i, s) in view.sources.iter().enumerate() {
            if s.is_none() {
                p.push((
                    format!("sources[{i}]"),
                    "with `[cluster] role = \"replica\"` every source must be Kafka: each replica would read a file \
                     or stdin whole"
                        .into(),
                ));
            }
        }
        let kafka: Vec<&KafkaSourceConfig> = view.sources.iter().flatten().copied().collect();
        if let Some(first) = kafka.first() {
            for (i, k) in kafka.iter().enumerate().skip(1) {
                if k.brokers != first.brokers {
                    p.push((
                        format!("sources[{i}].brokers"),
                        "replicas keep their internal topics on one cluster: every Kafka source must use the same \
                         brokers"
                            .into(),
                    ));
                }
            }
        }
        if view.state_dir {
            p.push((
                "rules.state_dir".into(),
                "a replica keeps rule state in the changelog topic, so that it moves with its part: remove \
                 `state_dir`"
                    .into(),
            ));
        }
        if view.attribution {
            p.push((
                "rules.attribution.enabled".into(),
                "attribution is not split across replicas yet: set `[rules.attribution] enabled = false` with \
                 `[cluster] role = \"replica\"`"
                    .into(),
            ));
        }
        p
    }

    /// A consumer's librdkafka `options` with this process's static
    /// membership (`group.instance.id`) added when `instance_id` is set.
    pub fn consumer_options(
        &self,
        options: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        let mut options = options.clone();
        if let Some(id) = &self.instance_id {
            options.insert("group.instance.id".into(), id.clone());
        }
        options
    }

    /// The consumer group of the parts for a source group `group_id`.
    pub fn parts_group(group_id: &str) -> String {
        format!("{group_id}.rules")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka(brokers: &str) -> KafkaSourceConfig {
        toml::from_str(&format!(
            "brokers = \"{brokers}\"\ngroup_id = \"g\"\ntopics = [{{ topic = \"fw\", format = \"fortigate\" }}]"
        ))
        .unwrap()
    }

    fn settings(problems: &[(String, String)]) -> Vec<&str> {
        problems.iter().map(|(s, _)| s.as_str()).collect()
    }

    #[test]
    fn one_process_needs_nothing_of_a_replica() {
        let c = ClusterConfig::default();
        let view = ReplicaView { sources: vec![None], state_dir: true, attribution: true };
        assert!(c.problems(&view).is_empty(), "{:?}", c.problems(&view));
    }

    #[test]
    fn a_replica_reads_kafka_only_without_local_state_or_attribution() {
        let c: ClusterConfig = toml::from_str("role = \"replica\"").unwrap();
        let (a, b) = (kafka("k1:9092"), kafka("k2:9092"));
        let view = ReplicaView { sources: vec![Some(&a), None, Some(&b)], state_dir: true, attribution: true };
        let p = c.problems(&view);
        assert_eq!(
            settings(&p),
            ["sources[1]", "sources[1].brokers", "rules.state_dir", "rules.attribution.enabled"],
            "{p:?}"
        );
        assert!(p[0].1.contains("every source must be Kafka"), "{p:?}");
        assert!(p[3].1.contains("enabled = false"), "{p:?}");
        let good = ReplicaView { sources: vec![Some(&a)], state_dir: false, attribution: false };
        assert!(c.problems(&good).is_empty());
        let none = ReplicaView { sources: vec![], state_dir: false, attribution: false };
        assert_eq!(settings(&c.problems(&none)), ["sources"]);
    }

    #[test]
    fn bad_settings_are_named() {
        let c: ClusterConfig = toml::from_str(
            "partitions = 0\ntopic_prefix = \"a b\"\nreplication_factor = 0\nchangelog_timeout = \"soon\"\n\
             instance_id = \"pod 1\"",
        )
        .unwrap();
        let view = ReplicaView { sources: vec![], state_dir: false, attribution: false };
        assert_eq!(
            settings(&c.problems(&view)),
            [
                "cluster.partitions",
                "cluster.topic_prefix",
                "cluster.replication_factor",
                "cluster.changelog_timeout",
                "cluster.instance_id"
            ]
        );
        assert!(toml::from_str::<ClusterConfig>("role = \"leader\"").is_err());
        assert!(toml::from_str::<ClusterConfig>("replicas = 3").is_err(), "unknown keys are rejected");
    }

    #[test]
    fn the_instance_id_joins_only_the_consumers_options() {
        let mut options = std::collections::BTreeMap::new();
        options.insert("fetch.min.bytes".to_string(), "1".to_string());
        let plain = ClusterConfig::default();
        assert_eq!(plain.consumer_options(&options), options, "nothing added without an instance id");
        let c: ClusterConfig = toml::from_str("instance_id = \"floodlight-2\"").unwrap();
        let with = c.consumer_options(&options);
        assert_eq!(with.get("group.instance.id").map(String::as_str), Some("floodlight-2"));
        assert_eq!(with.get("fetch.min.bytes").map(String::as_str), Some("1"));
        assert!(c.problems(&ReplicaView { sources: vec![], state_dir: false, attribution: false }).is_empty());
    }
}
