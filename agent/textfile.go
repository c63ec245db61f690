package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// lastSuccessMetric is what an alert on a failed or missing nightly run
// watches: time() - efssync_last_success_timestamp_seconds > 86400.
const lastSuccessMetric = "efssync_last_success_timestamp_seconds"

// WriteTextfile writes the run's counters and its outcome in the
// Prometheus text format to path, for node_exporter's textfile collector
// (metrics.textfile). A once-mode run has no endpoint to scrape after it
// exits; this file outlives it. efssync_last_success_timestamp_seconds keeps
// its previous value when the run failed. The file is replaced atomically
// (temp file, then rename), so the collector never reads half of it. A nil
// Agent (a run that could not start) writes the outcome without counters.
func (a *Agent) WriteTextfile(path string, ok bool, took time.Duration, now time.Time) error {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	last := previousLastSuccess(path)
	success := 0.0
	if ok {
		success, last = 1, float64(now.UnixNano())/1e9
	}
	gauge("efssync_last_run_timestamp_seconds", "When the last run ended, in Unix seconds.", float64(now.UnixNano())/1e9)
	gauge("efssync_last_run_success", "1 if the last run left everything in sync, else 0.", success)
	gauge("efssync_last_run_duration_seconds", "How long the last run took.", took.Seconds())
	if last > 0 {
		gauge(lastSuccessMetric, "When a run last left everything in sync, in Unix seconds.", last)
	}
	var buf bytes.Buffer
	gatherers := []prometheus.Gatherer{reg}
	if a != nil {
		gatherers = append(gatherers, a.metrics.Registry())
	}
	for _, g := range gatherers {
		mfs, err := g.Gather()
		if err != nil {
			return fmt.Errorf("metrics.textfile %s: gather: %w", path, err)
		}
		for _, mf := range mfs {
			// node_exporter exports its own go_ and process_ series.
			if !strings.HasPrefix(mf.GetName(), "efssync_") {
				continue
			}
			if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
				return fmt.Errorf("metrics.textfile %s: %w", path, err)
			}
		}
	}
	return writeAtomic(path, buf.Bytes())
}

// previousLastSuccess reads the last-success time of an earlier file, or 0.
func previousLastSuccess(path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), lastSuccessMetric+" "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

// writeAtomic replaces path with b through a temp file in its directory.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("metrics.textfile %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("metrics.textfile %s: %w", path, err)
	}
	return nil
}
