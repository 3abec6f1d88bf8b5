//! How the store's column types decode: the chain's values (`U256` as decimal text, hashes and addresses as
//! fixed-size blobs) as sqlx types, so a row reads into a `FromRow` struct with `try_get`, and a value that
//! does not decode (a hand-edited or truncated column) becomes [`Error::Corrupt`] naming table and column,
//! never a panic.

use alloy::primitives::{Address, B256, U256};
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, Type};

use super::Error;

/// A `uint256` stored as its decimal text (both backends compare and store it exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decimal(pub U256);

/// A 32-byte hash stored as a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hash(pub B256);

/// A 20-byte address stored as a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Addr(pub Address);

/// A non-negative `BIGINT` read as `u64` (block numbers, counts, gas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unsigned(pub u64);

impl Type<Any> for Decimal {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

impl<'r> Decode<'r, Any> for Decimal {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Any>>::decode(value)?;
        U256::from_str_radix(text, 10).map(Self).map_err(|e| format!("{e}: {text:?}").into())
    }
}

fn blob<const N: usize>(value: AnyValueRef<'_>) -> Result<[u8; N], BoxDynError> {
    let bytes = <&[u8] as Decode<Any>>::decode(value)?;
    bytes.try_into().map_err(|_| format!("{} bytes, expected {N}", bytes.len()).into())
}

impl Type<Any> for Hash {
    fn type_info() -> AnyTypeInfo {
        <Vec<u8> as Type<Any>>::type_info()
    }
}

impl<'r> Decode<'r, Any> for Hash {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        blob::<32>(value).map(|b| Self(B256::from(b)))
    }
}

impl Type<Any> for Addr {
    fn type_info() -> AnyTypeInfo {
        <Vec<u8> as Type<Any>>::type_info()
    }
}

impl<'r> Decode<'r, Any> for Addr {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        blob::<20>(value).map(|b| Self(Address::from(b)))
    }
}

impl Type<Any> for Unsigned {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }
}

impl<'r> Decode<'r, Any> for Unsigned {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let stored = <i64 as Decode<Any>>::decode(value)?;
        u64::try_from(stored).map(Self).map_err(|_| format!("negative value {stored}").into())
    }
}

/// Stores an enum as its name: implements sqlx's `Type`, `Encode` and `Decode` for a type with `as_str()` and a
/// `FromStr` whose error is a `String` (an unknown stored name fails to decode).
macro_rules! text_enum {
    ($ty:ty) => {
        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl sqlx::Encode<'_, sqlx::Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $ty {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<&str as sqlx::Decode<sqlx::Any>>::decode(value)?.parse::<$ty>()?)
            }
        }
    };
}
pub(crate) use text_enum;

/// Turns sqlx's failure to decode a row of `table` into [`Error::Corrupt`]; other failures stay database errors.
pub(crate) fn decoding(table: &'static str) -> impl Fn(sqlx::Error) -> Error {
    move |e| match e {
        sqlx::Error::ColumnDecode { index, source } => {
            Error::Corrupt { table, column: index.trim_matches('"').to_string(), reason: source.to_string() }
        }
        sqlx::Error::ColumnNotFound(column) => Error::Corrupt { table, column, reason: "missing".into() },
        sqlx::Error::Decode(source) => Error::Corrupt { table, column: "?".into(), reason: source.to_string() },
        other => Error::Database(other),
    }
}

#[cfg(test)]
mod tests {
    use sqlx::FromRow;

    use super::*;
    use crate::ids::{Epoch, Purpose};

    #[derive(Debug, FromRow)]
    struct Row {
        epoch: Epoch,
        purpose: Purpose,
        amount: Decimal,
        hash: Hash,
    }

    async fn read(values: &str) -> Result<Row, Error> {
        let pool = crate::store::connect("sqlite::memory:").await.unwrap();
        sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!("SELECT {values}")))
            .fetch_one(&pool)
            .await
            .map_err(decoding("t"))
    }

    #[tokio::test]
    async fn rows_decode_into_types_and_a_mismatch_is_corrupt_not_a_panic() {
        let ok = read("7 AS epoch, 'commit' AS purpose, '12' AS amount, zeroblob(32) AS hash").await.unwrap();
        assert_eq!(
            (ok.epoch, ok.purpose, ok.amount.0, ok.hash.0),
            (Epoch(7), Purpose::Commit, U256::from(12), B256::ZERO)
        );
        let bad = [
            ("-1 AS epoch, 'commit' AS purpose, '1' AS amount, zeroblob(32) AS hash", "epoch"),
            ("'x' AS epoch, 'commit' AS purpose, '1' AS amount, zeroblob(32) AS hash", "epoch"),
            ("1 AS epoch, 'mint' AS purpose, '1' AS amount, zeroblob(32) AS hash", "purpose"),
            ("1 AS epoch, 'commit' AS purpose, '1e3' AS amount, zeroblob(32) AS hash", "amount"),
            ("1 AS epoch, 'commit' AS purpose, '1' AS amount, zeroblob(31) AS hash", "hash"),
        ];
        for (values, column) in bad {
            match read(values).await {
                Err(Error::Corrupt { table: "t", column: c, .. }) => assert_eq!(c, column, "{values}"),
                other => panic!("{values}: {other:?}"),
            }
        }
    }
}
