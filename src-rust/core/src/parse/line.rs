//! One line of an exposition: a sample (name, labels, value, optional timestamp and
//! exemplars) or a `#` line split into its words. Quoting and escaping follow both text
//! formats: label values (and UTF-8 metric or label names) are double-quoted, with `\\`,
//! `\"` and `\n` as escapes; any other backslash is kept as it is, like prometheus_client.

use super::native::{parse_native_histogram, NativeHistogram};

/// The value of one sample: a number, or a whole native histogram.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    Number(f64),
    Native(NativeHistogram),
}

/// Label names and values, in the order of the exposition.
pub type Labels = Vec<(String, String)>;

/// One parsed sample line; timestamps and exemplars are checked and dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: SampleValue,
}

/// A byte cursor over one line.
pub(super) struct Cursor<'a> {
    line: &'a str,
    at: usize,
}

pub(super) fn is_legacy_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    is_legacy_name(name) && !name.contains(':')
}

impl<'a> Cursor<'a> {
    pub(super) fn new(line: &'a str) -> Self {
        Cursor { line, at: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.line[self.at..]
    }

    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.at).copied()
    }

    fn skip_blanks(&mut self) -> bool {
        let start = self.at;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
        self.at > start
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// A run of characters up to a blank, `{` or the end.
    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let end = rest.find([' ', '\t', '{']).unwrap_or(rest.len());
        self.at += end;
        &rest[..end]
    }

    /// A double-quoted string (the cursor on the opening quote), unescaped.
    pub(super) fn quoted(&mut self) -> Result<String, String> {
        if !self.eat(b'"') {
            return Err("expected a double-quoted string".into());
        }
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += offset + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, '"')) => out.push('"'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                other => out.push(other),
            }
        }
        Err("a quoted string is not closed".into())
    }

    /// `{name="value", ...}` (the cursor on `{`); a quoted term without `=` is the metric
    /// name, returned separately.
    fn labels(&mut self, strict: bool) -> Result<(Labels, Option<String>), String> {
        self.eat(b'{');
        let mut labels: Labels = Vec::new();
        let mut name = None;
        loop {
            if !strict {
                self.skip_blanks();
            }
            if self.eat(b'}') {
                return Ok((labels, name));
            }
            let label = if self.peek() == Some(b'"') {
                self.quoted()?
            } else {
                let rest = self.rest();
                let end = rest.find(['=', ',', '}', ' ', '\t']).unwrap_or(rest.len());
                self.at += end;
                let label = &rest[..end];
                if !is_label_name(label) {
                    return Err(format!("invalid label name {label:?}"));
                }
                label.to_owned()
            };
            if !strict {
                self.skip_blanks();
            }
            if self.eat(b'=') {
                if !strict {
                    self.skip_blanks();
                }
                let value = self.quoted()?;
                if label == "__name__" {
                    name = Some(value);
                } else if labels.iter().any(|(existing, _)| *existing == label) {
                    return Err(format!("duplicate label name {label:?}"));
                } else {
                    labels.push((label, value));
                }
            } else if name.is_none() && labels.is_empty() {
                name = Some(label); // `{"metric.name", ...}`
            } else {
                return Err(format!("label {label:?} has no value"));
            }
            if !strict {
                self.skip_blanks();
            }
            if !self.eat(b',') {
                if self.eat(b'}') {
                    return Ok((labels, name));
                }
                return Err("expected ',' or '}' in the label set".into());
            }
        }
    }
}

/// A number as Prometheus writes them: decimal, exponent, `NaN`, `+Inf`, `-Inf`.
pub(super) fn parse_number(text: &str) -> Result<f64, String> {
    if text.is_empty() || text.contains('_') {
        return Err(format!("invalid number {text:?}"));
    }
    text.parse::<f64>()
        .map_err(|_| format!("invalid number {text:?}"))
}

/// Parse a sample line. `openmetrics` allows exemplars after `#`; `native` (a histogram
/// family in OpenMetrics) allows a `{count:...}` native histogram as the value.
pub(super) fn parse_sample(line: &str, openmetrics: bool, native: bool) -> Result<Sample, String> {
    let mut cursor = Cursor::new(line);
    let mut name = if cursor.peek() == Some(b'{') {
        String::new()
    } else {
        let word = cursor.word();
        if !is_legacy_name(word) {
            return Err(format!("invalid metric name {word:?}"));
        }
        word.to_owned()
    };
    if !openmetrics {
        // The text format allows blanks between the name and its labels.
        let name_end = cursor.at;
        cursor.skip_blanks();
        if cursor.peek() != Some(b'{') {
            cursor.at = name_end;
        }
    }
    let mut labels = Vec::new();
    if cursor.peek() == Some(b'{') {
        let (parsed, inner_name) = cursor.labels(openmetrics)?;
        labels = parsed;
        match (name.is_empty(), inner_name) {
            (true, Some(inner)) => name = inner,
            (true, None) => return Err("a sample without a metric name".into()),
            (false, Some(_)) => return Err("metric name given twice".into()),
            (false, None) => {}
        }
    }
    if !cursor.skip_blanks() {
        return Err("expected a blank before the value".into());
    }
    let value = if native && cursor.peek() == Some(b'{') {
        let rest = cursor.rest();
        let end = rest.find('}').ok_or("a native histogram is not closed")? + 1;
        cursor.at += end;
        SampleValue::Native(parse_native_histogram(&rest[..end])?)
    } else {
        SampleValue::Number(parse_number(cursor.word())?)
    };
    cursor.skip_blanks();
    if cursor.peek().is_some() && cursor.peek() != Some(b'#') {
        parse_number(cursor.word()).map_err(|e| format!("timestamp: {e}"))?;
        cursor.skip_blanks();
    }
    match cursor.peek() {
        None => {}
        Some(b'#') if openmetrics => exemplars(&mut cursor)?,
        Some(_) => return Err(format!("unexpected text {:?}", cursor.rest())),
    }
    Ok(Sample {
        name,
        labels,
        value,
    })
}

fn exemplars(cursor: &mut Cursor<'_>) -> Result<(), String> {
    while cursor.eat(b'#') {
        cursor.skip_blanks();
        if cursor.peek() != Some(b'{') {
            return Err("an exemplar needs a label set".into());
        }
        cursor.labels(true)?;
        if !cursor.skip_blanks() {
            return Err("an exemplar needs a value".into());
        }
        parse_number(cursor.word()).map_err(|e| format!("exemplar value: {e}"))?;
        cursor.skip_blanks();
        if cursor.peek().is_some() && cursor.peek() != Some(b'#') {
            parse_number(cursor.word()).map_err(|e| format!("exemplar timestamp: {e}"))?;
            cursor.skip_blanks();
        }
    }
    if cursor.peek().is_some() {
        return Err(format!("unexpected text {:?}", cursor.rest()));
    }
    Ok(())
}

/// A `#` line's keyword (`HELP`, `TYPE`, `UNIT`, ...), metric name (unquoted, checked)
/// and the rest of the line after one blank (the help text, type or unit).
pub(super) struct Metadata {
    pub keyword: String,
    pub name: String,
    pub rest: String,
}

/// The keyword of a `#` line: its first word.
pub(super) fn comment_keyword(line: &str) -> &str {
    let rest = line
        .strip_prefix('#')
        .unwrap_or(line)
        .trim_start_matches([' ', '\t']);
    rest.split([' ', '\t']).next().unwrap_or("")
}

pub(super) fn parse_metadata(line: &str) -> Result<Metadata, String> {
    let mut cursor = Cursor::new(line);
    cursor.eat(b'#');
    cursor.skip_blanks();
    let keyword = cursor.word().to_owned();
    if !cursor.skip_blanks() {
        return Err(format!("# {keyword} needs a metric name"));
    }
    let name = if cursor.peek() == Some(b'"') {
        cursor.quoted()?
    } else {
        let rest = cursor.rest();
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        cursor.at += end;
        let name = &rest[..end];
        if !is_legacy_name(name) {
            return Err(format!("invalid metric name {name:?}"));
        }
        name.to_owned()
    };
    // One separator, then the rest as it is (help text may hold any blanks).
    if !cursor.eat(b' ') {
        cursor.eat(b'\t');
    }
    Ok(Metadata {
        keyword,
        name,
        rest: cursor.rest().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(sample: &Sample) -> f64 {
        match sample.value {
            SampleValue::Number(value) => value,
            SampleValue::Native(_) => panic!("not a number"),
        }
    }

    #[test]
    fn samples_with_labels_escapes_and_timestamps() {
        let sample = parse_sample(r#"a_b{x="1\"\\\n",y="z"} 2.5 1700000000000"#, false, false)
            .expect("parses");
        assert_eq!(sample.name, "a_b");
        assert_eq!(
            sample.labels,
            vec![("x".into(), "1\"\\\n".into()), ("y".into(), "z".into())]
        );
        assert_eq!(number(&sample), 2.5);
        let bare = parse_sample("up +Inf", false, false).expect("parses");
        assert!(number(&bare).is_infinite());
        assert!(number(&parse_sample("x NaN", false, false).expect("parses")).is_nan());
    }

    #[test]
    fn quoted_utf8_names_and_exemplars() {
        let sample = parse_sample(
            r#"{"my.metric","la.bel"="v"} 1 # {trace_id="abc"} 0.5 123.4"#,
            true,
            false,
        )
        .expect("parses");
        assert_eq!(sample.name, "my.metric");
        assert_eq!(sample.labels, vec![("la.bel".into(), "v".into())]);
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        for (line, expected) in [
            ("1abc 1", "invalid metric name"),
            ("a{b=\"c} 1", "not closed"),
            ("a{b=\"c\"} x", "invalid number"),
            ("a{b=\"c\",b=\"d\"} 1", "duplicate label"),
            ("a 1 2 3", "unexpected text"),
            ("a 1_000", "invalid number"),
            ("a 1 # {x=\"y\"} 1", "unexpected text"),
        ] {
            let error = parse_sample(line, false, false).expect_err(line);
            assert!(error.contains(expected), "{line}: {error}");
        }
    }

    #[test]
    fn metadata_lines() {
        let help = parse_metadata("# HELP x_total Some  help text").expect("parses");
        assert_eq!(
            (help.keyword.as_str(), help.name.as_str()),
            ("HELP", "x_total")
        );
        assert_eq!(help.rest, "Some  help text");
        let quoted = parse_metadata(r#"# TYPE "a.b" counter"#).expect("parses");
        assert_eq!(
            (quoted.name.as_str(), quoted.rest.as_str()),
            ("a.b", "counter")
        );
        assert_eq!(comment_keyword("#   just a comment"), "just");
        assert!(parse_metadata("# TYPE 1x counter").is_err());
    }
}
