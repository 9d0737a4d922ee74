//! Call ids as PostgreSQL holds them: `text` (the type itself is the events' own,
//! [`crate::events::CallId`]: parsing makes it, and parsing knows nothing of databases).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use crate::events::CallId;

impl Type<Postgres> for CallId {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl PgHasArrayType for CallId {
    fn array_type_info() -> PgTypeInfo {
        <String as PgHasArrayType>::array_type_info()
    }

    fn array_compatible(ty: &PgTypeInfo) -> bool {
        <String as PgHasArrayType>::array_compatible(ty)
    }
}

impl Encode<'_, Postgres> for CallId {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'_, Postgres>>::encode_by_ref(&self.as_str(), buf)
    }

    fn size_hint(&self) -> usize {
        self.as_str().len()
    }
}

impl<'r> Decode<'r, Postgres> for CallId {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(CallId::new(<String as Decode<'r, Postgres>>::decode(
            value,
        )?))
    }
}
