//! Errors of the enrichment crate: each names the file or setting and the cause.

use std::path::PathBuf;

/// Why enrichment data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EnrichmentError {
    /// A file could not be read.
    #[error("{setting}: cannot read `{}`: {source}", path.display())]
    Read {
        /// The setting that named the file.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A MaxMind database could not be opened.
    #[error("{setting}: `{origin}` is not a readable MaxMind database: {message}")]
    MaxMind {
        /// The setting that named it.
        setting: &'static str,
        /// File name or `embedded:...`.
        origin: String,
        /// The reader's error.
        message: String,
    },
    /// Settings that contradict each other.
    #[error("{setting}: {message}")]
    Config {
        /// The offending setting.
        setting: &'static str,
        /// What to change.
        message: String,
    },
    /// The app catalog is invalid.
    #[error("app catalog {origin}: {message}")]
    Catalog {
        /// File name or `embedded`.
        origin: String,
        /// What is wrong (names the app id and, for syntax errors, the line).
        message: String,
    },
    /// The organisation overlay is invalid or does not fit the catalog.
    #[error("enrichments.overlay: `{origin}`: {message}")]
    Overlay {
        /// File name.
        origin: String,
        /// What is wrong: the entry (`[[app]] dropbox`), the setting and the rule.
        message: String,
    },
    /// A setting with an index or key (`enrichments.geoip.fields[2].path`)
    /// has a bad value.
    #[error("{setting}: {message}")]
    Setting {
        /// The offending setting, with its index.
        setting: String,
        /// What is wrong and what to change.
        message: String,
    },
    /// A data file (network list, user directory) breaks a rule.
    #[error("{setting}: `{origin}`: {message}")]
    Data {
        /// The setting that named the file (`enrichments.directory`).
        setting: String,
        /// File name or `embedded:...`.
        origin: String,
        /// What is wrong, naming the line or entry.
        message: String,
    },
}
