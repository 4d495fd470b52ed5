//! The PostgreSQL schema and its migrations, versioned in the database
//! (`console_schema`). A replica migrates inside one transaction that holds a
//! transaction-scoped advisory lock: replicas that start together wait for the first,
//! then find the schema current, so it is migrated once. A database whose schema is
//! newer than this binary knows is refused. Keys and namespaces sort by bytes
//! (`COLLATE "C"`), as on SQLite.

use crate::error::{Error, Result};

/// The advisory lock every migration holds (an arbitrary constant: "console" in ASCII).
const MIGRATION_LOCK: i64 = 0x0063_6f6e_736f_6c65;

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "CREATE TABLE workspaces (
        slug TEXT COLLATE \"C\" PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        -- The newest change-log number of the workspace, given under this row's lock.
        change_seq BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE doc_ids (
        id BIGSERIAL PRIMARY KEY,
        workspace TEXT COLLATE \"C\" NOT NULL,
        namespace TEXT COLLATE \"C\" NOT NULL,
        key TEXT COLLATE \"C\" NOT NULL,
        UNIQUE (workspace, namespace, key)
    );
    CREATE TABLE documents (
        id BIGINT PRIMARY KEY,
        workspace TEXT COLLATE \"C\" NOT NULL,
        namespace TEXT COLLATE \"C\" NOT NULL,
        key TEXT COLLATE \"C\" NOT NULL,
        value TEXT NOT NULL,
        version BIGINT NOT NULL,
        size_bytes BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL,
        expires_at BIGINT,
        UNIQUE (workspace, namespace, key)
    );
    CREATE INDEX documents_by_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE namespaces (
        workspace TEXT COLLATE \"C\" NOT NULL,
        namespace TEXT COLLATE \"C\" NOT NULL,
        docs BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (workspace, namespace)
    );
    CREATE TABLE history (
        doc BIGINT NOT NULL,
        version BIGINT NOT NULL,
        value TEXT NOT NULL,
        size_bytes BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (doc, version)
    );
    CREATE TABLE changes (
        workspace TEXT COLLATE \"C\" NOT NULL,
        seq BIGINT NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT,
        op TEXT NOT NULL,
        version BIGINT,
        at BIGINT NOT NULL,
        PRIMARY KEY (workspace, seq)
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        name TEXT NOT NULL,
        actor TEXT,
        read_only BOOLEAN NOT NULL,
        hash BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    -- Bumped by every revocation: replicas poll it to forget the keys they verified.
    CREATE TABLE key_revocations (
        only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
        generation BIGINT NOT NULL
    );
    INSERT INTO key_revocations (generation) VALUES (0);",
];

/// Brings the database's schema up to date, or refuses one newer than this binary's.
pub(super) fn migrate(client: &mut postgres::Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS console_schema (version INTEGER NOT NULL)")?;
    let version: i32 = match tx.query_opt("SELECT version FROM console_schema", &[])? {
        Some(r) => r.get(0),
        None => {
            tx.execute("INSERT INTO console_schema (version) VALUES (0)", &[])?;
            0
        }
    };
    let known = MIGRATIONS.len() as i32;
    if version > known {
        return Err(Error::internal(format!(
            "this PostgreSQL database was written by a newer console (schema {version}, this \
             one knows {known}); upgrade console"
        )));
    }
    for sql in MIGRATIONS.iter().skip(version as usize) {
        tx.batch_execute(sql)?;
    }
    if version < known {
        tx.execute("UPDATE console_schema SET version = $1", &[&known])?;
    }
    tx.commit()?;
    Ok(())
}
