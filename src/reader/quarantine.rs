//! Rejected input, kept with its reason under the store's bounds (see `store::quarantine`: a few per origin, epoch
//! and reason, and a bounded total per source and overall), logged when kept and as the count of further
//! rejections of the same kind doubles.

use crate::ingest;
use crate::store::{Pool, quarantine};
use crate::{Error, Result};

/// Keeps rejected input with its reason: the first few of each kind per origin and epoch (whole if
/// `certified`, else its first bytes); later ones of that kind are counted. Logged when kept, and as the count doubles.
pub(super) async fn keep(
    pool: &Pool,
    origin: &str,
    epoch: u64,
    error: &impl Reason,
    raw: &[u8],
    certified: bool,
) -> Result<()> {
    let (reason, detail) = (error.reason(), error.to_string());
    let rejected = quarantine::Rejected { source: origin, epoch: Some(epoch), reason, detail: &detail, raw, certified };
    match quarantine::record(pool, &rejected, &quarantine::Budget::default()).await? {
        quarantine::Recorded::Kept => {
            tracing::warn!(epoch, %origin, reason, error = %detail, "batch rejected and quarantined");
        }
        quarantine::Recorded::Counted(n) if n.is_power_of_two() => {
            tracing::warn!(epoch, %origin, reason, repeats = n, "more rejected input of this kind; counted, not kept");
        }
        quarantine::Recorded::NoRoom => {
            tracing::warn!(epoch, %origin, reason, error = %detail,
                "batch rejected; not kept: the quarantine's room for its source is full of certified evidence");
        }
        quarantine::Recorded::Counted(_) | quarantine::Recorded::Known => {}
    }
    Ok(())
}

/// An error that can be quarantined under a stable reason code.
pub(super) trait Reason: std::fmt::Display {
    fn reason(&self) -> &'static str;
}

impl Reason for ingest::Error {
    fn reason(&self) -> &'static str {
        ingest::Error::reason(self)
    }
}

impl Reason for Error {
    fn reason(&self) -> &'static str {
        match self {
            Error::Ingest(e) => e.reason(),
            _ => "internal",
        }
    }
}
