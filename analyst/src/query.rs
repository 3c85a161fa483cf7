//! Running analyst SQL on the lake: the read-only guard, then DataFusion
//! with `SQLOptions` that forbid DDL, DML and statements, under the time,
//! row and memory limits of [`QueryLimits`].

use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::execution::context::SQLOptions;
use futures::StreamExt;

use crate::error::AnalystError;
use crate::guard::check_read_only;
use crate::lake::Lake;
use crate::limits::QueryLimits;

/// The answer to a query.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Column names and types.
    pub schema: SchemaRef,
    /// The rows, in batches.
    pub batches: Vec<RecordBatch>,
    /// Number of rows in `batches`.
    pub rows: usize,
    /// Whether the row limit cut the answer short.
    pub truncated: bool,
    /// How long the query took.
    pub elapsed: Duration,
}

fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

impl Lake {
    /// Run analyst SQL under this lake's limits.
    pub async fn query(&self, sql: &str) -> Result<QueryResult, AnalystError> {
        self.query_limited(sql, self.limits()).await
    }

    /// Run analyst SQL under `limits`: the smaller time limit and row limit
    /// of `limits` and the lake's own apply (the memory pool and the
    /// parallelism are the lake's, fixed when it was opened).
    pub async fn query_limited(&self, sql: &str, limits: QueryLimits) -> Result<QueryResult, AnalystError> {
        check_read_only(sql)?;
        let own = self.limits();
        let limits = QueryLimits {
            timeout: limits.timeout.min(own.timeout),
            max_rows: limits.max_rows.min(own.max_rows),
            ..own
        };
        let ctx = self.context().clone();
        let sql = sql.to_string();
        self.run(limits, async move { ctx.sql_with_options(&sql, read_only()).await }).await
    }

    /// Run floodlight's own SQL (reports) with `$1`-style parameters. Not for
    /// analyst input: the guard is not applied, the parameters are values.
    pub(crate) async fn query_params(
        &self,
        sql: &str,
        params: impl Into<ParamValues>,
        max_rows: usize,
    ) -> Result<QueryResult, AnalystError> {
        let limits = QueryLimits { max_rows, ..self.limits() };
        let ctx = self.context().clone();
        let sql = sql.to_string();
        let params = params.into();
        self.run(limits, async move { ctx.sql_with_options(&sql, read_only()).await?.with_param_values(params) }).await
    }

    async fn run<F>(&self, limits: QueryLimits, plan: F) -> Result<QueryResult, AnalystError>
    where
        F: std::future::Future<Output = datafusion::error::Result<DataFrame>> + Send,
    {
        let started = Instant::now();
        let memory_mib = limits.memory_bytes / (1024 * 1024);
        let lake = self.clone();
        let work = async move {
            let _turn = lake.turn().await;
            let df = plan.await?;
            let schema = df.schema().as_arrow().clone();
            let mut stream = df.execute_stream().await?;
            let mut batches = Vec::new();
            let mut rows = 0usize;
            let mut truncated = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                let room = limits.max_rows - rows;
                if batch.num_rows() > room {
                    batches.push(batch.slice(0, room));
                    rows += room;
                    truncated = true;
                    break;
                }
                rows += batch.num_rows();
                batches.push(batch);
                if rows == limits.max_rows {
                    // Ask for one more row only to say whether there were more.
                    truncated = matches!(stream.next().await, Some(Ok(b)) if b.num_rows() > 0);
                    break;
                }
            }
            Ok::<_, datafusion::error::DataFusionError>((std::sync::Arc::new(schema), batches, rows, truncated))
        };
        let (schema, batches, rows, truncated) = match tokio::time::timeout(limits.timeout, work).await {
            Err(_) => return Err(AnalystError::Timeout { seconds: limits.timeout.as_secs_f64() }),
            Ok(Err(e)) => {
                return Err(match AnalystError::from(e) {
                    AnalystError::Memory { detail, .. } => AnalystError::Memory { limit_mib: memory_mib, detail },
                    other => other,
                })
            }
            Ok(Ok(r)) => r,
        };
        Ok(QueryResult { schema, batches, rows, truncated, elapsed: started.elapsed() })
    }
}
