//! The store's schema and how it evolves: versioned migrations, applied by
//! [`Store::open`](crate::Store::open).
//!
//! Each migration is a numbered SQL file per backend under `store/migrations/`
//! (`sqlite/0001_initial.sql`, `postgres/0001_initial.sql`): the two files of
//! one version create the same tables, in each dialect. `open` keeps a table
//! `floodlight_store_schema` (version, description, SHA-256 of the SQL, when)
//! and, in one transaction:
//!
//! 1. takes a lock, so that replicas starting at once migrate one after the
//!    other: `pg_advisory_xact_lock` on PostgreSQL (released at commit),
//!    `BEGIN IMMEDIATE` (the write lock) on SQLite;
//! 2. creates the version table if missing, reads what is applied;
//! 3. refuses to go on if an applied migration's checksum differs from this
//!    release's file (someone edited a released migration: fix that, never
//!    the database);
//! 4. applies the missing ones in order and records them.
//!
//! A database already migrated by a *newer* release (a rolling upgrade, or a
//! rollback) is accepted, with a warning: migrations must therefore only add
//! (tables, nullable columns, indexes), so that the previous release keeps
//! working on the newer schema.
//!
//! To change the schema: add `NNNN_what.sql` in both directories and a
//! [`Migration`] entry to [`MIGRATIONS`]; never edit a released file.

use sha2::{Digest, Sha256};
use sqlx::Executor;

use crate::{now_micros, Pool, Store, StoreError};

/// One schema version, in both dialects.
struct Migration {
    /// 1, 2, 3, ... in order, no gaps.
    version: i64,
    /// What it does, recorded in the version table.
    description: &'static str,
    /// The SQL for SQLite (several statements).
    sqlite: &'static str,
    /// The SQL for PostgreSQL (several statements).
    postgres: &'static str,
}

impl Migration {
    fn sql(&self, store: &Store) -> &'static str {
        match store.pool {
            Pool::Sqlite(_) => self.sqlite,
            Pool::Postgres(_) => self.postgres,
        }
    }
}

/// Every migration, oldest first.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "console sessions, finding triage, triage history, notes",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        description: "nudges (outbox and message log) and their answers",
        sqlite: include_str!("../migrations/sqlite/0002_nudges.sql"),
        postgres: include_str!("../migrations/postgres/0002_nudges.sql"),
    },
];

/// The table that records applied migrations (the same SQL on both backends).
const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS floodlight_store_schema (
    version BIGINT NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The PostgreSQL advisory lock key of the migration ("floodlig" in ASCII):
/// advisory locks are per database, so this only serialises floodlight stores.
const PG_LOCK_KEY: i64 = 0x666c_6f6f_646c_6967;

/// Brings the store's schema up to date (see the module docs).
pub(crate) async fn migrate(store: &Store) -> Result<(), StoreError> {
    let failed = |what: &'static str| move |e: sqlx::Error| StoreError::Migrate(format!("{what}: {e}"));
    macro_rules! run {
        ($tx:ident) => {{
            sqlx::query(VERSION_TABLE).execute(&mut *$tx).await.map_err(failed("creating the version table"))?;
            let applied: Vec<(i64, String)> = sqlx::query_as("SELECT version, sha256 FROM floodlight_store_schema")
                .fetch_all(&mut *$tx)
                .await
                .map_err(failed("reading the version table"))?;
            check_applied(&applied)?;
            // Collected first: an iterator adapter's closure held across the
            // awaits below would make the future not `Send`.
            let pending: Vec<&'static Migration> =
                MIGRATIONS.iter().filter(|m| !applied.iter().any(|(v, _)| *v == m.version)).collect();
            for migration in pending {
                let sql = migration.sql(store);
                // A plain string runs as a simple query: several statements.
                Executor::execute(&mut *$tx, sql).await.map_err(|e| {
                    StoreError::Migrate(format!(
                        "migration {} ({}) failed: {e}",
                        migration.version, migration.description
                    ))
                })?;
                sqlx::query(
                    "INSERT INTO floodlight_store_schema (version, description, sha256, applied_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(migration.version)
                .bind(migration.description)
                .bind(sha256_hex(sql))
                .bind(now_micros())
                .execute(&mut *$tx)
                .await
                .map_err(failed("recording a migration"))?;
            }
            $tx.commit().await.map_err(failed("committing the migration"))?;
            Ok(())
        }};
    }
    match &store.pool {
        Pool::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed("locking the database"))?;
            run!(tx)
        }
        Pool::Postgres(pool) => {
            let mut tx = pool.begin().await.map_err(failed("starting a transaction"))?;
            // No "relation already exists, skipping" notice in the logs at every start.
            Executor::execute(&mut *tx, "SET LOCAL client_min_messages = warning")
                .await
                .map_err(failed("setting the session"))?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *tx)
                .await
                .map_err(failed("taking the migration lock"))?;
            run!(tx)
        }
    }
}

/// Checks what the database has applied against [`MIGRATIONS`].
fn check_applied(applied: &[(i64, String)]) -> Result<(), StoreError> {
    for (version, stored) in applied {
        match MIGRATIONS.iter().find(|m| m.version == *version) {
            Some(m) => {
                // Both dialects' files are accepted: the checksum is of the one
                // this backend ran.
                let known = [sha256_hex(m.sqlite), sha256_hex(m.postgres)];
                if !known.contains(stored) {
                    return Err(StoreError::Migrate(format!(
                        "migration {version} ({}) was applied from a different file than this release's: a released \
                         migration must never be edited",
                        m.description
                    )));
                }
            }
            None => tracing::warn!(
                version,
                "the store's schema has migration {version}, which this release does not know: it was migrated by a \
                 newer release; going on (migrations only add)"
            ),
        }
    }
    Ok(())
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.description);
            assert!(m.sqlite.contains("CREATE") && m.postgres.contains("CREATE"));
        }
    }

    #[test]
    fn edited_migrations_are_refused() {
        assert!(check_applied(&[(1, sha256_hex(MIGRATIONS[0].postgres))]).is_ok());
        assert!(check_applied(&[(1, sha256_hex(MIGRATIONS[0].sqlite))]).is_ok());
        assert!(check_applied(&[(99, "anything".into())]).is_ok());
        let err = check_applied(&[(1, sha256_hex("edited"))]).unwrap_err();
        assert!(err.to_string().contains("must never be edited"), "{err}");
    }
}
