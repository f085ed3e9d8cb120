//! Native buckets as the exposition formats carry them: spans of consecutive indices and
//! the count of each bucket as a delta to the previous one.

/// A run of `length` consecutive buckets, `offset` indices after the end of the
/// previous run (or starting at index `offset`, for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// Spans and deltas of `buckets` (sorted by index, counts above zero). A gap of one or
/// two empty buckets is filled with zero counts rather than opening a span, as
/// client_golang does: it is shorter on the wire.
pub fn encode(buckets: &[(i32, u64)], spans: &mut Vec<Span>, deltas: &mut Vec<i64>) {
    spans.clear();
    deltas.clear();
    let mut previous_count = 0i64;
    let mut next_index = 0i32;
    for (n, &(index, count)) in buckets.iter().enumerate() {
        let gap = index - next_index;
        if n == 0 || gap > 2 {
            spans.push(Span {
                offset: if n == 0 { index } else { gap },
                length: 0,
            });
        } else {
            for _ in 0..gap {
                deltas.push(-previous_count);
                previous_count = 0;
            }
            spans.last_mut().expect("a span is open").length += gap as u32;
        }
        // A bucket count never reaches 2^63.
        #[allow(clippy::cast_possible_wrap)]
        let count = count as i64;
        deltas.push(count - previous_count);
        previous_count = count;
        spans.last_mut().expect("a span is open").length += 1;
        next_index = index + 1;
    }
}

/// The `(index, count)` pairs that `spans` and `deltas` describe, zero counts included
/// (the inverse of [`encode`], for tests and readers).
#[must_use]
pub fn decode(spans: &[Span], deltas: &[i64]) -> Vec<(i32, u64)> {
    let mut out = Vec::with_capacity(deltas.len());
    let mut deltas = deltas.iter();
    let mut index = 0i32;
    let mut count = 0i64;
    for (n, span) in spans.iter().enumerate() {
        index = if n == 0 {
            span.offset
        } else {
            index + span.offset
        };
        for _ in 0..span.length {
            count += deltas.next().copied().unwrap_or(0);
            out.push((index, count as u64));
            index += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_small_gaps_filled() {
        let buckets = [(-3, 2), (-1, 5), (0, 1), (4, 7), (20, 1)];
        let (mut spans, mut deltas) = (Vec::new(), Vec::new());
        encode(&buckets, &mut spans, &mut deltas);
        assert_eq!(
            spans,
            vec![
                Span {
                    offset: -3,
                    length: 4
                },
                Span {
                    offset: 3,
                    length: 1
                },
                Span {
                    offset: 15,
                    length: 1
                },
            ]
        );
        assert_eq!(deltas, vec![2, -2, 5, -4, 6, -6]);
        let back: Vec<_> = decode(&spans, &deltas)
            .into_iter()
            .filter(|&(_, c)| c > 0)
            .collect();
        assert_eq!(back, buckets);
    }

    #[test]
    fn nothing_gives_nothing() {
        let (mut spans, mut deltas) = (
            vec![Span {
                offset: 1,
                length: 1,
            }],
            vec![1],
        );
        encode(&[], &mut spans, &mut deltas);
        assert!(spans.is_empty() && deltas.is_empty());
    }
}
