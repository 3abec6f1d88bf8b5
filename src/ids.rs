//! The identifiers that cross the store and chain boundaries, as types of their own: an epoch cannot be passed
//! where a deposit id is expected, and a transaction's purpose is one of two values, not any string. Each is
//! stored through sqlx's own traits, so a stored value that is not one (a negative epoch, an unknown purpose, a
//! claim id that is not a number) fails to decode, and the store reports it as corrupt.

use std::fmt;

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Type};

type ArgumentBuffer = <Any as sqlx::Database>::ArgumentBuffer;

/// A `u64` identifier stored as a non-negative `BIGINT`.
macro_rules! u64_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<u64> for $name {
            fn from(value: u64) -> Self {
                Self(value)
            }
        }

        impl From<$name> for u64 {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl Type<Any> for $name {
            fn type_info() -> AnyTypeInfo {
                <i64 as Type<Any>>::type_info()
            }
        }

        impl Encode<'_, Any> for $name {
            fn encode_by_ref(&self, buf: &mut ArgumentBuffer) -> Result<IsNull, BoxDynError> {
                let value = i64::try_from(self.0).map_err(|_| format!("{} {} exceeds a BIGINT", stringify!($name), self.0))?;
                <i64 as Encode<Any>>::encode(value, buf)
            }
        }

        impl<'r> Decode<'r, Any> for $name {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                let stored = <i64 as Decode<Any>>::decode(value)?;
                u64::try_from(stored).map(Self).map_err(|_| format!("negative {} {stored}", stringify!($name)).into())
            }
        }
    };
}

u64_id!(
    /// An epoch: the sequence number of a certified batch (and of its commitment and net orders).
    Epoch
);

u64_id!(
    /// The escrow's id of a deposit (`Deposited.depositId`).
    DepositId
);

impl Epoch {
    /// The epoch before this one (`None` for epoch 0).
    pub fn previous(self) -> Option<Self> {
        self.0.checked_sub(1).map(Self)
    }

    /// The epoch after this one.
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }

    /// The largest epoch a store can hold (its columns are signed 64-bit): no batch, attestation or commitment
    /// exists above it, so a request for one is answered "not found", never a database error.
    pub const MAX_STORED: Self = Self(i64::MAX as u64);

    /// An epoch as a URL path names it: decimal digits only, no sign, no leading zero (`+1` and `0001` are not
    /// epoch 1: one epoch has one name, so a cache or a log never sees two). `Ok(None)` for a number above
    /// [`Epoch::MAX_STORED`].
    pub fn parse_path(text: &str) -> Result<Option<Self>, String> {
        let canonical = !text.is_empty()
            && text.len() <= 20
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        let refused = || format!("epoch {:?} is not a decimal number without sign or leading zeros", quote(text));
        let value: u64 = match canonical {
            true => text.parse().map_err(|_| refused())?,
            false => return Err(refused()),
        };
        Ok((value <= Self::MAX_STORED.0).then_some(Self(value)))
    }
}

/// At most 64 bytes of `text`, for an error message about untrusted input.
fn quote(text: &str) -> &str {
    let mut end = text.len().min(64);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A withdrawal claim's id, unique across epochs; stored as its decimal text (it is a `uint256` on chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClaimId(pub U256);

impl fmt::Display for ClaimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<U256> for ClaimId {
    fn from(value: U256) -> Self {
        Self(value)
    }
}

impl Type<Any> for ClaimId {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

impl Encode<'_, Any> for ClaimId {
    fn encode_by_ref(&self, buf: &mut ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Any>>::encode(self.0.to_string(), buf)
    }
}

impl<'r> Decode<'r, Any> for ClaimId {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Any>>::decode(value)?;
        U256::from_str_radix(text, 10).map(Self).map_err(|e| format!("claim id {text:?}: {e}").into())
    }
}

/// What a relayer transaction is for: each epoch has at most one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// `StateCommitment.commit`: the epoch's state root.
    Commit,
    /// `MycoBondingCurve.settleEpoch`: the epoch's net orders.
    Settle,
    /// `StateCommitment.revoke`: the guardian auditor retiring a wrong commitment inside its window.
    Revoke,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 3] = [Purpose::Commit, Purpose::Settle, Purpose::Revoke];

    /// Its stored and logged name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Commit => "commit",
            Purpose::Settle => "settle",
            Purpose::Revoke => "revoke",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Purpose {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| format!("unknown purpose {s:?}"))
    }
}

crate::store::columns::text_enum!(Purpose);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_by_name_and_refuse_others() {
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse::<Purpose>(), Ok(p));
        }
        assert!("Commit".parse::<Purpose>().is_err());
        assert_eq!(serde_json::to_string(&Purpose::Settle).unwrap(), "\"settle\"");
    }

    #[test]
    fn an_epoch_in_a_path_has_one_name() {
        assert_eq!(Epoch::parse_path("1"), Ok(Some(Epoch(1))));
        assert_eq!(Epoch::parse_path("0"), Ok(Some(Epoch(0))));
        for other in ["+1", "0001", "01", "", "-1", " 1", "1e3", "0x1", "18446744073709551616"] {
            assert!(Epoch::parse_path(other).is_err(), "{other:?}");
        }
        assert_eq!(Epoch::parse_path(&i64::MAX.to_string()), Ok(Some(Epoch::MAX_STORED)));
        assert_eq!(Epoch::parse_path(&(1u64 << 63).to_string()), Ok(None));
        assert_eq!(Epoch::parse_path(&u64::MAX.to_string()), Ok(None));
    }

    #[test]
    fn epochs_step_and_print_as_numbers() {
        assert_eq!(Epoch(0).previous(), None);
        assert_eq!(Epoch(4).previous(), Some(Epoch(3)));
        assert_eq!(Epoch(4).next().to_string(), "5");
        assert_eq!(serde_json::to_string(&Epoch(7)).unwrap(), "7");
    }
}
