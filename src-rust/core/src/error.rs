//! Every way a metric operation can be refused. Messages say what was expected; where
//! prometheus_client has a message for the same mistake, it is reused word for word.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum MetricError {
    /// A counter increment below zero or NaN.
    InvalidIncrement(f64),
    /// A NaN observation, which would poison `_sum` for good.
    NanObservation,
    /// A NaN inside a bulk observation; nothing from that call was recorded.
    NanInArray { index: usize },
    /// An infinite observation of the opposite sign to the infinity `_sum` already
    /// holds: the sum would become NaN.
    OppositeInfinity { value: f64 },
    /// `values[index]` is an infinity of the opposite sign to an earlier one in the same
    /// array, or to the infinity `_sum` holds; nothing from that call was recorded.
    OppositeInfinityInArray { index: usize, value: f64 },
    /// A label-value tuple of the wrong length.
    LabelCount { expected: usize, got: usize },
    /// A new label set past the metric's cardinality limit.
    CardinalityLimit { metric: String, limit: usize },
    /// Histogram buckets that are unsorted, NaN or too few.
    InvalidBuckets(String),
    /// Exemplar labels that are invalid or too long.
    InvalidExemplar(String),
}

impl fmt::Display for MetricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricError::InvalidIncrement(amount) => write!(
                f,
                "Counters can only be incremented by non-negative amounts (got {amount})."
            ),
            MetricError::NanObservation => write!(
                f,
                "cannot observe NaN: expected a number (NaN would make _sum NaN forever)"
            ),
            MetricError::NanInArray { index } => write!(
                f,
                "values[{index}] is NaN: expected only numbers; nothing from this call was recorded"
            ),
            MetricError::OppositeInfinity { value } => write!(
                f,
                "cannot observe {value}: _sum is already {}, and adding {value} would make it \
                 NaN; nothing was recorded",
                -value
            ),
            MetricError::OppositeInfinityInArray { index, value } => write!(
                f,
                "values[{index}] is {value}, but an earlier value or _sum is already {}: \
                 the sum would become NaN; nothing from this call was recorded",
                -value
            ),
            MetricError::LabelCount { expected, got } => {
                write!(f, "Incorrect label count (expected {expected}, got {got})")
            }
            MetricError::CardinalityLimit { metric, limit } => write!(
                f,
                "{metric} already has {limit} label sets, its cardinality limit; \
                 refusing a new one (remove() unused label sets or raise the limit)"
            ),
            MetricError::InvalidBuckets(why) | MetricError::InvalidExemplar(why) => {
                f.write_str(why)
            }
        }
    }
}

impl std::error::Error for MetricError {}
