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

impl EnrichmentError {
    /// The setting the error is about (`enrichments.overlay`,
    /// `enrichments.geoip.fields[2].path`, ...): what a log line or a
    /// metric label names.
    pub fn setting(&self) -> &str {
        match self {
            EnrichmentError::Read { setting, .. }
            | EnrichmentError::MaxMind { setting, .. }
            | EnrichmentError::Config { setting, .. } => setting,
            EnrichmentError::Catalog { .. } => "enrichments.catalog",
            EnrichmentError::Overlay { .. } => "enrichments.overlay",
            EnrichmentError::Setting { setting, .. } | EnrichmentError::Data { setting, .. } => setting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_names_its_setting() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let cases = [
            (
                EnrichmentError::Read { setting: "enrichments.catalog", path: "c.toml".into(), source: io() },
                "enrichments.catalog",
            ),
            (EnrichmentError::Catalog { origin: "c.toml".into(), message: "x".into() }, "enrichments.catalog"),
            (EnrichmentError::Overlay { origin: "o.toml".into(), message: "x".into() }, "enrichments.overlay"),
            (
                EnrichmentError::Setting { setting: "enrichments.geoip.fields[2].path".into(), message: "x".into() },
                "enrichments.geoip.fields[2].path",
            ),
            (
                EnrichmentError::Data {
                    setting: "enrichments.directory".into(),
                    origin: "u.csv".into(),
                    message: "x".into(),
                },
                "enrichments.directory",
            ),
        ];
        for (e, setting) in cases {
            assert_eq!(e.setting(), setting, "{e}");
        }
    }
}
