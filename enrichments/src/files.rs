//! Where the files a configuration names come from: a path relative to the
//! configuration's folder, or a file compiled into the binary, named
//! `embedded:<name>` (the bundled catalog, the demo organisation's files and,
//! in [`crate::geo`], the MaxMind test databases), so that the embedded demo
//! configuration runs with no file on disk.

use std::path::{Path, PathBuf};

/// `path` relative to `base` unless absolute or a bundled file (`embedded:<name>`).
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || embedded_name(path).is_some() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Prefix of a path that names a file compiled into the binary
/// (`embedded:demo/users.csv`) instead of one on disk.
pub const EMBEDDED_PREFIX: &str = "embedded:";

/// Text files compiled into the binary, by the name after `embedded:`: the
/// bundled catalog and the demo organisation's directory and overlay (what
/// the embedded demo config names, so `floodlight run` needs no files).
pub const EMBEDDED_TEXT_FILES: &[(&str, &str)] = &[
    ("catalog.toml", crate::catalog::EMBEDDED_CATALOG),
    ("demo/users.csv", include_str!("../../deploy/demo/users.csv")),
    ("demo/overlay.toml", include_str!("../../deploy/demo/overlay.toml")),
];

/// The name after `embedded:` when `path` names a bundled file.
pub fn embedded_name(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix(EMBEDDED_PREFIX)
}

/// Read a text file a setting names (resolved): a bundled `embedded:<name>`
/// file or one on disk.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    match embedded_name(path) {
        Some(name) => {
            EMBEDDED_TEXT_FILES.iter().find(|(n, _)| *n == name).map(|(_, t)| t.to_string()).ok_or_else(|| {
                let known: Vec<_> = EMBEDDED_TEXT_FILES.iter().map(|(n, _)| format!("{EMBEDDED_PREFIX}{n}")).collect();
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no such bundled file (bundled: {})", known.join(", ")),
                )
            })
        }
        None => std::fs::read_to_string(path),
    }
}
