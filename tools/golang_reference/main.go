// Command golang-reference observes values into client_golang histograms and prints
// what client_golang itself exposes for them, so that vumeter's native histograms can be
// checked against the library whose settings they copy (tests/support/golang.py builds
// and runs it; tests/core/test_native_histogram_golang.py compares).
//
// It reads one JSON object on stdin:
//
//	{"histograms": [{
//	    "name": "h0",
//	    "bucket_factor": 1.1,           // HistogramOpts.NativeHistogramBucketFactor
//	    "zero_threshold": 0,            // NativeHistogramZeroThreshold (Go's meaning: 0 is
//	                                    // the default 2^-128, -1 is a zero-width bucket)
//	    "max_bucket_number": 160,       // NativeHistogramMaxBucketNumber (0: no limit)
//	    "min_reset_duration_s": 0,      // NativeHistogramMinResetDuration, in seconds
//	    "max_zero_threshold": 0,        // NativeHistogramMaxZeroThreshold
//	    "buckets": null,                // classic upper bounds; null or [] for none
//	                                    // (client_golang's DefBuckets if the factor is
//	                                    // at most 1, so no native buckets either)
//	    "observations": ["0.25", "-inf"]
//	}]}
//
// Observations are strings parsed by strconv.ParseFloat, so that every float64 (the
// infinities too, which JSON numbers cannot carry) arrives bit for bit: Python's repr()
// is the shortest string that reads back as the same double, and so is Go's.
//
// It writes one JSON object on stdout: "protobuf", the gathered families as
// length-delimited io.prometheus.client.MetricFamily messages (base64, client_golang's
// own encoder, as a protobuf scrape gets them), and "text", the same families in the
// text format 0.0.4 (expfmt, as a text scrape gets them).
//
// Build it in GOPATH mode against Debian's golang-github-prometheus-client-golang-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o golang-reference .
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

type histogramSpec struct {
	Name              string    `json:"name"`
	BucketFactor      float64   `json:"bucket_factor"`
	ZeroThreshold     float64   `json:"zero_threshold"`
	MaxBucketNumber   uint32    `json:"max_bucket_number"`
	MinResetDurationS float64   `json:"min_reset_duration_s"`
	MaxZeroThreshold  float64   `json:"max_zero_threshold"`
	Buckets           []float64 `json:"buckets"`
	Observations      []string  `json:"observations"`
}

type spec struct {
	Histograms []histogramSpec `json:"histograms"`
}

type output struct {
	Protobuf string `json:"protobuf"`
	Text     string `json:"text"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "golang-reference:", err)
		os.Exit(1)
	}
}

func run() error {
	decoder := json.NewDecoder(os.Stdin)
	decoder.DisallowUnknownFields() // a misspelt option must not silently become a default
	var in spec
	if err := decoder.Decode(&in); err != nil {
		return fmt.Errorf("reading the spec: %w", err)
	}
	registry := prometheus.NewRegistry()
	for _, h := range in.Histograms {
		if err := observe(registry, h); err != nil {
			return fmt.Errorf("histogram %q: %w", h.Name, err)
		}
	}
	families, err := registry.Gather()
	if err != nil {
		return fmt.Errorf("gathering: %w", err)
	}
	var protobuf, text bytes.Buffer
	delimited := expfmt.NewEncoder(&protobuf, expfmt.FmtProtoDelim)
	for _, family := range families {
		if err := delimited.Encode(family); err != nil {
			return fmt.Errorf("encoding protobuf: %w", err)
		}
		if _, err := expfmt.MetricFamilyToText(&text, family); err != nil {
			return fmt.Errorf("encoding text: %w", err)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(output{
		Protobuf: base64.StdEncoding.EncodeToString(protobuf.Bytes()),
		Text:     text.String(),
	})
}

func observe(registry *prometheus.Registry, h histogramSpec) error {
	values := make([]float64, len(h.Observations))
	for i, s := range h.Observations {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("observation %d: %w", i, err)
		}
		values[i] = v
	}
	opts := prometheus.HistogramOpts{
		Name:                            h.Name,
		Help:                            "golang-reference " + h.Name,
		Buckets:                         h.Buckets,
		NativeHistogramBucketFactor:     h.BucketFactor,
		NativeHistogramZeroThreshold:    h.ZeroThreshold,
		NativeHistogramMaxBucketNumber:  h.MaxBucketNumber,
		NativeHistogramMinResetDuration: time.Duration(h.MinResetDurationS * float64(time.Second)),
		NativeHistogramMaxZeroThreshold: h.MaxZeroThreshold,
	}
	histogram := prometheus.NewHistogram(opts)
	if err := registry.Register(histogram); err != nil {
		return err
	}
	for _, v := range values {
		histogram.Observe(v)
	}
	return nil
}
