//! Numbers as the program writes them: rounded once to the profile's decimals, always with a
//! decimal point (a Haas reads `X5` as `X0.0005`), never `-0.`.

/// Formats `value` rounded to `decimals` places, trailing zeros trimmed, point always kept.
///
/// `5.0 -> "5."`, `-0.0001 -> "0."`, `2.0005 -> "2.001"`. Haas-style controls read a number
/// without a point in least increments (`X5` = `X0.0005`), so the point is never dropped.
#[must_use]
pub fn number(value: f64, decimals: usize) -> String {
    Rounded::new(value, decimals).map_or_else(|| number_exactly(value, decimals), |r| r.to_string())
}

/// [`number`] by exact decimal formatting of `value`.
pub(super) fn number_exactly(value: f64, decimals: usize) -> String {
    let mut s = format!("{value:.decimals$}");
    if s.contains('.') {
        let kept = s.trim_end_matches('0').len();
        s.truncate(kept);
    } else {
        s.push('.');
    }
    if s == "-0." {
        s = "0.".into();
    }
    s
}

/// Powers of ten up to the most decimals a [`Rounded`] has.
pub(super) const POWERS: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// A number as the program writes it: a whole count of its last decimal place. Its text is
/// [`number`]'s, and [`Rounded::value`] is what the control reads from that text; equal
/// texts are equal `Rounded`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounded {
    pub(super) units: i64,
    pub(super) decimals: u8,
}

impl Rounded {
    /// `value` rounded to `decimals` (at most 9) places as [`number`] rounds it; `None` for NaN,
    /// infinities and counts beyond `i64`.
    #[must_use]
    pub fn new(value: f64, decimals: usize) -> Option<Self> {
        let scale = *POWERS.get(decimals)?;
        let units = units_quickly(value, scale).or_else(|| units_of(&number_exactly(value, decimals), decimals))?;
        Some(Self { units, decimals: u8::try_from(decimals).ok()? })
    }

    /// The value the control reads: the decimal number, to the nearest `f64`.
    #[must_use]
    pub fn value(self) -> f64 {
        if self.units.unsigned_abs() < 1 << 53 {
            // Both exact in f64, and the division is correctly rounded.
            self.units as f64 / POWERS[usize::from(self.decimals)]
        } else {
            self.to_string().parse().unwrap_or(f64::NAN)
        }
    }

    /// Appends the text to `out`.
    pub(super) fn push_to(self, out: &mut String) {
        let decimals = usize::from(self.decimals);
        // Digits, least significant first: at least one before the point.
        let mut digits = [b'0'; 24];
        let mut n = self.units.unsigned_abs();
        let mut len = 0;
        while n > 0 || len <= decimals {
            digits[len] = b'0' + (n % 10) as u8;
            n /= 10;
            len += 1;
        }
        let trimmed = digits[..decimals].iter().take_while(|&&d| d == b'0').count();
        if self.units < 0 {
            out.push('-');
        }
        out.extend(digits[decimals..len].iter().rev().map(|&d| char::from(d)));
        out.push('.');
        out.extend(digits[trimmed..decimals].iter().rev().map(|&d| char::from(d)));
    }
}

impl std::fmt::Display for Rounded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::with_capacity(24);
        self.push_to(&mut text);
        f.write_str(&text)
    }
}

/// Within this of a unit of a tie, [`units_quickly`] leaves the rounding to the exact
/// decimal text.
const NEAR_TIE: f64 = 1e-6;

/// The count of `1 / scale` nearest `value`; `None` where that could round otherwise than the
/// exact decimal value of `value` does (beyond 1e9 units, or within [`NEAR_TIE`] of a unit of a tie:
/// the product `value * scale` is off by under 1.2e-7 of a unit there), and [`Rounded::new`]
/// reads the count off the exact decimal text.
pub(super) fn units_quickly(value: f64, scale: f64) -> Option<i64> {
    let scaled = value * scale;
    if scaled.is_nan() || scaled.abs() >= 1e9 {
        return None;
    }
    let whole = scaled.round();
    if ((scaled - whole).abs() - 0.5).abs() < NEAR_TIE {
        return None;
    }
    // `whole` is an integer below 1e9 in magnitude: the cast is exact.
    Some(whole as i64)
}

/// The count of the last of `decimals` places in `text`, a decimal written by
/// [`number_exactly`]; `None` for anything else (NaN, infinities) or beyond `i64`.
pub(super) fn units_of(text: &str, decimals: usize) -> Option<i64> {
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (whole, fraction) = digits.split_once('.')?;
    if fraction.len() > decimals || !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut units: i64 = 0;
    let padding = std::iter::repeat_n(b'0', decimals - fraction.len());
    for b in whole.bytes().chain(fraction.bytes()).chain(padding) {
        units = units.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -units } else { units })
}
