-- Call detail records: one row per call, one per leg.
-- Times are UTC milliseconds since the Unix epoch (INTEGER): they sort and compare as numbers,
-- and `tandem cdr` prints them as RFC 3339.
-- Once released, a migration is never edited (sqlx refuses a database whose applied
-- migrations' checksums changed): a schema change is a new numbered file.

CREATE TABLE calls (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Unique on this node across restarts (the server's run prefix + a sequence number).
    call_key     TEXT    NOT NULL UNIQUE,
    -- b2b | originate | conference
    kind         TEXT    NOT NULL,
    -- started | answered | ended
    state        TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    answered_at  INTEGER,
    -- NULL while the call runs, and forever for a call the process died in.
    ended_at     INTEGER,
    -- Why it ended (e.g. caller_hangup, rejected, no_answer) and free text beside it.
    cause        TEXT,
    cause_detail TEXT,
    -- Final status of the call as the caller saw it (200 when answered).
    final_status INTEGER
);

CREATE INDEX calls_started_at ON calls (started_at);

CREATE TABLE legs (
    call_id      INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    -- a | b
    leg          TEXT    NOT NULL,
    sip_call_id  TEXT,
    from_uri     TEXT,
    to_uri       TEXT,
    remote_addr  TEXT,
    -- UDP | TCP | TLS | WS | WSS
    transport    TEXT,
    started_at   INTEGER,
    answered_at  INTEGER,
    ended_at     INTEGER,
    final_status INTEGER,
    -- Who ended this leg: local (Tandem), remote (the peer), lost (nobody), NULL: unknown.
    ended_by     TEXT,
    PRIMARY KEY (call_id, leg)
) WITHOUT ROWID;
