-- floodlight-store migration 1 (SQLite): console sessions, triage, triage history, notes.
-- Timestamps are microseconds since the Unix epoch (UTC). Never edit this file
-- once released: add a new migration instead (the store checks checksums).

-- One row per console login. Only the SHA-256 (hex) of the cookie secret is kept.
CREATE TABLE console_sessions (
    secret_sha256 TEXT NOT NULL PRIMARY KEY,
    token_name TEXT NOT NULL,
    role TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);

-- The current triage of a finding; `version` counts changes (optimistic concurrency).
CREATE TABLE finding_triage (
    finding_id TEXT NOT NULL PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'resolved', 'false_positive')),
    assignee TEXT,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1)
) STRICT;
CREATE INDEX finding_triage_status ON finding_triage (status, updated_at);

-- Every triage change, one row per version.
CREATE TABLE finding_triage_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id TEXT NOT NULL REFERENCES finding_triage (finding_id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    UNIQUE (finding_id, version)
) STRICT;

-- Free-text notes on findings (a finding needs no triage row to have notes).
CREATE TABLE finding_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX finding_notes_finding ON finding_notes (finding_id, id);
