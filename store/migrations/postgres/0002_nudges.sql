-- floodlight-store migration 2 (PostgreSQL): nudges sent to people about their
-- findings, and their answers ("comply or explain"). Timestamps are
-- microseconds since the Unix epoch (UTC). Never edit this file once released.

-- One row per nudge: one message about one finding to one person. It is the
-- outbox (state 'pending' until a sender claims it) and, once sent, the log of
-- every message: who, which channel and address, what subject, when.
CREATE TABLE nudges (
    id TEXT NOT NULL PRIMARY KEY,
    finding_id TEXT NOT NULL UNIQUE,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    severity TEXT NOT NULL,
    family TEXT NOT NULL,
    person TEXT NOT NULL,
    person_name TEXT,
    recipient TEXT,
    department TEXT,
    app_id TEXT,
    app_name TEXT,
    app_category TEXT,
    alternative TEXT,
    event_count BIGINT,
    bytes BIGINT,
    first_seen BIGINT,
    last_seen BIGINT,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'dry_run', 'skipped', 'failed')),
    reason TEXT,
    not_before BIGINT NOT NULL,
    claimed_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    subject TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    link_expires_at BIGINT NOT NULL
);
CREATE INDEX nudges_due ON nudges (state, not_before);
CREATE INDEX nudges_person_app ON nudges (person, app_id, sent_at);
CREATE INDEX nudges_sent_at ON nudges (sent_at);

-- The person's answer to a nudge (one at most: the link is single use), and
-- IT's decision on it.
CREATE TABLE nudge_answers (
    nudge_id TEXT NOT NULL PRIMARY KEY REFERENCES nudges (id) ON DELETE CASCADE,
    choice TEXT NOT NULL CHECK (choice IN ('switch', 'need', 'not_me')),
    reason TEXT,
    requested_days BIGINT,
    answered_at BIGINT NOT NULL,
    decision TEXT CHECK (decision IN ('granted', 'declined')),
    scope TEXT,
    reply TEXT,
    exception_expires TEXT,
    decided_by TEXT,
    decided_at BIGINT
);
CREATE INDEX nudge_answers_answered_at ON nudge_answers (answered_at);
