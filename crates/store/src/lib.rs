//! Tandem's persistence: call detail records in SQLite.
//!
//! ```no_run
//! # async fn f() -> Result<(), tandem_store::StoreError> {
//! use tandem_store::{CallKind, CallQuery, CallStart, Store, Timestamp};
//! let store = Store::open("./data".as_ref()).await?;
//! store
//!     .call_started(&CallStart {
//!         key: "18c2f-1".into(),
//!         kind: CallKind::B2b,
//!         started_at: Timestamp::now(),
//!         legs: vec![],
//!     })
//!     .await?;
//! for call in store.calls(&CallQuery::default()).await? {
//!     println!("{} {} {:?}", call.id, call.started_at, call.cause);
//! }
//! # Ok(()) }
//! ```
//!
//! One row per call (`calls`) and one per leg (`legs`). A call is written twice: when it
//! starts ([`Store::call_started`], a row with `ended_at` NULL) and when it ends
//! ([`Store::call_ended`], an upsert of the whole record). So a process that dies leaves the
//! calls it was carrying as visible half-rows, and each write is its own transaction, durable
//! once it returns (see [`Store::open`] for what "durable" means here).
//!
//! The API is small and async so a PostgreSQL back end can sit behind it later (the target
//! design's `store` crate); nothing here knows the call controller's types.

mod model;
mod sync;
mod time;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};

pub use model::{
    CallEnd, CallKind, CallQuery, CallStart, CdrCall, CdrLeg, CdrState, CdrWrite, EndedBy, LegName,
    UnknownValue,
};
pub use sync::SyncWriter;
pub use time::Timestamp;

/// The database file's name inside the data folder.
pub const DB_FILE: &str = "tandem.db";

/// The schema, embedded at compile time from `crates/store/migrations`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open the database {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date (e.g. a newer Tandem wrote the file).
    #[error("cannot migrate the database {}: {source}", path.display())]
    Migrate {
        /// The file.
        path: PathBuf,
        /// What the migrator said.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A write of the blocking writer ([`SyncWriter`]) failed.
    #[error("database error: {0}")]
    Write(#[from] rusqlite::Error),
    /// A row holds a value this version cannot read (written by something else).
    #[error("column `{column}` holds `{value}`")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// Its text.
        value: String,
    },
}

/// The record store: a pool of connections to `<data>/tandem.db`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if missing) `<dir>/tandem.db` and applies the embedded migrations.
    /// The folder must exist.
    ///
    /// The journal is WAL with `synchronous = NORMAL`: a commit is appended to the WAL file
    /// with a `write()` before it returns, and only checkpoints are fsynced. That is enough
    /// for the promise that a `kill -9` loses no record of a call that had ended, because a
    /// killed process's writes are already in the operating system's page cache, which
    /// outlives it. What NORMAL gives up is the last commits before a power loss or a kernel
    /// crash (the database stays consistent, those transactions roll back); `FULL` would
    /// fsync every commit for that, at a disk flush per call. Readers (the CLI, the REST API)
    /// never block the writer in WAL mode, and a busy timeout covers the checkpoint moments
    /// when they briefly contend.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(DB_FILE);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.clone(),
                source,
            })?;
        Ok(Self { pool, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records that a call started: a `calls` row in state `started` with no end, and the
    /// legs known so far. A second start of the same key changes nothing (so a retried write
    /// is harmless).
    pub async fn call_started(&self, start: &CallStart) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        started(&mut tx, start).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that a started call was answered (state `answered`). Unknown keys and calls
    /// already ended are left alone.
    pub async fn call_answered(&self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        answered(&mut conn, key, at).await
    }

    /// Records the end of a call: an upsert of the call row (the start time of an earlier
    /// start record is kept) and of every leg (a value missing here never erases one
    /// recorded before). Returns the call's row id.
    pub async fn call_ended(&self, end: &CallEnd) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = ended(&mut tx, end).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Applies `writes` in order in one transaction: all or none. A writer that finds
    /// several records waiting commits them together, so a burst costs one commit instead of
    /// one each and the writer catches up sooner (the records of a `kill -9` window are
    /// those not yet committed).
    pub async fn write(&self, writes: &[CdrWrite]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for w in writes {
            match w {
                CdrWrite::Started(s) => started(&mut tx, s).await?,
                CdrWrite::Answered { key, at } => answered(&mut tx, key, *at).await?,
                CdrWrite::Ended(e) => {
                    ended(&mut tx, e).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Calls newest first (by start time, then id), each with its legs.
    pub async fn calls(&self, query: &CallQuery) -> Result<Vec<CdrCall>, StoreError> {
        // One read transaction: the calls and their legs come from the same snapshot.
        let mut tx = self.pool.begin().await?;
        let since = query.since.map_or(i64::MIN, Timestamp::as_unix_ms);
        let rows = sqlx::query(&format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE started_at >= ?1
             ORDER BY started_at DESC, id DESC LIMIT ?2 OFFSET ?3"
        ))
        .bind(since)
        .bind(i64::from(query.limit))
        .bind(i64::from(query.offset))
        .fetch_all(&mut *tx)
        .await?;
        let mut calls = rows
            .iter()
            .map(call_of_row)
            .collect::<Result<Vec<_>, _>>()?;
        if calls.is_empty() {
            return Ok(calls);
        }
        let by_id: std::collections::HashMap<i64, usize> =
            calls.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let legs = sqlx::query(&format!(
            "SELECT call_id, {LEG_COLUMNS} FROM legs WHERE call_id IN (
                SELECT id FROM calls WHERE started_at >= ?1
                ORDER BY started_at DESC, id DESC LIMIT ?2 OFFSET ?3)
             ORDER BY call_id, leg"
        ))
        .bind(since)
        .bind(i64::from(query.limit))
        .bind(i64::from(query.offset))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        for row in &legs {
            let call_id: i64 = row.try_get("call_id")?;
            if let Some(&i) = by_id.get(&call_id) {
                calls[i].legs.push(leg_of_row(row)?);
            }
        }
        Ok(calls)
    }

    /// One call by row id, with its legs.
    pub async fn call(&self, id: i64) -> Result<Option<CdrCall>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut call = call_of_row(&row)?;
        let legs = sqlx::query(&format!(
            "SELECT {LEG_COLUMNS} FROM legs WHERE call_id = ?1 ORDER BY leg"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        call.legs = legs.iter().map(leg_of_row).collect::<Result<_, _>>()?;
        Ok(Some(call))
    }

    /// The call one of whose legs has the SIP Call-ID `sip_call_id` (the newest, should a
    /// peer have reused one), with its legs.
    pub async fn call_by_sip_call_id(
        &self,
        sip_call_id: &str,
    ) -> Result<Option<CdrCall>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT call_id FROM legs WHERE sip_call_id = ?1 ORDER BY call_id DESC LIMIT 1",
        )
        .bind(sip_call_id)
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => self.call(id).await,
            None => Ok(None),
        }
    }

    /// Waits for the connections to close (after the last write): a clean shutdown
    /// checkpoints the WAL into the main file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn started(conn: &mut SqliteConnection, start: &CallStart) -> Result<(), StoreError> {
    let inserted: Option<i64> = sqlx::query_scalar(SQL_START)
        .bind(&start.key)
        .bind(start.kind.as_str())
        .bind(start.started_at.as_unix_ms())
        .fetch_optional(&mut *conn)
        .await?;
    // A repeated start (or one after the end) returns no row: find the existing one.
    let id = match inserted {
        Some(id) => id,
        None => {
            sqlx::query_scalar(SQL_CALL_ID)
                .bind(&start.key)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    for leg in &start.legs {
        upsert_leg(conn, id, leg).await?;
    }
    Ok(())
}

async fn answered(conn: &mut SqliteConnection, key: &str, at: Timestamp) -> Result<(), StoreError> {
    sqlx::query(SQL_ANSWER)
        .bind(key)
        .bind(at.as_unix_ms())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn ended(conn: &mut SqliteConnection, end: &CallEnd) -> Result<i64, StoreError> {
    // UPDATE, then INSERT if there was no row: an `INSERT .. ON CONFLICT DO UPDATE` would
    // take an AUTOINCREMENT id each time and leave gaps in the ids operators type.
    let updated: Option<i64> = sqlx::query_scalar(SQL_END_UPDATE)
        .bind(&end.key)
        .bind(end.answered_at.map(Timestamp::as_unix_ms))
        .bind(end.ended_at.as_unix_ms())
        .bind(&end.cause)
        .bind(&end.cause_detail)
        .bind(end.final_status.map(i64::from))
        .fetch_optional(&mut *conn)
        .await?;
    let id = match updated {
        Some(id) => id,
        None => {
            sqlx::query_scalar(SQL_END_INSERT)
                .bind(&end.key)
                .bind(end.kind.as_str())
                .bind(end.started_at.as_unix_ms())
                .bind(end.answered_at.map(Timestamp::as_unix_ms))
                .bind(end.ended_at.as_unix_ms())
                .bind(&end.cause)
                .bind(&end.cause_detail)
                .bind(end.final_status.map(i64::from))
                .fetch_one(&mut *conn)
                .await?
        }
    };
    for leg in &end.legs {
        upsert_leg(conn, id, leg).await?;
    }
    Ok(id)
}

// The statements of the write path, shared by the async (sqlx) and the blocking
// ([`SyncWriter`]) back ends.
const SQL_START: &str =
    "INSERT INTO calls (call_key, kind, state, started_at) VALUES (?1, ?2, 'started', ?3)
         ON CONFLICT (call_key) DO NOTHING
         RETURNING id";
const SQL_CALL_ID: &str = "SELECT id FROM calls WHERE call_key = ?1";
const SQL_ANSWER: &str = "UPDATE calls SET state = 'answered', answered_at = ?2
         WHERE call_key = ?1 AND state = 'started'";
const SQL_END_UPDATE: &str = "UPDATE calls SET
            state = 'ended',
            answered_at = coalesce(?2, answered_at),
            ended_at = ?3,
            cause = ?4,
            cause_detail = ?5,
            final_status = coalesce(?6, final_status)
         WHERE call_key = ?1
         RETURNING id";
const SQL_END_INSERT: &str =
    "INSERT INTO calls (call_key, kind, state, started_at, answered_at, ended_at,
                                    cause, cause_detail, final_status)
                 VALUES (?1, ?2, 'ended', ?3, ?4, ?5, ?6, ?7, ?8)
                 RETURNING id";
const SQL_LEG: &str =
    "INSERT INTO legs (call_id, leg, sip_call_id, from_uri, to_uri, remote_addr, transport,
                           started_at, answered_at, ended_at, final_status, ended_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (call_id, leg) DO UPDATE SET
            sip_call_id = coalesce(excluded.sip_call_id, legs.sip_call_id),
            from_uri = coalesce(excluded.from_uri, legs.from_uri),
            to_uri = coalesce(excluded.to_uri, legs.to_uri),
            remote_addr = coalesce(excluded.remote_addr, legs.remote_addr),
            transport = coalesce(excluded.transport, legs.transport),
            started_at = coalesce(legs.started_at, excluded.started_at),
            answered_at = coalesce(excluded.answered_at, legs.answered_at),
            ended_at = coalesce(excluded.ended_at, legs.ended_at),
            final_status = coalesce(excluded.final_status, legs.final_status),
            ended_by = coalesce(excluded.ended_by, legs.ended_by)";

const CALL_COLUMNS: &str = "id, call_key, kind, state, started_at, answered_at, ended_at, cause, \
                            cause_detail, final_status";
const LEG_COLUMNS: &str = "leg, sip_call_id, from_uri, to_uri, remote_addr, transport, \
                           started_at, answered_at, ended_at, final_status, ended_by";

/// Inserts a leg or fills in what an earlier write did not know. The leg's start time of the
/// first write wins (the start record saw the INVITE); for every other column a later value
/// wins and a NULL keeps the old one.
async fn upsert_leg(
    conn: &mut SqliteConnection,
    call_id: i64,
    leg: &CdrLeg,
) -> Result<(), StoreError> {
    sqlx::query(SQL_LEG)
        .bind(call_id)
        .bind(leg.leg.as_str())
        .bind(&leg.sip_call_id)
        .bind(&leg.from_uri)
        .bind(&leg.to_uri)
        .bind(&leg.remote_addr)
        .bind(&leg.transport)
        .bind(leg.started_at.map(Timestamp::as_unix_ms))
        .bind(leg.answered_at.map(Timestamp::as_unix_ms))
        .bind(leg.ended_at.map(Timestamp::as_unix_ms))
        .bind(leg.final_status.map(i64::from))
        .bind(leg.ended_by.map(EndedBy::as_str))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn call_of_row(row: &SqliteRow) -> Result<CdrCall, StoreError> {
    Ok(CdrCall {
        id: row.try_get("id")?,
        key: row.try_get("call_key")?,
        kind: text_column(row, "kind")?,
        state: text_column(row, "state")?,
        started_at: Timestamp::from_unix_ms(row.try_get("started_at")?),
        answered_at: time_column(row, "answered_at")?,
        ended_at: time_column(row, "ended_at")?,
        cause: row.try_get("cause")?,
        cause_detail: row.try_get("cause_detail")?,
        final_status: status_column(row, "final_status")?,
        legs: Vec::new(),
    })
}

fn leg_of_row(row: &SqliteRow) -> Result<CdrLeg, StoreError> {
    let ended_by: Option<String> = row.try_get("ended_by")?;
    Ok(CdrLeg {
        leg: text_column(row, "leg")?,
        sip_call_id: row.try_get("sip_call_id")?,
        from_uri: row.try_get("from_uri")?,
        to_uri: row.try_get("to_uri")?,
        remote_addr: row.try_get("remote_addr")?,
        transport: row.try_get("transport")?,
        started_at: time_column(row, "started_at")?,
        answered_at: time_column(row, "answered_at")?,
        ended_at: time_column(row, "ended_at")?,
        final_status: status_column(row, "final_status")?,
        ended_by: ended_by.map(|t| parse_text("ended_by", &t)).transpose()?,
    })
}

fn text_column<T: FromStr>(row: &SqliteRow, column: &'static str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    parse_text(column, &text)
}

fn parse_text<T: FromStr>(column: &'static str, text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        column,
        value: text.to_owned(),
    })
}

fn time_column(row: &SqliteRow, column: &'static str) -> Result<Option<Timestamp>, StoreError> {
    let ms: Option<i64> = row.try_get(column)?;
    Ok(ms.map(Timestamp::from_unix_ms))
}

/// A SIP status code: anything outside `u16` was not written by this crate.
fn status_column(row: &SqliteRow, column: &'static str) -> Result<Option<u16>, StoreError> {
    let code: Option<i64> = row.try_get(column)?;
    code.map(|c| {
        u16::try_from(c).map_err(|_| StoreError::Corrupt {
            column,
            value: c.to_string(),
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests;
