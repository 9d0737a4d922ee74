//! PostgreSQL: the connection pool, migrations, readiness, and the append-only event log.

mod call_id;
mod dedup_key;
pub mod duplicates;
pub mod event_log;
pub mod filter_key;
pub mod health;
pub mod maintenance;
pub mod pool_runtime;
pub mod reads;
pub mod retention;

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseSettings;
pub use crate::events::DedupKey;
pub use reads::{QueryPools, ReadPools, ReplicaStatus};

/// The migrations in `migrations/`, built into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A pool that connects lazily: the service can start (and answer 503) while the database is down.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose_secret().parse()?;
    let options = options.application_name("calltrail");
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .connect_lazy_with(options))
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Ready = the database answers and every built-in migration has been applied.
pub async fn readiness(pool: &PgPool) -> Result<(), String> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => {
                    "migrations have not been applied".to_owned()
                }
                other => format!("database unreachable: {other}"),
            })?;
    match applied {
        Some(v) if v >= latest => Ok(()),
        _ => Err("migrations are pending".to_owned()),
    }
}

/// Whether an error means "the database is not there right now" (503, the sender retries) rather
/// than a fault in what we sent it.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            // Connection exceptions, insufficient resources, operator intervention, and the
            // transaction rollbacks (serialization failure, deadlock) that a retry resolves.
            let code = db.code().unwrap_or_default();
            ["08", "53", "57", "40"]
                .iter()
                .any(|class| code.starts_with(class))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::MIGRATOR;

    /// Every migration as it was released: SHA-384 of its file, as sqlx records it in
    /// `_sqlx_migrations`. A deployed database refuses to start once an applied migration's file
    /// has changed, so a schema change is always a new migration; a new one is added here with
    /// the checksum this test prints.
    const RELEASED: &[(i64, &str)] = &[
        (20261121000001, "3f824387936bf300961f874a1d80a716698f7ed11ff8c070e0dff89339d2d1d14503837c6e126937ac3c67f09541f69d"),
        (20261121000002, "4342a8cbab725dff0b9d2849652fdf8d4036fe2db427652c78c786b00129fbc1241fda388731ac3ecce29f3e28b8634e"),
        (20261122000001, "967b5db8d8f3c3c3d5adbfaac3c4b7650798630e3c13a312cf88de910dcea7b7c4b20d086d86dce873fc5e4a42e8b599"),
        (20261123000001, "d56c64c335d61c661d853ad076931af73b2559e493e8ddffe5812eee810ea23a058c5d20ca1c322d4a51f76908c929a9"),
        (20261124000001, "d20ec250970d2c339463c8f26d543f8cc744608dd46c6cc519c733e62a32601b5c22280c00cd18f4cea4ce3b1bb939c6"),
        (20261125000001, "56c6b91e5a22f9e2fad93874eb47ae93ce8f2b4173d5988422a4be53ff256529d9eb688d3337e59edadb38d63612325d"),
        (20261126000001, "bcd9c7630eceada7e661131f09efe908257a4da7cb4d788d6a229bb7eee279425441b68cd5f40d3280567f6c66677370"),
        (20261127000001, "a7e595367c153c5bd4ef163c4664aa6408a7e81cafcf213d563743dde41c6c65abdb942ccb909b6cff2e45d6000e0edc"),
        (20261204000001, "462c0ed692783b7a071bc7b869e4e2dad346ad0239f232a4e95cc561cb51819700f11eed2ccfdfb7ad21b7ff70fdfa3d"),
        (20261204000002, "214c96c46ddb9c902049b0a03f8276b419b24a029328ec5db685368ecfc31be76b4b1f0b899db83913aded2688332afe"),
        (20261204000003, "de3003ead44636eb3e80ce805848b34be5fa54a4dd3cab6155312376a87b19af87d6066146a83458af4c422512f5a0ad"),
        (20261204000010, "d5cebd6c2a633c40848d65f7968f7f630e69ee2177b926d7989236c0f2542f2ddd3cff5ce8b829085bb61d296e1ca0f4"),
        (20261204190001, "160cfcdfc01769b70334650966e9c325b98ac7744c2ead8f854d864969ce2b85d9d2d2f9d45862c1885831925685d6c1"),
        (20261204200001, "e9a230470d06560dcab365bb6b3dbef4f6f8a3442b9297d53b9e589586af8cf523f4df931d2c7ded066b44a6d44dbe67"),
        (20261205000001, "3743c7299fb8546978b449feea5b69586a571d0d35ab0fa2429b07c8ce68eaf0f9a96beb022c3b13fba93240e22d3867"),
        (20261205100001, "bfb4a69f7f3dbf9f761be031a9a159519224cb2693df608747ff61c8b4f5f801b2433e0b8dbf7b2674dc105c4923ad2b"),
        (20261205200001, "a69dc4a9ca0e626607eb648ecc830ad4747ca919fde8b3719e8d97b8256d33a5f7308bf729f51da668343eae44519aa4"),
        (20261205200002, "ef979656aad1e2734d352e3d352fcc147e8c08eaec52ca90fc1022a325e73facf495acccecc20d0155625622ffab71cc"),
    ];

    #[test]
    fn released_migrations_are_never_edited() {
        let embedded: Vec<(i64, String)> = MIGRATOR
            .iter()
            .map(|m| (m.version, hex::encode(&m.checksum)))
            .collect();
        let released: Vec<(i64, String)> = RELEASED
            .iter()
            .map(|(version, checksum)| (*version, (*checksum).to_owned()))
            .collect();
        assert_eq!(
            embedded, released,
            "a released migration was edited, or a new one is missing from RELEASED \
             (write schema changes as a new migration; add a new one with the checksum shown)"
        );
    }
}
