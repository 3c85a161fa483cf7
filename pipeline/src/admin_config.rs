//! `[admin]`: the operations listener that Kubernetes probes and Prometheus
//! scrape. It has its own port, no authentication and nothing an analyst
//! could use: `/healthz`, `/readyz` and `/metrics` (the server crate's
//! `admin` module serves them; [`crate::health`] and
//! [`crate::internal_events`] feed them).
//!
//! ```toml
//! [admin]
//! listen = "0.0.0.0:9598"   # never the API's port; keep it off any Ingress
//! wedged_after = "10m"      # /healthz fails when one batch, rule run or sink
//!                           # write has been running longer than this
//! ```
//!
//! Without an `[admin]` table there is no admin listener (a laptop run
//! needs none); `floodlight run --admin-listen ADDR` starts one anyway.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// `[admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address of the admin listener.
    pub listen: SocketAddr,
    /// How long one piece of work may run before `/healthz` calls the
    /// process wedged (`10m`, `90s`).
    #[serde(default = "default_wedged_after")]
    pub wedged_after: String,
}

fn default_wedged_after() -> String {
    "10m".into()
}

impl AdminConfig {
    /// An admin listener on `listen` with the default settings.
    pub fn on(listen: SocketAddr) -> AdminConfig {
        AdminConfig { listen, wedged_after: default_wedged_after() }
    }

    /// `wedged_after`, parsed and checked.
    pub fn wedged_after(&self) -> Result<Duration, String> {
        let d = humantime::parse_duration(self.wedged_after.trim())
            .map_err(|e| format!("`{}` is not a duration ({e}); write `10m` or `90s`", self.wedged_after))?;
        if d < Duration::from_secs(1) {
            return Err(format!("`{}`: must be at least 1s", self.wedged_after));
        }
        Ok(d)
    }

    /// Problems, by setting (relative to `admin.`); `api` is the analyst
    /// API's address when there is one.
    pub fn problems(&self, api: Option<SocketAddr>) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if let Err(e) = self.wedged_after() {
            p.push(("wedged_after".into(), e));
        }
        if let Some(api) = api {
            if api.port() == self.listen.port() && self.listen.port() != 0 {
                p.push((
                    "listen".into(),
                    format!(
                        "port {} is the API's (`server.listen`): the admin listener needs its own port, \
                         as it answers without a token",
                        self.listen.port()
                    ),
                ));
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wedged_after_is_a_duration_of_a_second_or_more() {
        let mut c = AdminConfig::on("127.0.0.1:9598".parse().unwrap());
        assert_eq!(c.wedged_after(), Ok(Duration::from_secs(600)));
        c.wedged_after = "500ms".into();
        assert!(c.wedged_after().unwrap_err().contains("at least 1s"));
        c.wedged_after = "soon".into();
        assert!(c.problems(None)[0].1.contains("not a duration"));
    }

    #[test]
    fn the_admin_port_is_never_the_apis() {
        let c = AdminConfig::on("0.0.0.0:8080".parse().unwrap());
        let p = c.problems(Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "listen");
        assert!(c.problems(Some("127.0.0.1:8081".parse().unwrap())).is_empty());
    }
}
