//! The label part of a sample line: `{a="x",le="0.5",z="y"}`, names sorted.

use super::escape::write_escaped_quoted;
use crate::family::Descriptor;

/// One child's escaped labels, split around where `le` sorts in, written once per
/// child and reused for each of its sample lines.
pub(super) struct SeriesLabels {
    before_le: String,
    after_le: String,
}

impl SeriesLabels {
    pub(super) fn new(descriptor: &Descriptor, values: &[String]) -> Self {
        let mut before_le = String::new();
        let mut after_le = String::new();
        for (rank, &index) in descriptor.sorted_labels.iter().enumerate() {
            let out = if rank < descriptor.le_position {
                &mut before_le
            } else {
                &mut after_le
            };
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&descriptor.label_names[index]);
            out.push_str("=\"");
            write_escaped_quoted(out, &values[index]);
            out.push('"');
        }
        SeriesLabels {
            before_le,
            after_le,
        }
    }

    /// `{...}` for a sample without extra labels, nothing when there are no labels.
    pub(super) fn write(&self, out: &mut String) {
        match (self.before_le.is_empty(), self.after_le.is_empty()) {
            (true, true) => {}
            (false, true) => wrap(out, &self.before_le),
            (true, false) => wrap(out, &self.after_le),
            (false, false) => {
                out.push('{');
                out.push_str(&self.before_le);
                out.push(',');
                out.push_str(&self.after_le);
                out.push('}');
            }
        }
    }

    /// `{...,le="bound",...}` for a histogram bucket.
    pub(super) fn write_with_le(&self, out: &mut String, le: &str) {
        out.push('{');
        if !self.before_le.is_empty() {
            out.push_str(&self.before_le);
            out.push(',');
        }
        out.push_str("le=\"");
        out.push_str(le);
        out.push('"');
        if !self.after_le.is_empty() {
            out.push(',');
            out.push_str(&self.after_le);
        }
        out.push('}');
    }
}

fn wrap(out: &mut String, inner: &str) {
    out.push('{');
    out.push_str(inner);
    out.push('}');
}
