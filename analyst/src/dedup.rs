//! Tables that hide the copies replays write: one row per key, streamed.
//!
//! A replay writes the same events to the lake again (same `event_id`, same
//! `date`), so the event tables must show each event once. The obvious SQL,
//! `SELECT DISTINCT ON (date, event_id) *`, becomes an aggregate that keeps
//! every column of every row in memory until the scan ends; on a lake of
//! millions of events it runs out of memory before it answers.
//!
//! [`DedupTable`] wraps the lake's listing table instead and filters the scan
//! as it streams: each row's key columns are hashed (128-bit xxh3 over
//! Arrow's row encoding, so any key type works and a collision is never seen
//! in practice) and the row is kept only if the hash is new. The only state
//! is the set of hashes, 16 bytes per distinct key, counted against the
//! query's memory pool; a query that reads only a few columns still reads
//! only those columns plus the key. Projections and filters go to the
//! wrapped table, so partition pruning on `date` works as before.
//!
//! Copies of one event are the same event, so which copy is kept does not
//! matter, with one exception worth knowing: when the enrichment data
//! changed between two replays, the copies' enrichment columns can differ
//! and either copy may be shown.

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, SortField};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties, ReplaceChildrenOptions,
};
use futures::StreamExt;

/// A table showing one row per distinct `keys` of the table it wraps.
#[derive(Debug)]
pub struct DedupTable {
    inner: Arc<dyn TableProvider>,
    /// Indices of the key columns in `inner`'s schema.
    keys: Vec<usize>,
}

impl DedupTable {
    /// Wrap `inner`, keeping one row per distinct value of the `keys` columns.
    pub fn new(inner: Arc<dyn TableProvider>, keys: &[&str]) -> Result<DedupTable> {
        let schema = inner.schema();
        let keys = keys.iter().map(|k| schema.index_of(k)).collect::<Result<Vec<_>, _>>()?;
        Ok(DedupTable { inner, keys })
    }
}

#[async_trait]
impl TableProvider for DedupTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        // Filtering before de-duplicating keeps the same events: copies of
        // an event agree on every column a filter reads (see the module docs
        // for the one exception, where either copy is right).
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // The wrapped scan reads the wanted columns plus the keys; the keys
        // the query did not ask for are dropped after de-duplication. A
        // limit is not passed on: the first `n` copies may hold fewer than
        // `n` events (the plan applies the limit above this node).
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.inner.schema().fields().len()).collect(),
        };
        let mut read = wanted.clone();
        for k in &self.keys {
            if !read.contains(k) {
                read.push(*k);
            }
        }
        let input = self.inner.scan(state, Some(&read), filters, None).await?;
        let position = |column: &usize| read.iter().position(|c| c == column).unwrap_or_default();
        let keys = self.keys.iter().map(position).collect();
        let output = wanted.iter().map(position).collect();
        Ok(Arc::new(DedupExec::new(input, keys, output)?))
    }
}

/// Keys already seen by one execution of a [`DedupExec`], shared by its
/// partitions.
#[derive(Default)]
struct Seen {
    hashes: HashSet<u128, BuildHasherDefault<PreHashed>>,
    /// Created on the first batch, from the query's memory pool.
    reservation: Option<MemoryReservation>,
}

/// The keys are already hashes: use their low bits as the table's hash.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

/// The physical operator: passes on the first row of each key.
pub struct DedupExec {
    input: Arc<dyn ExecutionPlan>,
    /// Key columns (indices into the input).
    keys: Vec<usize>,
    /// Columns passed on (indices into the input).
    output: Vec<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    seen: Arc<Mutex<Seen>>,
}

impl fmt::Debug for DedupExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DedupExec").field("keys", &self.keys).field("output", &self.output).finish()
    }
}

impl DedupExec {
    fn new(input: Arc<dyn ExecutionPlan>, keys: Vec<usize>, output: Vec<usize>) -> Result<DedupExec> {
        let schema = Arc::new(input.schema().project(&output)?);
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(input.output_partitioning().partition_count()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(DedupExec { input, keys, output, schema, properties, seen: Arc::default() })
    }

    fn key_names(&self) -> Vec<String> {
        let schema = self.input.schema();
        self.keys.iter().map(|k| schema.field(*k).name().clone()).collect()
    }
}

impl DisplayAs for DedupExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "DedupExec: keys=[{}]", self.key_names().join(", "))
    }
}

impl ExecutionPlan for DedupExec {
    fn name(&self) -> &str {
        "DedupExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal(format!("DedupExec takes one input, got {}", children.len())));
        }
        Ok(Arc::new(DedupExec::new(children.swap_remove(0), self.keys.clone(), self.output.clone())?))
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute))
    }

    fn reset_state(self: Arc<Self>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(DedupExec::new(self.input.clone(), self.keys.clone(), self.output.clone())?))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context.clone())?;
        let key_fields: Vec<SortField> =
            self.keys.iter().map(|k| SortField::new(self.input.schema().field(*k).data_type().clone())).collect();
        let converter = RowConverter::new(key_fields)?;
        let keys = self.keys.clone();
        let output = self.output.clone();
        let seen = self.seen.clone();
        let pool = context.memory_pool().clone();
        let stream = input.map(move |batch| {
            let batch = batch?;
            let columns: Vec<_> = keys.iter().map(|k| batch.column(*k).clone()).collect();
            let rows = converter.convert_columns(&columns)?;
            let hashes: Vec<u128> = rows.iter().map(|r| xxhash_rust::xxh3::xxh3_128(r.as_ref())).collect();
            let keep = {
                let mut seen = seen.lock().map_err(|_| DataFusionError::Internal("dedup state poisoned".into()))?;
                let keep: BooleanArray = hashes.iter().map(|h| Some(seen.hashes.insert(*h))).collect();
                let bytes = seen.hashes.capacity() * (std::mem::size_of::<u128>() + 1);
                let reservation =
                    seen.reservation.get_or_insert_with(|| MemoryConsumer::new("de-duplicating table").register(&pool));
                reservation.try_resize(bytes)?;
                keep
            };
            let kept: RecordBatch = filter_record_batch(&batch, &keep)?;
            Ok(kept.project(&output)?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    /// `partitions` of rows (key, value); the same key may repeat anywhere.
    fn table(partitions: &[&[(&str, i64)]]) -> Arc<dyn TableProvider> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("event_id", DataType::Utf8, false),
            Field::new("value", DataType::Int64, false),
        ]));
        let batches = partitions
            .iter()
            .map(|rows| {
                let ids: StringArray = rows.iter().map(|(k, _)| Some(*k)).collect();
                let values: Int64Array = rows.iter().map(|(_, v)| Some(*v)).collect();
                vec![RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(values)]).expect("batch")]
            })
            .collect();
        Arc::new(MemTable::try_new(schema, batches).expect("table"))
    }

    async fn ints(ctx: &SessionContext, sql: &str) -> Vec<i64> {
        let batches = ctx.sql(sql).await.expect("plan").collect().await.expect("run");
        let mut out: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let c = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
                (0..c.len()).map(|i| c.value(i)).collect::<Vec<_>>()
            })
            .collect();
        out.sort_unstable();
        out
    }

    fn session(partitions: usize) -> SessionContext {
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions))
    }

    #[tokio::test]
    async fn each_key_once_across_partitions_projections_and_limits() {
        // Copies of `a` and `c` in every partition, as three replays would write them.
        let rows: &[(&str, i64)] = &[("a", 1), ("b", 2), ("c", 3)];
        let again: &[(&str, i64)] = &[("c", 3), ("a", 1), ("d", 4)];
        let inner = table(&[rows, again, rows]);
        let ctx = session(3);
        ctx.register_table("t", Arc::new(DedupTable::new(inner, &["event_id"]).expect("keys"))).expect("register");
        assert_eq!(ints(&ctx, "SELECT count(*) FROM t").await, vec![4]);
        // The key is read even when the query does not ask for it.
        assert_eq!(ints(&ctx, "SELECT value FROM t").await, vec![1, 2, 3, 4]);
        // A filter on a non-key column, then de-duplication.
        assert_eq!(ints(&ctx, "SELECT value FROM t WHERE value >= 3").await, vec![3, 4]);
        // A limit counts events, not copies.
        assert_eq!(ints(&ctx, "SELECT count(*) FROM (SELECT * FROM t LIMIT 4)").await, vec![4]);
        // Each query starts with an empty set of keys.
        assert_eq!(ints(&ctx, "SELECT count(*) FROM t").await, vec![4]);
    }

    #[tokio::test]
    async fn unknown_key_column_is_an_error() {
        let err = DedupTable::new(table(&[&[("a", 1)]]), &["nope"]).expect_err("no such column");
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[tokio::test]
    async fn the_key_set_counts_against_the_memory_pool() {
        let ids: Vec<String> = (0..50_000).map(|i| format!("event-{i}")).collect();
        let rows: Vec<(&str, i64)> = ids.iter().map(|i| (i.as_str(), 1)).collect();
        let inner = table(&[&rows]);
        let runtime = RuntimeEnvBuilder::new().with_memory_limit(64 * 1024, 1.0).build_arc().expect("runtime");
        let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime);
        ctx.register_table("t", Arc::new(DedupTable::new(inner, &["event_id"]).expect("keys"))).expect("register");
        let err = ctx.sql("SELECT count(*) FROM t").await.expect("plan").collect().await.expect_err("over the pool");
        assert!(matches!(err.find_root(), DataFusionError::ResourcesExhausted(_)), "{err}");
    }
}
