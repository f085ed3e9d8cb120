//! Float formatting identical to prometheus_client's: Python's `repr(float)` and its
//! `floatToGoString` (Go switches to exponent notation sooner than Python does).

use std::fmt::Write;

/// Appends Python's `repr(value)`: shortest round-trip digits, fixed notation when the
/// decimal exponent is in [-4, 16), otherwise `d.ddde+XX`.
pub fn write_python_repr(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("nan");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if value.is_sign_negative() {
        out.push('-');
    }
    let (digits, exponent) = shortest_digits(value.abs());
    // `point` is where the decimal point goes relative to the start of `digits`.
    let point = exponent + 1;
    if -4 < point && point <= 16 {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if point >= digits.len() {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
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
}

/// Appends prometheus_client's `floatToGoString(value)`.
pub fn write_go_float(out: &mut String, value: f64) {
    if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else if value.is_nan() {
        out.push_str("NaN");
    } else {
        let start = out.len();
        write_python_repr(out, value);
        let repr = &out[start..];
        let Some(dot) = repr.find('.') else {
            return;
        };
        if value > 0.0 && dot > 6 {
            let mut mantissa = String::with_capacity(repr.len());
            mantissa.push_str(&repr[..1]);
            mantissa.push('.');
            mantissa.push_str(&repr[1..dot]);
            mantissa.push_str(&repr[dot + 1..]);
            let trimmed = mantissa.trim_end_matches(['0', '.']);
            let rewritten = format!("{trimmed}e+{:02}", dot - 1);
            out.truncate(start);
            out.push_str(&rewritten);
        }
    }
}

/// The shortest round-trip decimal digits of a finite non-negative `value` and the
/// decimal exponent of the first digit (`1.5e3` -> ("15", 3)).
///
/// Rust's `{:e}` finds how many digits are needed, but when two candidates of that
/// length are equally close to the value it may pick the upper one (549755813888.90625
/// prints as ...9063) where Python rounds half to even (...9062). Re-formatting exactly
/// at that length with `{:.N$e}` rounds half to even; that candidate is used when it
/// still reads back as the same double (next to a power of two only one may).
fn shortest_digits(value: f64) -> (String, i32) {
    let shortest = format!("{value:e}");
    let (digits, _) = split_exponent(&shortest);
    let even = format!("{value:.*e}", digits.len() - 1);
    if even.parse::<f64>() == Ok(value) {
        split_exponent(&even)
    } else {
        split_exponent(&shortest)
    }
}

fn split_exponent(formatted: &str) -> (String, i32) {
    let (mantissa, exponent) = formatted.split_once('e').unwrap_or((formatted, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(v: f64) -> String {
        let mut s = String::new();
        write_python_repr(&mut s, v);
        s
    }

    fn go(v: f64) -> String {
        let mut s = String::new();
        write_go_float(&mut s, v);
        s
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
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123_456_789.125, "123456789.125"),
            (-2.5, "-2.5"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (1_764_331_234.567_8, "1764331234.5678"),
            // A tie between two shortest candidates: Python rounds half to even.
            (549_755_813_888.0 + 29.0 / 32.0, "549755813888.9062"),
            // 2^-24: the even candidate ...062 would read back as another double.
            (5.960_464_477_539_063e-8, "5.960464477539063e-08"),
            (0.5, "0.5"),
            (9.5, "9.5"),
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
            (1_234_567.0, "1.234567e+06"),
            (1_000_000.0, "1e+06"),
            (1_764_331_234.567_8, "1.7643312345678e+09"),
            (-1_234_567.0, "-1234567.0"),
            (1e16, "1e+16"),
            (10_000_000.5, "1.00000005e+07"),
        ];
        for (v, want) in cases {
            assert_eq!(go(v), want, "floatToGoString of {v:e}");
        }
    }
}
