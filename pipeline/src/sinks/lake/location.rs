//! Where a lake lives: a local directory or an object store (S3 or any
//! S3-compatible server: MinIO, Ceph, Garage, R2...), and how to reach it.
//!
//! The same [`LakeLocation`] is used by the lake sink that writes the Parquet
//! files and by the analyst side (`floodlight query`, `floodlight serve`)
//! that reads them, so both always agree on the layout:
//!
//! ```text
//! <root>/events/class=<class>/date=<YYYY-MM-DD>/part-<run>-<seq>.parquet
//! <root>/findings/class=<class>/date=<YYYY-MM-DD>/part-<run>-<seq>.parquet
//! ```
//!
//! In the config, a local lake is `path = "..."`; an object-store lake is
//! `url = "s3://bucket/prefix"` with `options` taking `object_store`'s S3
//! settings (`endpoint`, `region`, `allow_http`, ...). Credentials come from
//! the usual environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, or the instance / pod
//! identity), never from the config file, so they never reach a log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as StorePath;
use object_store::ObjectStore;
use url::Url;

/// Why a lake location cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LakeLocationError {
    /// The URL does not parse or names a scheme floodlight does not support.
    #[error("lake url `{url}`: {problem}")]
    Url {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An option the object store does not know, or a bad value.
    #[error("lake option `{key}`: {problem}")]
    Option {
        /// The option key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The object store client could not be built.
    #[error("lake store {url}: {source}")]
    Store {
        /// The URL as configured.
        url: String,
        /// The client's error.
        source: object_store::Error,
    },
}

/// A lake's root: a local directory or a prefix in an object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeLocation {
    /// A directory on a local (or mounted) file system.
    Local(PathBuf),
    /// `s3://bucket/prefix`, with `object_store` S3 options.
    ObjectStore {
        /// The root URL (`s3://bucket/optional/prefix`).
        url: Url,
        /// S3 settings by `object_store` key (`endpoint`, `region`, `allow_http`, ...).
        options: BTreeMap<String, String>,
    },
}

impl LakeLocation {
    /// Parse `url` (`s3://bucket/prefix`, `file:///abs/dir`) with `options`.
    pub fn from_url(url: &str, options: BTreeMap<String, String>) -> Result<LakeLocation, LakeLocationError> {
        let bad = |problem: String| LakeLocationError::Url { url: url.to_string(), problem };
        let parsed = Url::parse(url).map_err(|e| bad(e.to_string()))?;
        match parsed.scheme() {
            "file" => {
                let path = parsed.to_file_path().map_err(|_| bad("not an absolute file path".into()))?;
                Ok(LakeLocation::Local(path))
            }
            "s3" | "s3a" => {
                if parsed.host_str().is_none_or(str::is_empty) {
                    return Err(bad("names no bucket (expected s3://bucket/prefix)".into()));
                }
                for key in options.keys() {
                    s3_key(key)?;
                }
                Ok(LakeLocation::ObjectStore { url: parsed, options })
            }
            other => Err(bad(format!("scheme `{other}` is not supported (use a local `path`, or `s3://`)"))),
        }
    }

    /// The location as people read it (a path or a URL, never credentials).
    pub fn display(&self) -> String {
        match self {
            LakeLocation::Local(p) => p.display().to_string(),
            LakeLocation::ObjectStore { url, .. } => url.to_string(),
        }
    }

    /// Connect: the store and the lake's root inside it.
    pub fn open(&self) -> Result<LakeStore, LakeLocationError> {
        match self {
            LakeLocation::Local(root) => {
                let abs = std::path::absolute(root).unwrap_or_else(|_| root.clone());
                let url = Url::from_directory_path(&abs).map_err(|_| LakeLocationError::Url {
                    url: abs.display().to_string(),
                    problem: "not an absolute directory path".into(),
                })?;
                Ok(LakeStore {
                    store: Arc::new(object_store::local::LocalFileSystem::new()),
                    store_url: Url::parse("file:///")
                        .map_err(|e| LakeLocationError::Url { url: "file:///".into(), problem: e.to_string() })?,
                    root_url: url,
                    prefix: StorePath::from_filesystem_path(&abs).unwrap_or_else(|_| StorePath::from("")),
                    local_root: Some(abs),
                })
            }
            LakeLocation::ObjectStore { url, options } => {
                let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
                for (k, v) in options {
                    builder = builder.with_config(s3_key(k)?, v);
                }
                let store =
                    builder.build().map_err(|source| LakeLocationError::Store { url: url.to_string(), source })?;
                let bucket = url.host_str().unwrap_or_default();
                let store_url = Url::parse(&format!("{}://{bucket}/", url.scheme()))
                    .map_err(|e| LakeLocationError::Url { url: url.to_string(), problem: e.to_string() })?;
                let prefix = StorePath::from(url.path().trim_matches('/'));
                let mut root_url = store_url.clone();
                root_url.set_path(&format!("/{}", with_slash(prefix.as_ref())));
                Ok(LakeStore { store: Arc::new(store), store_url, root_url, prefix, local_root: None })
            }
        }
    }
}

fn with_slash(p: &str) -> String {
    if p.is_empty() {
        String::new()
    } else {
        format!("{p}/")
    }
}

fn s3_key(key: &str) -> Result<AmazonS3ConfigKey, LakeLocationError> {
    let lower = key.to_ascii_lowercase();
    if ["access_key_id", "secret_access_key", "session_token", "token"].iter().any(|secret| lower.ends_with(secret)) {
        return Err(LakeLocationError::Option {
            key: key.to_string(),
            problem: "credentials do not belong in the config file: set AWS_ACCESS_KEY_ID / \
                      AWS_SECRET_ACCESS_KEY (or AWS_SESSION_TOKEN) in the environment"
                .into(),
        });
    }
    let with_prefix = if lower.starts_with("aws_") { lower.clone() } else { format!("aws_{lower}") };
    with_prefix
        .parse::<AmazonS3ConfigKey>()
        .or_else(|_| lower.parse::<AmazonS3ConfigKey>())
        .map_err(|e| LakeLocationError::Option { key: key.to_string(), problem: e.to_string() })
}

/// An opened lake: its store, and where its root is in it.
#[derive(Debug, Clone)]
pub struct LakeStore {
    /// The object store (the local file system for a local lake).
    pub store: Arc<dyn ObjectStore>,
    /// The store's own URL (`s3://bucket/`, `file:///`): what DataFusion
    /// registers the store under.
    pub store_url: Url,
    /// The lake root as a URL ending in `/`.
    pub root_url: Url,
    /// The lake root as a path inside the store.
    pub prefix: StorePath,
    /// The root directory when the lake is local.
    pub local_root: Option<PathBuf>,
}

impl LakeStore {
    /// URL of a table folder: `events/class=network/` or `findings/`.
    pub fn table_url(&self, relative: &str) -> String {
        format!("{}{}", self.root_url, with_slash(relative.trim_matches('/')))
    }

    /// Path inside the store of `relative` (`events/class=dns/date=.../part.parquet`).
    pub fn path(&self, relative: &str) -> StorePath {
        let mut p = self.prefix.clone();
        for part in relative.split('/').filter(|s| !s.is_empty()) {
            p = p.join(part);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_keep_bucket_and_prefix() {
        let mut opts = BTreeMap::new();
        opts.insert("endpoint".to_string(), "http://127.0.0.1:9000".to_string());
        opts.insert("allow_http".to_string(), "true".to_string());
        opts.insert("region".to_string(), "us-east-1".to_string());
        let loc = LakeLocation::from_url("s3://lake-bucket/floodlight/prod", opts).expect("valid");
        let store = loc.open().expect("builds without network access");
        assert_eq!(store.store_url.as_str(), "s3://lake-bucket/");
        assert_eq!(store.root_url.as_str(), "s3://lake-bucket/floodlight/prod/");
        assert_eq!(store.table_url("events/class=dns"), "s3://lake-bucket/floodlight/prod/events/class=dns/");
        assert_eq!(
            store.path("findings/class=email/x.parquet").as_ref(),
            "floodlight/prod/findings/class=email/x.parquet"
        );
    }

    #[test]
    fn credentials_in_options_and_odd_schemes_are_refused() {
        let mut opts = BTreeMap::new();
        opts.insert("aws_secret_access_key".to_string(), "hunter2".to_string());
        let err = LakeLocation::from_url("s3://b/p", opts).expect_err("secret refused").to_string();
        assert!(err.contains("environment"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = LakeLocation::from_url("ftp://host/x", BTreeMap::new()).expect_err("scheme").to_string();
        assert!(err.contains("not supported"), "{err}");
        let err = LakeLocation::from_url("s3:///nobucket", BTreeMap::new()).expect_err("bucket").to_string();
        assert!(err.contains("bucket"), "{err}");
        let mut opts = BTreeMap::new();
        opts.insert("no_such_setting".to_string(), "1".to_string());
        assert!(LakeLocation::from_url("s3://b/p", opts).is_err());
    }

    #[test]
    fn local_roots_are_absolute_directory_urls() {
        let dir = std::env::temp_dir().join("floodlight-lake-location-test");
        let store = LakeLocation::Local(dir.clone()).open().expect("local");
        assert!(store.root_url.as_str().starts_with("file:///"), "{}", store.root_url);
        assert!(store.root_url.as_str().ends_with('/'));
        assert_eq!(store.local_root.as_deref(), Some(dir.as_path()));
        assert!(store.table_url("events/class=network").ends_with("/events/class=network/"));
    }
}
