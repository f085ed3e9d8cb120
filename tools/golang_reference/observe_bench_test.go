package main

// client_golang's Observe, timed for benches/bench_client_golang.py, which runs
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go test -run '^$' -bench 'Observe' .
//
// and sets it beside vumeter's observe. Both draw the values from the lognormal
// distribution of benches/bench_native_histogram.py (mu -3, sigma 1.5: a latency of about
// 50 ms spread over several powers of ten), so both touch the same spread of buckets.

import (
	"math"
	"math/rand"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// valueCount values are drawn once and cycled through; a power of two, so that the
// index is a mask rather than a division.
const valueCount = 1 << 12

func lognormalValues() []float64 {
	random := rand.New(rand.NewSource(1))
	values := make([]float64, valueCount)
	for i := range values {
		values[i] = math.Exp(-3.0 + 1.5*random.NormFloat64())
	}
	return values
}

func benchmarkObserve(b *testing.B, opts prometheus.HistogramOpts) {
	histogram := prometheus.NewHistogram(opts)
	values := lognormalValues()
	// One pass first, so that every bucket exists before timing: the timed loop is then
	// the steady state, as it is for a long-running process (and for vumeter's timing).
	for _, v := range values {
		histogram.Observe(v)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		histogram.Observe(values[i&(valueCount-1)])
	}
}

// BenchmarkObserveNative: native buckets only, factor 1.1 (schema 3), client_golang's
// defaults for the rest (zero threshold 2^-128, no bucket limit, no reset).
func BenchmarkObserveNative(b *testing.B) {
	benchmarkObserve(b, prometheus.HistogramOpts{
		Name:                        "native",
		Help:                        "native",
		NativeHistogramBucketFactor: 1.1,
	})
}

// BenchmarkObserveClassic: classic buckets only, client_golang's DefBuckets.
func BenchmarkObserveClassic(b *testing.B) {
	benchmarkObserve(b, prometheus.HistogramOpts{
		Name: "classic",
		Help: "classic",
	})
}
