package report

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what an operator alerts on: bytes and files moved, errors,
// work waiting, and replication lag, per job and destination. Each agent has
// its own registry; nothing is global.
type Metrics struct {
	reg    *prometheus.Registry
	bytes  *prometheus.CounterVec
	files  *prometheus.CounterVec
	errors *prometheus.CounterVec
	queue  *prometheus.GaugeVec
	lagH   *prometheus.HistogramVec
	// restarts counts the supervisor's restarts of watch jobs; up says
	// whether each destination is usable now. Both exist from the start
	// (Declare), so an alert can tell "never restarted" from "no data".
	restarts *prometheus.CounterVec
	up       *prometheus.GaugeVec
	// ln is the endpoint's listener, bound by PrepareMetrics at start so
	// that a port in use is an error then, not at shutdown.
	ln net.Listener
}

func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "efssync_bytes_total", Help: "Bytes published, per job and destination.",
		}, []string{"job", "dest"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "efssync_files_total", Help: "Files published, per job and destination.",
		}, []string{"job", "dest"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "efssync_errors_total", Help: "Files that failed, per job and destination.",
		}, []string{"job", "dest"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "efssync_queue_depth", Help: "Files being followed or waiting to be published, per job.",
		}, []string{"job"}),
		lagH: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "efssync_replication_lag_seconds",
			Help:    "Time from the source's close of a file (or a playlist's new version) to its publication at a destination.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"job", "dest"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "efssync_job_restarts_total", Help: "Watch jobs restarted after a failure, per job.",
		}, []string{"job"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "efssync_destination_up", Help: "1 while a destination is usable in this run, 0 while it is taken out (unusable at start, or a fatal error).",
		}, []string{"job", "dest"}),
	}
	m.reg.MustRegister(m.bytes, m.files, m.errors, m.queue, m.lagH, m.restarts, m.up,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) Lag(job, dest string, d time.Duration) {
	if m != nil {
		m.lagH.WithLabelValues(job, dest).Observe(d.Seconds())
	}
}

func (m *Metrics) Published(job, dest string, bytes int64) {
	if m != nil {
		m.files.WithLabelValues(job, dest).Inc()
		m.bytes.WithLabelValues(job, dest).Add(float64(bytes))
	}
}

func (m *Metrics) Failed(job, dest string) {
	if m != nil {
		m.errors.WithLabelValues(job, dest).Inc()
	}
}

// Restarted counts one restart of a watch job by the supervisor.
func (m *Metrics) Restarted(job string) {
	if m != nil {
		m.restarts.WithLabelValues(job).Inc()
	}
}

// DestUp records whether dest is usable for job now.
func (m *Metrics) DestUp(job, dest string, up bool) {
	if m != nil {
		v := 0.0
		if up {
			v = 1
		}
		m.up.WithLabelValues(job, dest).Set(v)
	}
}

// Up is the efssync_destination_up series of job and dest, for tests.
func (m *Metrics) Up(job, dest string) prometheus.Gauge { return m.up.WithLabelValues(job, dest) }

func (m *Metrics) SetQueue(job string, n int) {
	if m != nil {
		m.queue.WithLabelValues(job).Set(float64(n))
	}
}

// serve runs the /metrics and /healthz endpoint until ctx ends.
func (m *Metrics) Serve(ctx context.Context, addr string) error {
	ln := m.ln
	if ln == nil {
		var err error
		if ln, err = listenMetrics(addr); err != nil {
			return err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics server: %w", err)
	}
	return nil
}

func listenMetrics(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	return ln, nil
}

// Declare makes job's queue and restart series and every per-destination
// series exist at 0, so alerts on rate() and absent() work from the first
// scrape; the destinations named are up.
func (m *Metrics) Declare(job string, dests []string) {
	m.queue.WithLabelValues(job)
	m.restarts.WithLabelValues(job)
	for _, d := range dests {
		m.up.WithLabelValues(job, d).Set(1)
		m.files.WithLabelValues(job, d)
		m.bytes.WithLabelValues(job, d)
		m.errors.WithLabelValues(job, d)
	}
}

// Bind binds the endpoint's listener now, so that a port in use is an error
// at start that names metrics.listen; Serve then uses it.
func (m *Metrics) Bind(addr string) error {
	if addr == "" || m.ln != nil {
		return nil
	}
	ln, err := listenMetrics(addr)
	if err != nil {
		return err
	}
	m.ln = ln
	return nil
}

// Registry is the agent's own registry, for collectors other packages add
// (supervisor restarts) and for the textfile export.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }
