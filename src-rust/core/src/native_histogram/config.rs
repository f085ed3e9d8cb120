//! A native histogram's settings, with client_golang's meaning and validation.

use super::schema::pick_schema;
use crate::error::MetricError;

/// A native histogram's settings, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeConfig {
    /// The starting (and highest) schema.
    pub schema: i32,
    pub zero_threshold: f64,
    /// The most buckets (positive and negative, the zero bucket aside); 0: no limit.
    pub max_buckets: usize,
    /// Seconds between resets that the bucket limit may cause; 0: never reset.
    pub min_reset_duration: f64,
    /// How far the bucket limit may widen the zero bucket; no wider than the zero
    /// threshold (the default, 0): never.
    pub max_zero_threshold: f64,
}

impl NativeConfig {
    /// Settings from client_golang's parameters: a bucket factor above 1, a zero
    /// threshold of zero or more, a bucket limit (0: none), a reset interval in
    /// seconds (0: never).
    pub fn new(
        bucket_factor: f64,
        zero_threshold: f64,
        max_buckets: usize,
        min_reset_duration: f64,
    ) -> Result<Self, MetricError> {
        let invalid = |why: String| Err(MetricError::InvalidBuckets(why));
        let Some(schema) = pick_schema(bucket_factor) else {
            return invalid(format!(
                "native_histogram_bucket_factor must be a number above 1, got {bucket_factor}"
            ));
        };
        if zero_threshold.is_nan() || zero_threshold < 0.0 || zero_threshold.is_infinite() {
            return invalid(format!(
                "native_histogram_zero_threshold must be a finite number of 0 or more, got \
                 {zero_threshold}"
            ));
        }
        if min_reset_duration.is_nan() || min_reset_duration < 0.0 {
            return invalid(format!(
                "native_histogram_min_reset_duration must be 0 or more seconds, got \
                 {min_reset_duration}"
            ));
        }
        Ok(NativeConfig {
            schema,
            zero_threshold,
            max_buckets,
            min_reset_duration,
            max_zero_threshold: 0.0,
        })
    }

    /// The settings with client_golang's `NativeHistogramMaxZeroThreshold`: a number
    /// of 0 or more (no more than the zero threshold: the zero bucket never widens).
    pub fn with_max_zero_threshold(self, max_zero_threshold: f64) -> Result<Self, MetricError> {
        if max_zero_threshold.is_nan() || max_zero_threshold < 0.0 {
            return Err(MetricError::InvalidBuckets(format!(
                "native_histogram_max_zero_threshold must be a number of 0 or more, got \
                 {max_zero_threshold}"
            )));
        }
        Ok(NativeConfig {
            max_zero_threshold,
            ..self
        })
    }
}
