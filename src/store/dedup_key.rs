//! Dedup keys as PostgreSQL holds them: a `bytea` of 32 bytes (the type itself is the events'
//! own, [`crate::events::DedupKey`]: parsing computes it, and parsing knows nothing of databases).

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use sqlx::{Decode, Postgres, Type};

use crate::events::DedupKey;

/// Read from a `bytea` column; any length but 32 is an error.
impl Type<Postgres> for DedupKey {
    fn type_info() -> PgTypeInfo {
        <&[u8] as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&[u8] as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for DedupKey {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let bytes = <&[u8] as Decode<'r, Postgres>>::decode(value)?;
        Ok(DedupKey(bytes.try_into()?))
    }
}
