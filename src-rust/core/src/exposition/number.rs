//! Float formatting identical to prometheus_client's: Python's `repr(float)` and its
//! `floatToGoString` (Go switches to exponent notation sooner than Python does), written
//! straight into the output buffer without allocating.
//!
//! A value is first reduced to its shortest round-trip decimal digits and the position of
//! the decimal point; the layout rules of Python and Go are then applied to those.
//! - Integral values below 1e16 (bucket counts, most counters) take an integer path:
//!   their shortest digits are their integer digits. Below 2^53 that is exact; from 2^53
//!   to 1e16 the spacing of doubles is 2, so of the integers within half a spacing only
//!   the value itself can end in a zero, and no shorter string reads back as it.
//! - Every other value gets its digits from `zmij` (Schubfach), which picks, like
//!   Python's repr, the shortest digits that read back as the value, the closest of those
//!   to it, and the even one of two equally close. The Python test
//!   `tests/core/test_float_format.py` checks this against `repr` and `floatToGoString`
//!   on a 640,000-value corpus (random bit patterns, decimal literals, counts,
//!   timestamps, neighbours of powers of ten and two, subnormals, and exact ties, where
//!   the standard library's `{:e}` picks the other digit). zmij took half of ryu's time
//!   per `_created` timestamp, with the same digits.

/// The longest text any layout below writes (sign, 17 digits, point, zero padding to
/// the 16th place or `e-308`); room to spare.
const MAX_TEXT: usize = 40;

/// Shortest round-trip digits of a finite, positive value: `0.DIGITS * 10^point`.
struct Decimal {
    digits: [u8; 24],
    len: u8,
    point: i32,
}

impl Decimal {
    fn digits(&self) -> &[u8] {
        &self.digits[..usize::from(self.len)]
    }

    /// `value` must be finite and greater than zero.
    fn of(value: f64) -> Decimal {
        if value < 1e16 && value.fract() == 0.0 {
            Decimal::of_integer(value as u64)
        } else {
            Decimal::of_shortest(value)
        }
    }

    /// `value` must be greater than zero.
    fn of_integer(value: u64) -> Decimal {
        let mut text = itoa::Buffer::new();
        let text = text.format(value).as_bytes();
        // At most 20 digits.
        let len = text.len() as u8;
        let mut decimal = Decimal {
            digits: [0; 24],
            len,
            point: i32::from(len),
        };
        decimal.digits[..text.len()].copy_from_slice(text);
        decimal.trim_trailing_zeros();
        decimal
    }

    fn of_shortest(value: f64) -> Decimal {
        let mut buffer = zmij::Buffer::new();
        let text = buffer.format_finite(value).as_bytes();
        let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
            Some(e) => (&text[..e], parse_exponent(&text[e + 1..])),
            None => (text, 0),
        };
        // zmij writes `123.25`, `0.00015`, `1230.0`, `1.5` (before an exponent) or `5`.
        let mut decimal = Decimal {
            digits: [0; 24],
            len: 0,
            point: 0,
        };
        let mut integer_digits = None;
        let mut leading_zeros = 0;
        for &byte in mantissa {
            if byte == b'.' {
                integer_digits = Some(i32::from(decimal.len) + leading_zeros);
            } else if byte == b'0' && decimal.len == 0 {
                leading_zeros += 1;
            } else {
                decimal.digits[usize::from(decimal.len)] = byte;
                decimal.len += 1;
            }
        }
        let integer_digits = integer_digits.unwrap_or(i32::from(decimal.len) + leading_zeros);
        decimal.point = integer_digits - leading_zeros + exponent;
        decimal.trim_trailing_zeros();
        decimal
    }

    fn trim_trailing_zeros(&mut self) {
        while self.len > 1 && self.digits[usize::from(self.len) - 1] == b'0' {
            self.len -= 1;
        }
    }
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i32, |n, &d| n * 10 + i32::from(d - b'0'));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// A small stack buffer the layouts write into before one append to the output.
struct Text {
    bytes: [u8; MAX_TEXT],
    len: usize,
}

impl Text {
    fn new() -> Self {
        Text {
            bytes: [0; MAX_TEXT],
            len: 0,
        }
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    fn extend(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn zeros(&mut self, count: usize) {
        self.bytes[self.len..self.len + count].fill(b'0');
        self.len += count;
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Lays out `sign` and `decimal` in fixed notation when the decimal point falls in
/// `(-4, max_fixed_point]`, otherwise as `d.ddde±XX` (Python's repr: `max_fixed_point`
/// 16; Go's formatting of positive values: 6).
fn write_layout(out: &mut Vec<u8>, negative: bool, decimal: &Decimal, max_fixed_point: i32) {
    let mut text = Text::new();
    if negative {
        text.push(b'-');
    }
    let digits = decimal.digits();
    let point = decimal.point;
    if -4 < point && point <= max_fixed_point {
        if point <= 0 {
            text.extend(b"0.");
            text.zeros(point.unsigned_abs() as usize);
            text.extend(digits);
        } else {
            let point = point as usize;
            if point >= digits.len() {
                text.extend(digits);
                text.zeros(point - digits.len());
                text.extend(b".0");
            } else {
                text.extend(&digits[..point]);
                text.push(b'.');
                text.extend(&digits[point..]);
            }
        }
    } else {
        text.push(digits[0]);
        if digits.len() > 1 {
            text.push(b'.');
            text.extend(&digits[1..]);
        }
        let exponent = point - 1;
        text.extend(if exponent < 0 { b"e-" } else { b"e+" });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            text.push(b'0');
        }
        text.extend(itoa::Buffer::new().format(magnitude).as_bytes());
    }
    out.extend_from_slice(text.as_bytes());
}

/// Appends Python's `repr(value)`: shortest round-trip digits, fixed notation when the
/// decimal exponent is in [-4, 16), otherwise `d.ddde+XX`.
pub fn write_python_repr(out: &mut Vec<u8>, value: f64) {
    if let Some(special) = special(value, b"nan", b"inf", b"-inf") {
        out.extend_from_slice(special);
    } else {
        write_layout(out, value.is_sign_negative(), &Decimal::of(value.abs()), 16);
    }
}

/// Appends prometheus_client's `floatToGoString(value)`: Python's repr, except that
/// positive values from 1e6 up switch to exponent notation (`1.5e+06`) as Go does, and
/// the infinities and NaN are `+Inf`, `-Inf` and `NaN`.
pub fn write_go_float(out: &mut Vec<u8>, value: f64) {
    if value > 0.0 && value < 1e6 && value.fract() == 0.0 {
        write_go_count(out, value as u64);
    } else if let Some(special) = special(value, b"NaN", b"+Inf", b"-Inf") {
        out.extend_from_slice(special);
    } else {
        let negative = value.is_sign_negative();
        let max_fixed_point = if negative || value == 0.0 { 16 } else { 6 };
        write_layout(out, negative, &Decimal::of(value.abs()), max_fixed_point);
    }
}

/// Appends `floatToGoString(float(count))`, as prometheus_client prints bucket counts.
pub fn write_go_count(out: &mut Vec<u8>, count: u64) {
    const EXACT: u64 = 1 << 53;
    if count < 1_000_000 {
        // Six digits or fewer: Python's repr and Go agree on `123.0`.
        out.extend_from_slice(itoa::Buffer::new().format(count).as_bytes());
        out.extend_from_slice(b".0");
    } else if count < EXACT {
        write_layout(out, false, &Decimal::of_integer(count), 6);
    } else {
        write_go_float(out, count as f64);
    }
}

/// Zero and the values with no digits: `Some` of their text, `None` for the others.
fn special(
    value: f64,
    nan: &'static [u8],
    inf: &'static [u8],
    minus_inf: &'static [u8],
) -> Option<&'static [u8]> {
    if value.is_nan() {
        Some(nan)
    } else if value.is_infinite() {
        Some(if value > 0.0 { inf } else { minus_inf })
    } else if value == 0.0 {
        Some(if value.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::*;

    fn repr(v: f64) -> String {
        let mut s = Vec::new();
        write_python_repr(&mut s, v);
        String::from_utf8(s).unwrap()
    }

    fn go(v: f64) -> String {
        let mut s = Vec::new();
        write_go_float(&mut s, v);
        String::from_utf8(s).unwrap()
    }

    fn go_count(n: u64) -> String {
        let mut s = Vec::new();
        write_go_count(&mut s, n);
        String::from_utf8(s).unwrap()
    }

    #[test]
    fn matches_python_repr() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-4, "0.0001"),
            (1.5e-4, "0.00015"),
            (1e-5, "1e-05"),
            (1.234e-5, "1.234e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (9_007_199_254_740_994.0, "9007199254740994.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123_456_789.125, "123456789.125"),
            (-2.5, "-2.5"),
            (1e100, "1e+100"),
            (1.797_693_134_862_315_7e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (2.225_073_858_507_201e-308, "2.225073858507201e-308"),
            (1_764_331_234.567_8, "1764331234.5678"),
            // A tie between two shortest candidates: Python rounds half to even.
            (549_755_813_888.0 + 29.0 / 32.0, "549755813888.9062"),
            // 2^-24: the even candidate ...062 would read back as another double.
            (5.960_464_477_539_063e-8, "5.960464477539063e-08"),
            (0.5, "0.5"),
            (9.5, "9.5"),
            (1230.0, "1230.0"),
            (-1230.5, "-1230.5"),
        ];
        for (v, want) in cases {
            assert_eq!(repr(v), want, "repr of {v:e}");
        }
    }

    #[test]
    fn matches_float_to_go_string() {
        let cases = [
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (0.005, "0.005"),
            (1.0, "1.0"),
            (123_456.0, "123456.0"),
            (999_999.5, "999999.5"),
            (1_234_567.0, "1.234567e+06"),
            (1_000_000.0, "1e+06"),
            (1_764_331_234.567_8, "1.7643312345678e+09"),
            (12_345_678_901.5, "1.23456789015e+10"),
            (-1_234_567.0, "-1234567.0"),
            (1e15, "1e+15"),
            (1e16, "1e+16"),
            (10_000_000.5, "1.00000005e+07"),
            (-0.0, "-0.0"),
        ];
        for (v, want) in cases {
            assert_eq!(go(v), want, "floatToGoString of {v:e}");
        }
    }

    #[test]
    fn counts_print_as_their_float() {
        let cases = [
            (0, "0.0"),
            (7, "7.0"),
            (999_999, "999999.0"),
            (1_000_000, "1e+06"),
            (1_250_000, "1.25e+06"),
            ((1 << 53) + 1, "9.007199254740992e+15"),
            (u64::MAX, "1.8446744073709552e+19"),
        ];
        for (n, want) in cases {
            assert_eq!(go_count(n), want, "floatToGoString(float({n}))");
        }
    }

    /// The formatter this module replaced, built on the standard library's `{:e}` with a
    /// tie fix; it matched Python on the property tests, so the two must agree wherever
    /// both are defined.
    fn reference_repr(value: f64) -> String {
        if value.is_nan() {
            return "nan".into();
        }
        if value.is_infinite() {
            return if value > 0.0 { "inf" } else { "-inf" }.into();
        }
        let mut out = String::new();
        if value.is_sign_negative() {
            out.push('-');
        }
        let abs = value.abs();
        let shortest = format!("{abs:e}");
        let split = |s: &str| {
            let (m, e) = s.split_once('e').unwrap();
            let d: String = m.chars().filter(char::is_ascii_digit).collect();
            (d, e.parse::<i32>().unwrap())
        };
        let (digits, _) = split(&shortest);
        let even = format!("{abs:.*e}", digits.len() - 1);
        let (digits, exponent) = if even.parse::<f64>() == Ok(abs) {
            split(&even)
        } else {
            split(&shortest)
        };
        let point = exponent + 1;
        if -4 < point && point <= 16 {
            if point <= 0 {
                out.push_str("0.");
                out.push_str(&"0".repeat(point.unsigned_abs() as usize));
                out.push_str(&digits);
            } else if point as usize >= digits.len() {
                out.push_str(&digits);
                out.push_str(&"0".repeat(point as usize - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point as usize]);
                out.push('.');
                out.push_str(&digits[point as usize..]);
            }
        } else {
            out.push_str(&digits[..1]);
            if digits.len() > 1 {
                out.push('.');
                out.push_str(&digits[1..]);
            }
            let sign = if exponent < 0 { '-' } else { '+' };
            let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
        }
        out
    }

    /// prometheus_client's `floatToGoString`, line for line, over the reference repr.
    fn reference_go(value: f64) -> String {
        if value == f64::INFINITY {
            return "+Inf".into();
        } else if value == f64::NEG_INFINITY {
            return "-Inf".into();
        } else if value.is_nan() {
            return "NaN".into();
        }
        let s = reference_repr(value);
        match s.find('.') {
            Some(dot) if value > 0.0 && dot > 6 => {
                let mantissa = format!("{}.{}{}", &s[..1], &s[1..dot], &s[dot + 1..]);
                format!("{}e+{:02}", mantissa.trim_end_matches(['0', '.']), dot - 1)
            }
            _ => s,
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "a million formatting rounds")]
    fn agrees_with_the_reference_on_random_bit_patterns() {
        // xorshift64*: a fixed, dependency-free stream of bit patterns.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for i in 0..1_000_000u32 {
            let bits = next();
            let value = match i % 4 {
                0 => f64::from_bits(bits),
                // Values of everyday magnitude with few significant digits, and counts.
                1 => (bits % 10_000_000_000) as f64 / 10f64.powi((bits >> 61) as i32),
                // Timestamps with sub-second parts, as `_created` carries.
                2 => 1.7e9 + (bits % 100_000_000_000) as f64 / 1e6,
                // Exactly representable values whose decimal expansions end in 5.
                _ => (bits >> 11) as f64 / f64::from(1u32 << ((bits & 15) + 1)),
            };
            assert_eq!(
                repr(value),
                reference_repr(value),
                "bits {:#x}",
                value.to_bits()
            );
            assert_eq!(
                go(value),
                reference_go(value),
                "bits {:#x}",
                value.to_bits()
            );
            if (0.0..1.8e19).contains(&value) && value.fract() == 0.0 {
                assert_eq!(go_count(value as u64), reference_go(value), "count {value}");
            }
        }
    }
}
