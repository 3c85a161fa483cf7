//! The lake on an S3-compatible object store: `floodlight run` writes it
//! through `object_store` to a real S3 server on loopback (moto_server, from
//! PyPI, installed by `deploy/install-python-tools.sh`), and
//! `floodlight query` reads it back with the same answers as a local lake
//! written from the same input.

use crate::support::cli;
use crate::support::pytools;

use std::path::Path;
use std::process::{Command, Output};

const BUCKET: &str = "floodlight-lake";

fn floodlight_s3(dir: &Path, endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("FLOODLIGHT_LOG", "warn")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("S3_ENDPOINT", endpoint)
        .output()
        .expect("floodlight runs")
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

const SQL: &str = "SELECT 'network' AS t, count(*) AS n FROM network UNION ALL SELECT 'dns', count(*) FROM dns \
                   UNION ALL SELECT 'auth', count(*) FROM auth UNION ALL SELECT 'oauth', count(*) FROM oauth \
                   UNION ALL SELECT 'email', count(*) FROM email UNION ALL SELECT 'findings', count(*) FROM findings_latest \
                   ORDER BY t";

#[test]
fn lake_on_s3_is_written_and_queried_like_a_local_one() {
    let s3 = pytools::S3Server::start();
    s3.create_bucket(BUCKET);
    let dir = tempfile::tempdir().expect("tempdir");
    let common =
        "[[sources]]\ntype = \"demo\"\n[enrichments]\ncorporate_cidrs = [\"89.160.20.112/28\", \"10.0.0.0/8\"]\n\
                  corporate_domains = [\"corp.example.com\"]\noverlay = \"embedded:demo/overlay.toml\"\n\
                  directory = \"embedded:demo/users.csv\"\n[enrichments.geoip]\ndemo = true\n";
    std::fs::write(
        dir.path().join("s3.toml"),
        format!(
            "{common}[sinks.lake]\nurl = \"s3://{BUCKET}/prod/lake\"\nspool_dir = \"spool\"\n\
             [sinks.lake.options]\nendpoint = \"${{S3_ENDPOINT}}\"\nallow_http = \"true\"\nregion = \"us-east-1\"\n"
        ),
    )
    .expect("write config");
    std::fs::write(dir.path().join("local.toml"), format!("{common}[sinks.lake]\npath = \"local-lake\"\n"))
        .expect("write config");

    ok(&floodlight_s3(dir.path(), &s3.endpoint, &["run", "--no-table", "--config", "s3.toml"]), "run to S3");
    ok(&floodlight_s3(dir.path(), &s3.endpoint, &["run", "--no-table", "--config", "local.toml"]), "run to disk");

    let keys = s3.list_keys(BUCKET);
    assert!(
        keys.iter().any(|k| k.starts_with("prod/lake/events/class=network/date=") && k.ends_with(".parquet")),
        "network events uploaded: {keys:?}"
    );
    assert!(keys.iter().any(|k| k.starts_with("prod/lake/findings/class=")), "findings uploaded: {keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("prod/lake/") && k.ends_with(".parquet")), "nothing else: {keys:?}");
    let spool = cli::files_under(&dir.path().join("spool"));
    assert!(spool.iter().all(|p| !p.to_string_lossy().ends_with(".parquet")), "spool emptied: {spool:?}");

    let remote = ok(
        &floodlight_s3(dir.path(), &s3.endpoint, &["query", "--config", "s3.toml", "--format", "csv", SQL]),
        "query S3",
    );
    let local = ok(
        &floodlight_s3(dir.path(), &s3.endpoint, &["query", "--config", "local.toml", "--format", "csv", SQL]),
        "query disk",
    );
    assert_eq!(remote, local, "the same answers from S3 and from disk");
    let network: u64 =
        remote.lines().find_map(|l| l.strip_prefix("network,")).and_then(|n| n.parse().ok()).expect("a network count");
    assert!(network > 0, "{remote}");

    // A wrong endpoint is a clear error within the query time limit (the
    // S3 client retries, the limit still holds), never a hang or a panic.
    let bad = Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(["query", "--config", "s3.toml", "--timeout", "3s", "SELECT count(*) FROM dns"])
        .current_dir(dir.path())
        .env("FLOODLIGHT_LOG", "warn")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("S3_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("lake") || err.contains("time limit"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
