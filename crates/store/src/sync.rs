//! The blocking writer: the write path of [`Store::write`](crate::Store::write) on one
//! synchronous SQLite connection, for a thread of its own.
//!
//! sqlx runs every statement on its connection's worker thread and sends each result back to
//! the awaiting task: a record of three or four statements in a transaction costs a dozen
//! thread wake-ups, which under a steady call load cost far more CPU than SQLite's own work.
//! A writer thread that owns a connection runs the same statements back to back, from
//! prepared statements kept between records, and is woken once per batch of records.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::{
    CallEnd, CallStart, CdrLeg, CdrWrite, EndedBy, SQL_ANSWER, SQL_CALL_ID, SQL_END_INSERT,
    SQL_END_UPDATE, SQL_LEG, SQL_START, StoreError, Timestamp,
};

/// A blocking connection that writes call records to a database [`Store::open`](crate::Store::open)
/// created (it applies the migrations; this writer does not). Same durability as the
/// store: WAL, `synchronous = NORMAL`, so a committed record survives a `kill -9`.
#[derive(Debug)]
pub struct SyncWriter {
    conn: Connection,
}

impl SyncWriter {
    /// Opens the existing database file `path` (see [`Store::path`](crate::Store::path)).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.set_prepared_statement_cache_capacity(16);
        Ok(Self { conn })
    }

    /// Applies `writes` in order in one transaction, all or none: the same rows as
    /// [`Store::write`](crate::Store::write).
    pub fn write(&mut self, writes: &[CdrWrite]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for w in writes {
            match w {
                CdrWrite::Started(s) => started(&tx, s)?,
                CdrWrite::Answered { key, at } => {
                    tx.prepare_cached(SQL_ANSWER)?
                        .execute(params![key, at.as_unix_ms()])?;
                }
                CdrWrite::Ended(e) => ended(&tx, e)?,
            }
        }
        tx.commit()?;
        Ok(())
    }
}

fn started(conn: &Connection, start: &CallStart) -> Result<(), StoreError> {
    let inserted: Option<i64> = conn
        .prepare_cached(SQL_START)?
        .query_row(
            params![
                start.key,
                start.kind.as_str(),
                start.started_at.as_unix_ms()
            ],
            |r| r.get(0),
        )
        .optional()?;
    let id = match inserted {
        Some(id) => id,
        None => conn
            .prepare_cached(SQL_CALL_ID)?
            .query_row(params![start.key], |r| r.get(0))?,
    };
    for leg in &start.legs {
        upsert_leg(conn, id, leg)?;
    }
    Ok(())
}

fn ended(conn: &Connection, end: &CallEnd) -> Result<(), StoreError> {
    let answered = end.answered_at.map(Timestamp::as_unix_ms);
    let status = end.final_status.map(i64::from);
    let updated: Option<i64> = conn
        .prepare_cached(SQL_END_UPDATE)?
        .query_row(
            params![
                end.key,
                answered,
                end.ended_at.as_unix_ms(),
                end.cause,
                end.cause_detail,
                status
            ],
            |r| r.get(0),
        )
        .optional()?;
    let id = match updated {
        Some(id) => id,
        None => conn.prepare_cached(SQL_END_INSERT)?.query_row(
            params![
                end.key,
                end.kind.as_str(),
                end.started_at.as_unix_ms(),
                answered,
                end.ended_at.as_unix_ms(),
                end.cause,
                end.cause_detail,
                status
            ],
            |r| r.get(0),
        )?,
    };
    for leg in &end.legs {
        upsert_leg(conn, id, leg)?;
    }
    Ok(())
}

fn upsert_leg(conn: &Connection, call_id: i64, leg: &CdrLeg) -> Result<(), StoreError> {
    conn.prepare_cached(SQL_LEG)?.execute(params![
        call_id,
        leg.leg.as_str(),
        leg.sip_call_id,
        leg.from_uri,
        leg.to_uri,
        leg.remote_addr,
        leg.transport,
        leg.started_at.map(Timestamp::as_unix_ms),
        leg.answered_at.map(Timestamp::as_unix_ms),
        leg.ended_at.map(Timestamp::as_unix_ms),
        leg.final_status.map(i64::from),
        leg.ended_by.map(EndedBy::as_str),
    ])?;
    Ok(())
}
