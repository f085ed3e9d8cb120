//! A native histogram written as a sample value, the way prometheus_client's OpenMetrics
//! parser reads it: `{count:24,sum:100,schema:0,zero_threshold:0.001,zero_count:4,
//! positive_spans:[0:2,1:2],positive_deltas:[2,1,-2,3],negative_spans:[...],
//! negative_deltas:[...]}`. Spans are `offset:length`; deltas encode the bucket counts
//! (the first count, then differences).

/// One native histogram sample.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeHistogram {
    pub count: f64,
    pub sum: f64,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub positive_spans: Vec<(i32, u32)>,
    pub positive_deltas: Vec<i64>,
    pub negative_spans: Vec<(i32, u32)>,
    pub negative_deltas: Vec<i64>,
}

fn list<T>(text: &str, item: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| format!("expected a [list], got {text:?}"))?;
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .map(|part| item(part.trim()).ok_or_else(|| format!("invalid list item {part:?}")))
        .collect()
}

fn span(text: &str) -> Option<(i32, u32)> {
    let (offset, length) = text.split_once(':')?;
    Some((offset.trim().parse().ok()?, length.trim().parse().ok()?))
}

/// Parse `{...}` (braces included).
pub(super) fn parse_native_histogram(text: &str) -> Result<NativeHistogram, String> {
    let body = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or("a native histogram is written in braces")?;
    let mut fields: Vec<(&str, &str)> = Vec::new();
    let mut rest = body;
    while !rest.trim().is_empty() {
        let (key, after) = rest
            .split_once(':')
            .ok_or_else(|| format!("expected key:value in {body:?}"))?;
        let after = after.trim_start();
        let end = if after.starts_with('[') {
            after
                .find(']')
                .map(|i| i + 1)
                .ok_or("a [list] is not closed")?
        } else {
            after.find(',').unwrap_or(after.len())
        };
        fields.push((key.trim(), after[..end].trim()));
        rest = after[end..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    let field = |name: &str| fields.iter().find(|(key, _)| *key == name).map(|(_, v)| *v);
    let number = |name: &str| -> Result<f64, String> {
        let text = field(name).ok_or_else(|| format!("native histogram without {name}"))?;
        super::line::parse_number(text).map_err(|e| format!("{name}: {e}"))
    };
    let spans = |name: &str| field(name).map_or(Ok(Vec::new()), |t| list(t, span));
    let deltas = |name: &str| {
        field(name).map_or(Ok(Vec::new()), |t| list(t, |item| item.parse::<i64>().ok()))
    };
    let schema = field("schema")
        .ok_or("native histogram without schema")?
        .parse::<i32>()
        .map_err(|_| "schema must be an integer".to_owned())?;
    Ok(NativeHistogram {
        count: number("count")?,
        sum: number("sum")?,
        schema,
        zero_threshold: number("zero_threshold")?,
        zero_count: number("zero_count")?,
        positive_spans: spans("positive_spans")?,
        positive_deltas: deltas("positive_deltas")?,
        negative_spans: spans("negative_spans")?,
        negative_deltas: deltas("negative_deltas")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field() {
        let parsed = parse_native_histogram(
            "{count:24,sum:100,schema:0,zero_threshold:0.001,zero_count:4,\
             positive_spans:[0:2,1:2],negative_spans:[0:2,1:2],\
             positive_deltas:[2,1,-2,3],negative_deltas:[2,1,-2,3]}",
        )
        .expect("parses");
        assert_eq!(parsed.count, 24.0);
        assert_eq!(parsed.schema, 0);
        assert_eq!(parsed.positive_spans, vec![(0, 2), (1, 2)]);
        assert_eq!(parsed.negative_deltas, vec![2, 1, -2, 3]);
    }

    #[test]
    fn missing_fields_are_errors() {
        let error = parse_native_histogram("{count:1,sum:1}").expect_err("no schema");
        assert!(error.contains("schema"), "{error}");
    }
}
