//! `run` and `serve` with `[nudges]`: open the outbox (the console's store)
//! and build the [`Nudger`]; see `floodlight_server::nudges` for the loop.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use floodlight_pipeline::config::Config;
use floodlight_server::nudges::Nudger;

/// How often queued nudges are looked at (quiet hours ending, retries).
pub const DELIVERY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// The nudger `cfg` describes, on the store `[server.console]` names (the
/// default `console.db` beside the config when there is no `[server]`), or
/// `None` without `[nudges]`.
pub async fn open(cfg: &Config, base: &Path) -> Result<Option<Arc<Nudger>>> {
    if cfg.nudges.is_none() {
        return Ok(None);
    }
    let console = cfg.server.as_ref().map(|s| s.console.clone()).unwrap_or_default();
    let url = floodlight_server::console::store_url(&console, base).context("[nudges] cannot find its store")?;
    let store = floodlight_store::Store::open(&url).await.context("[nudges] cannot open the store")?;
    Nudger::from_config(cfg, base, store).context("[nudges] cannot start")
}
