//! Parsing an exposition (Prometheus text 0.0.4 or OpenMetrics 1.0) back into families.
//!
//! Families are grouped, named and typed the way prometheus_client's parsers do it, so a
//! reader can rely on the same shapes from either: `# HELP` or `# TYPE` starts a family;
//! samples whose name the type allows (`_bucket`, `_count`, `_sum` of a histogram, ...)
//! join it; any other sample is a family of its own, of type `unknown` (the text format's
//! `untyped` is called `unknown` too). A text-format counter named `x_total` is family `x`;
//! one without the suffix gets `_total` added to its samples. A type outside the formats'
//! list is refused, as prometheus_client refuses it.
//!
//! Syntax is checked line by line, and the first error is returned with its line number.
//! The semantic rules of OpenMetrics (bucket order, `_count` against `+Inf`, clashing
//! names) are not enforced: a viewer should show what a worker exposes, even a worker
//! whose exposition bends a rule.

mod line;
mod native;

use std::fmt;

pub use line::{Labels, Sample, SampleValue};
pub use native::NativeHistogram;

/// Which text format to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

/// One metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFamily {
    pub name: String,
    pub kind: String,
    pub samples: Vec<Sample>,
}

/// The first malformed line of an exposition (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// The metric types prometheus_client accepts.
const KINDS: &[&str] = &[
    "counter",
    "gauge",
    "summary",
    "histogram",
    "gaugehistogram",
    "unknown",
    "info",
    "stateset",
];

fn suffixes(kind: &str, openmetrics: bool) -> &'static [&'static str] {
    match (kind, openmetrics) {
        ("counter", true) => &["_total", "_created"],
        ("summary", true) => &["", "_count", "_sum", "_created"],
        ("histogram", true) => &["_count", "_sum", "_bucket", "_created"],
        ("gaugehistogram", true) => &["_gcount", "_gsum", "_bucket"],
        ("info", true) => &["_info"],
        ("summary", false) => &["_count", "_sum", ""],
        ("histogram", false) => &["_count", "_sum", "_bucket"],
        _ => &[""],
    }
}

/// The family being read.
struct Current {
    name: String,
    kind: Option<String>,
    allowed: Vec<String>,
    samples: Vec<Sample>,
}

impl Current {
    fn new(name: String) -> Self {
        Current {
            allowed: vec![name.clone()],
            name,
            kind: None,
            samples: Vec::new(),
        }
    }

    fn set_kind(&mut self, kind: &str, openmetrics: bool) -> Result<(), String> {
        let kind = if kind == "untyped" { "unknown" } else { kind };
        if !KINDS.contains(&kind) {
            return Err(format!("invalid metric type {kind:?}"));
        }
        self.allowed = suffixes(kind, openmetrics)
            .iter()
            .map(|suffix| format!("{}{suffix}", self.name))
            .collect();
        self.kind = Some(kind.to_owned());
        Ok(())
    }

    fn finish(self, openmetrics: bool) -> ParsedFamily {
        let kind = self.kind.unwrap_or_else(|| "unknown".to_owned());
        let mut name = self.name;
        let mut samples = self.samples;
        if !openmetrics && kind == "counter" {
            // prometheus_client's own (OpenMetrics-style) naming of text-format counters.
            if let Some(stripped) = name.strip_suffix("_total") {
                name = stripped.to_owned();
            } else {
                for sample in &mut samples {
                    sample.name.push_str("_total");
                }
            }
        }
        ParsedFamily {
            name,
            kind,
            samples,
        }
    }
}

/// Parse a whole exposition.
pub fn parse(text: &str, format: Format) -> Result<Vec<ParsedFamily>, ParseError> {
    let openmetrics = format == Format::OpenMetrics;
    let mut families = Vec::new();
    let mut current: Option<Current> = None;
    let mut eof = false;
    for (number, raw) in text.lines().enumerate() {
        let error = |message: String| ParseError {
            line: number + 1,
            message,
        };
        let line = if openmetrics {
            raw
        } else {
            raw.trim_matches([' ', '\t', '\r'])
        };
        if eof {
            return Err(error("text after # EOF".into()));
        }
        if line.is_empty() {
            if openmetrics {
                return Err(error("blank line".into()));
            }
            continue;
        }
        if openmetrics && line == "# EOF" {
            eof = true;
            continue;
        }
        if line.starts_with('#') {
            let keyword = line::comment_keyword(line);
            let known = matches!(keyword, "HELP" | "TYPE") || (openmetrics && keyword == "UNIT");
            if !known {
                if openmetrics {
                    return Err(error(format!("unknown # line {keyword:?}")));
                }
                continue; // a comment
            }
            let meta = line::parse_metadata(line).map_err(error)?;
            if current.as_ref().is_none_or(|c| c.name != meta.name) {
                if let Some(done) = current.take() {
                    families.push(done.finish(openmetrics));
                }
                current = Some(Current::new(meta.name.clone()));
            }
            let family = current.as_mut().expect("set above");
            if meta.keyword == "TYPE" {
                if meta.rest.is_empty() {
                    return Err(error("# TYPE needs a type".into()));
                }
                family.set_kind(&meta.rest, openmetrics).map_err(error)?;
            }
            continue;
        }
        let native = openmetrics
            && current
                .as_ref()
                .is_some_and(|c| c.kind.as_deref() == Some("histogram"));
        let sample = line::parse_sample(line, openmetrics, native).map_err(error)?;
        let belongs = current.as_ref().is_some_and(|c| {
            c.allowed.contains(&sample.name)
                || (matches!(sample.value, SampleValue::Native(_)) && c.name == sample.name)
        });
        if belongs {
            current.as_mut().expect("checked").samples.push(sample);
            continue;
        }
        if let Some(done) = current.take() {
            families.push(done.finish(openmetrics));
        }
        let mut single = Current::new(sample.name.clone());
        single.samples.push(sample);
        if openmetrics {
            // Later samples of the same name join this family.
            current = Some(single);
        } else {
            families.push(single.finish(false));
        }
    }
    if let Some(done) = current.take() {
        families.push(done.finish(openmetrics));
    }
    if openmetrics && !eof {
        return Err(ParseError {
            line: text.lines().count(),
            message: "missing # EOF at the end".into(),
        });
    }
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(families: &[ParsedFamily]) -> Vec<(&str, &str, Vec<&str>)> {
        families
            .iter()
            .map(|f| {
                let samples = f.samples.iter().map(|s| s.name.as_str()).collect();
                (f.name.as_str(), f.kind.as_str(), samples)
            })
            .collect()
    }

    #[test]
    fn text_families_like_prometheus_client() {
        let text = "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{a=\"1\"} 3\n\
                    # TYPE lat histogram\nlat_bucket{le=\"1\"} 1\nlat_bucket{le=\"+Inf\"} 2\n\
                    lat_sum 3\nlat_count 2\nloose 1\nloose 2\n# a comment\n\n\
                    # TYPE bare counter\nbare 1\n";
        let families = parse(text, Format::Text).expect("parses");
        assert_eq!(
            names(&families),
            vec![
                ("jobs", "counter", vec!["jobs_total"]),
                (
                    "lat",
                    "histogram",
                    vec!["lat_bucket", "lat_bucket", "lat_sum", "lat_count"]
                ),
                ("loose", "unknown", vec!["loose"]),
                ("loose", "unknown", vec!["loose"]),
                ("bare", "counter", vec!["bare_total"]),
            ]
        );
    }

    #[test]
    fn openmetrics_families_units_and_native_histograms() {
        let text = "# TYPE jobs counter\n# UNIT jobs \n# HELP jobs Jobs.\njobs_total 3\n\
                    jobs_created 1.5\n# TYPE nh histogram\n\
                    nh {count:3,sum:1,schema:1,zero_threshold:0,zero_count:1,\
                    positive_spans:[0:1],positive_deltas:[2]}\nother 1\nother 2\n# EOF\n";
        let families = parse(text, Format::OpenMetrics).expect("parses");
        assert_eq!(
            names(&families),
            vec![
                ("jobs", "counter", vec!["jobs_total", "jobs_created"]),
                ("nh", "histogram", vec!["nh"]),
                ("other", "unknown", vec!["other", "other"]),
            ]
        );
        assert!(matches!(
            families[1].samples[0].value,
            SampleValue::Native(_)
        ));
    }

    #[test]
    fn errors_name_the_line() {
        let error = parse("a 1\nb{ 2\n", Format::Text).expect_err("malformed");
        assert_eq!(error.line, 2);
        let eof = parse("a 1\n", Format::OpenMetrics).expect_err("no EOF");
        assert!(eof.message.contains("EOF"), "{eof}");
        let blank = parse("a 1\n\n# EOF\n", Format::OpenMetrics).expect_err("blank");
        assert_eq!((blank.line, blank.message.as_str()), (2, "blank line"));
    }
}
