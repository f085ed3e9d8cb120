//! Escaping for label values and HELP text, as prometheus_client does it.

/// Label values (both formats) and OpenMetrics HELP: backslash, newline, double quote.
pub fn write_escaped_quoted(out: &mut String, text: &str) {
    if !text.contains(['\\', '\n', '"']) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Prometheus text 0.0.4 HELP: backslash and newline only.
pub fn write_escaped_help(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut s = String::new();
        write_escaped_quoted(&mut s, "a\\b\n\"c\"");
        assert_eq!(s, r#"a\\b\n\"c\""#);
        let mut h = String::new();
        write_escaped_help(&mut h, "a\\b\n\"c\"");
        assert_eq!(h, r#"a\\b\n"c""#);
    }
}
