//! Compile-once, run-per-batch SQL on DataFusion.
//!
//! Each event class is registered as a table backed by [`MicroBatchTable`].
//! Its scan, [`MicroBatchExec`], holds no data: at execution time it reads
//! the batch from the [`TaskContext`]'s session-config extension
//! ([`MicroBatchInput`]). So a rule's physical plan is built once at start-up
//! and re-executed for every micro-batch with a fresh, cheap task context —
//! no parsing, no logical or physical planning per batch, and any number of
//! workers can run the same plan concurrently on different batches.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::datasource::TableType;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, SendableRecordBatchStream,
};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::schema::{ClassSchemas, EventClass};

/// The micro-batch a plan execution reads, passed through the task context.
#[derive(Debug)]
pub struct MicroBatchInput {
    /// The table the batch is the content of (an event class, or `window`).
    pub table: &'static str,
    /// The batch.
    pub batch: RecordBatch,
}

/// A table whose content is "the current micro-batch of this table": an
/// event class, or a windowed rule's `window` table.
#[derive(Debug)]
pub struct MicroBatchTable {
    table: &'static str,
    schema: SchemaRef,
}

impl MicroBatchTable {
    /// The table named `table`, with `schema`.
    pub fn new(table: &'static str, schema: SchemaRef) -> Self {
        MicroBatchTable { table, schema }
    }
}

#[async_trait]
impl TableProvider for MicroBatchTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(MicroBatchExec::new(self.table, self.schema.clone(), projection.cloned())?))
    }
}

/// Leaf plan node that yields the micro-batch found in the task context.
#[derive(Debug)]
pub struct MicroBatchExec {
    table: &'static str,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl MicroBatchExec {
    fn new(table: &'static str, table_schema: SchemaRef, projection: Option<Vec<usize>>) -> DfResult<Self> {
        let schema = match &projection {
            Some(p) => Arc::new(table_schema.project(p)?),
            None => table_schema,
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(MicroBatchExec { table, projection, schema, properties })
    }
}

impl DisplayAs for MicroBatchExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "MicroBatchExec: table={}", self.table)
    }
}

impl ExecutionPlan for MicroBatchExec {
    fn name(&self) -> &str {
        "MicroBatchExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    #[allow(deprecated)]
    fn with_new_children(self: Arc<Self>, _children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, _partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let input = context.session_config().get_extension::<MicroBatchInput>();
        let batches = match input {
            Some(input) if input.table == self.table => {
                let batch = match &self.projection {
                    Some(p) => input.batch.project(p)?,
                    None => input.batch.clone(),
                };
                vec![batch]
            }
            // Executed for another table's batch (or with no batch): the table is empty.
            _ => vec![],
        };
        Ok(Box::pin(MemoryStream::try_new(batches, self.schema.clone(), None)?))
    }
}

/// The DataFusion session rules are planned in: one table per class,
/// single-partition plans (parallelism comes from running batches on all
/// workers, not from splitting one small batch).
pub fn rule_session(schemas: &ClassSchemas) -> DfResult<SessionContext> {
    let ctx = empty_session();
    for class in EventClass::ALL {
        ctx.register_table(class.as_str(), Arc::new(MicroBatchTable::new(class.as_str(), schemas.get(class))))?;
    }
    Ok(ctx)
}

/// A session with one micro-batch table, `window`, of `schema`: where a
/// windowed rule's `where` condition is planned.
pub fn window_session(schema: SchemaRef) -> DfResult<SessionContext> {
    let ctx = empty_session();
    ctx.register_table("window", Arc::new(MicroBatchTable::new("window", schema)))?;
    Ok(ctx)
}

fn empty_session() -> SessionContext {
    let mut config = SessionConfig::new().with_target_partitions(1).with_batch_size(8192);
    let opts = config.options_mut();
    opts.optimizer.enable_dynamic_filter_pushdown = false;
    opts.execution.coalesce_batches = true;
    SessionContext::new_with_config(config)
}

/// Plan `sql` once into a re-executable physical plan.
pub async fn compile(ctx: &SessionContext, sql: &str) -> DfResult<Arc<dyn ExecutionPlan>> {
    let df = ctx.sql(sql).await?;
    df.create_physical_plan().await
}

/// A task context carrying `input`, derived from the session's.
pub fn task_context(base: &TaskContext, input: MicroBatchInput) -> Arc<TaskContext> {
    let config = base.session_config().clone().with_extension(Arc::new(input));
    Arc::new(TaskContext::new(
        None,
        base.session_id(),
        config,
        base.scalar_functions().clone(),
        base.higher_order_functions().clone(),
        base.aggregate_functions().clone(),
        base.window_functions().clone(),
        base.runtime_env(),
    ))
}

/// Run a compiled plan over the micro-batch in `task`.
pub async fn execute(plan: &Arc<dyn ExecutionPlan>, task: Arc<TaskContext>) -> DfResult<Vec<RecordBatch>> {
    // Plans with per-execution state (joins' build side, dynamic filters)
    // get fresh state; this walks the tree, it does not re-plan.
    let plan = datafusion::physical_plan::execution_plan::reset_plan_states(plan.clone())?;
    datafusion::physical_plan::collect(plan, task).await
}

/// Whether `plan` aggregates or computes window functions anywhere: such a
/// query folds whatever rows one micro-batch happened to hold, so its result
/// would depend on batching. Rule SQL must return one row per event.
pub fn aggregates_rows(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let name = plan.name();
    name.contains("Aggregate") || name.contains("WindowAgg") || plan.children().into_iter().any(aggregates_rows)
}

/// Whether `plan` reads `column` of an event-class table (the scans' projected
/// columns: a column named in the SQL, or every column for `SELECT *`).
pub fn reads_column(plan: &Arc<dyn ExecutionPlan>, column: &str) -> bool {
    match plan.downcast_ref::<MicroBatchExec>() {
        Some(scan) => scan.schema.field_with_name(column).is_ok(),
        None => plan.children().into_iter().any(|c| reads_column(c, column)),
    }
}

/// Turn a DataFusion error into one line without the internal prefix noise.
pub fn error_text(e: &DataFusionError) -> String {
    e.to_string().replace('\n', " ")
}
