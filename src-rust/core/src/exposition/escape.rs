//! Escaping for label values and HELP text, as prometheus_client does it.

/// Label values (both formats) and OpenMetrics HELP: backslash, newline, double quote.
pub fn write_escaped_quoted(out: &mut Vec<u8>, text: &str) {
    write_escaped(out, text, b"\\\n\"");
}

/// Prometheus text 0.0.4 HELP: backslash and newline only.
pub fn write_escaped_help(out: &mut Vec<u8>, text: &str) {
    write_escaped(out, text, b"\\\n");
}

/// Copies `text`, with a backslash before each of `special` (a newline as `\n`). The
/// special characters are ASCII, so scanning bytes never splits a UTF-8 sequence.
fn write_escaped(out: &mut Vec<u8>, text: &str, special: &[u8]) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if special.contains(&byte) {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(match byte {
                b'\n' => b"\\n",
                b'\\' => b"\\\\",
                _ => b"\\\"",
            });
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut s = Vec::new();
        write_escaped_quoted(&mut s, "a\\b\n\"c\"ü");
        assert_eq!(s, r#"a\\b\n\"c\"ü"#.as_bytes());
        let mut h = Vec::new();
        write_escaped_help(&mut h, "a\\b\n\"c\"");
        assert_eq!(h, r#"a\\b\n"c""#.as_bytes());
    }
}
