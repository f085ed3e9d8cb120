//! The label part of a sample line, `{a="x",le="0.5",z="y"}`: names sorted, values
//! escaped, rendered once per child when it is created and copied into every scrape.
//!
//! Label names are legacy Prometheus names (`[a-zA-Z_][a-zA-Z0-9_]*`, checked at
//! construction), which every exposition format and escaping scheme writes unquoted and
//! unchanged, so one rendering serves the text and OpenMetrics formats alike.

use super::escape::write_escaped_quoted;
use crate::family::Descriptor;

/// One child's labels in exposition form: `a="x",z="y"` without braces, and the byte
/// offset where a bucket's `le` label sorts in.
pub struct SeriesLabels {
    text: Box<[u8]>,
    /// `text[..le_at]` are the labels sorting before `le`; `text[le_at..]` the others,
    /// starting with their separating comma when both parts are non-empty.
    le_at: usize,
}

impl SeriesLabels {
    #[must_use]
    pub fn new(descriptor: &Descriptor, values: &[String]) -> Self {
        let mut text = Vec::new();
        let mut le_at = 0;
        for (rank, &index) in descriptor.sorted_labels.iter().enumerate() {
            if rank == descriptor.le_position {
                le_at = text.len();
            }
            if !text.is_empty() {
                text.push(b',');
            }
            text.extend_from_slice(descriptor.label_names[index].as_bytes());
            text.extend_from_slice(b"=\"");
            write_escaped_quoted(&mut text, &values[index]);
            text.push(b'"');
        }
        if descriptor.le_position >= descriptor.sorted_labels.len() {
            le_at = text.len();
        }
        SeriesLabels {
            text: text.into_boxed_slice(),
            le_at,
        }
    }

    /// `{...}` for a sample without extra labels; nothing when there are no labels.
    pub fn write(&self, out: &mut Vec<u8>) {
        if !self.text.is_empty() {
            out.push(b'{');
            out.extend_from_slice(&self.text);
            out.push(b'}');
        }
    }

    /// What goes before a bucket's `le` value: `{a="x",le="`.
    pub fn write_bucket_head(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        out.extend_from_slice(&self.text[..self.le_at]);
        if self.le_at > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"le=\"");
    }

    /// What follows a bucket's `le` value: `",z="y"}`.
    pub fn write_bucket_tail(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        let after = &self.text[self.le_at..];
        if self.le_at == 0 && !after.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(after);
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::MetricKind;

    fn bucket_line(names: &[&str], values: &[&str]) -> (String, String) {
        let d = Descriptor::new(
            "h",
            "",
            "",
            MetricKind::Histogram,
            names.iter().map(ToString::to_string).collect(),
        );
        let values: Vec<String> = values.iter().map(ToString::to_string).collect();
        let labels = SeriesLabels::new(&d, &values);
        let mut plain = Vec::new();
        labels.write(&mut plain);
        let mut bucket = Vec::new();
        labels.write_bucket_head(&mut bucket);
        bucket.extend_from_slice(b"0.5");
        labels.write_bucket_tail(&mut bucket);
        (
            String::from_utf8(plain).unwrap(),
            String::from_utf8(bucket).unwrap(),
        )
    }

    #[test]
    fn le_sorts_in_among_the_labels() {
        assert_eq!(
            bucket_line(&[], &[]),
            (String::new(), r#"{le="0.5"}"#.into())
        );
        assert_eq!(
            bucket_line(&["z", "a"], &["1", "2"]),
            (
                r#"{a="2",z="1"}"#.into(),
                r#"{a="2",le="0.5",z="1"}"#.into()
            )
        );
        assert_eq!(
            bucket_line(&["a", "b"], &["1", "q\""]),
            (
                r#"{a="1",b="q\""}"#.into(),
                r#"{a="1",b="q\"",le="0.5"}"#.into()
            )
        );
        assert_eq!(
            bucket_line(&["m", "z"], &["1", "2"]),
            (
                r#"{m="1",z="2"}"#.into(),
                r#"{le="0.5",m="1",z="2"}"#.into()
            )
        );
    }
}
