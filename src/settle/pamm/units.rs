//! Arithmetic at the anchor's own scale. The curve is defined on normalised quantities (the anchor supply
//! `y_a` is 1); a normalised quantity `q̂` is held as the integer `q = q̂·y_a`, i.e. in base units of the state
//! itself. Products and quotients carry their full 512-bit intermediates (`mulDiv`), so every operation is
//! exact to one base unit whatever the scale: the P-AMM is as precise at 10^12 MYCO of supply as at one MYCO.
//! (Holding `q̂` as a WAD instead keeps 18 digits, which at 10^9 MYCO shifts the curve by whole cents.)

use alloy::primitives::U256;

use crate::settle::fixed::{self, MathError, ONE, Result};

/// The scale: one normalised unit is `ya` base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Units {
    /// The anchor supply `y_a = x + y` (base units, > 0).
    pub ya: U256,
}

impl Units {
    /// `p̂·q̂` in units: `p·q / y_a`, rounded down.
    pub fn mul(&self, p: U256, q: U256) -> Result<U256> {
        fixed::mul_div(p, q, self.ya)
    }

    /// `p̂·q̂` in units, rounded up.
    pub fn mul_up(&self, p: U256, q: U256) -> Result<U256> {
        fixed::mul_div_up(p, q, self.ya)
    }

    /// `p̂/q̂` in units: `p·y_a / q`, rounded down.
    pub fn div(&self, p: U256, q: U256) -> Result<U256> {
        fixed::mul_div(p, self.ya, q)
    }

    /// The WAD constant `w` in units: `w·y_a / 1e18`, rounded down.
    pub fn constant(&self, w: U256) -> Result<U256> {
        fixed::mul_div(w, self.ya, ONE)
    }

    /// The WAD constant `w` in units, rounded up (never 0 for a positive `w`).
    pub fn constant_up(&self, w: U256) -> Result<U256> {
        fixed::mul_div_up(w, self.ya, ONE)
    }

    /// 1.0 in units.
    pub fn one(&self) -> U256 {
        self.ya
    }
}

/// `w·q / 1e18` (a WAD factor times a value in units), rounded down.
pub fn scale(w: U256, q: U256) -> Result<U256> {
    fixed::mul_div(w, q, ONE)
}

/// `w·q / 1e18`, rounded up.
pub fn scale_up(w: U256, q: U256) -> Result<U256> {
    fixed::mul_div_up(w, q, ONE)
}

/// `q / w` for a WAD `w` (`q·1e18 / w`), rounded down.
pub fn unscale(q: U256, w: U256) -> Result<U256> {
    if w.is_zero() {
        return Err(MathError::DivisionByZero);
    }
    fixed::mul_div(q, ONE, w)
}
