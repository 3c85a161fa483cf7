//! What can go wrong when analysts query the lake, as one typed error the
//! command line and the HTTP API both turn into a clear message.

use crate::guard::GuardError;

/// Why a query or report failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalystError {
    /// The statement is not allowed (see [`crate::guard`]).
    #[error(transparent)]
    Refused(#[from] GuardError),
    /// The query ran longer than the time limit and was stopped.
    #[error("the query was stopped after {seconds} s (the time limit); narrow it with a `date` filter or `--since`")]
    Timeout {
        /// The limit, in seconds.
        seconds: f64,
    },
    /// The query needed more memory than the pool allows.
    #[error("the query needs more memory than the {limit_mib} MiB query memory pool allows: {detail}")]
    Memory {
        /// The pool size in MiB.
        limit_mib: usize,
        /// DataFusion's account of it.
        detail: String,
    },
    /// A mistake in the query or a request (unknown table, bad column, bad parameter).
    #[error("{0}")]
    Input(String),
    /// Something is not there (a finding id, a person).
    #[error("{0}")]
    NotFound(String),
    /// The lake cannot be reached or read.
    #[error("lake: {0}")]
    Lake(String),
    /// Writing the result failed.
    #[error("cannot write the result: {0}")]
    Output(String),
    /// A fault on floodlight's side (a corrupt file, an engine error), not
    /// a mistake in the query.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<datafusion::error::DataFusionError> for AnalystError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        use datafusion::error::DataFusionError as D;
        match e.find_root() {
            D::ResourcesExhausted(detail) => AnalystError::Memory { limit_mib: 0, detail: detail.clone() },
            D::ObjectStore(err) => AnalystError::Lake(err.to_string()),
            D::IoError(err) => AnalystError::Lake(err.to_string()),
            D::Internal(_) | D::ParquetError(_) | D::ArrowError(_, _) | D::External(_) | D::Substrait(_) => {
                AnalystError::Internal(e.to_string())
            }
            _ => AnalystError::Input(clean(&e.to_string())),
        }
    }
}

impl From<arrow::error::ArrowError> for AnalystError {
    fn from(e: arrow::error::ArrowError) -> Self {
        AnalystError::Output(e.to_string())
    }
}

/// DataFusion's messages carry context prefixes meant for its developers.
fn clean(message: &str) -> String {
    let mut m = message.trim();
    for prefix in [
        "Error during planning: ",
        "SQL error: ",
        "Execution error: ",
        "Schema error: ",
        "This feature is not implemented: ",
    ] {
        while let Some(rest) = m.strip_prefix(prefix) {
            m = rest;
        }
    }
    m.to_string()
}
