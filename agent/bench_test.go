package agent

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// benchFixture is a fixture whose source is built once per benchmark.
func benchFixture(b *testing.B, files, maxSize, ndest int) *fixture {
	b.Helper()
	dir := b.TempDir()
	f := &fixture{dir: dir, src: filepath.Join(dir, "src")}
	if err := os.MkdirAll(f.src, 0o755); err != nil {
		b.Fatal(err)
	}
	if files > 0 {
		treetest.Random(b, f.src, 1, files, maxSize)
	}
	for i := range ndest {
		d := filepath.Join(dir, fmt.Sprintf("dst%d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		f.dests = append(f.dests, d)
	}
	return f
}

func (f *fixture) benchRun(b *testing.B) *Summary {
	b.Helper()
	cfg := f.configB(b)
	a, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	sum, err := a.Run(context.Background())
	if err != nil || !sum.OK() {
		b.Fatalf("run: %v %+v", err, sum)
	}
	return sum
}

// BenchmarkUnchangedPass measures the plan step over an unchanged tree:
// walk, lstat, manifest lookup, strategy, report. No file is opened.
func BenchmarkUnchangedPass(b *testing.B) {
	f := benchFixture(b, 5000, 4096, 1)
	f.benchRun(b)
	b.ResetTimer()
	for b.Loop() {
		if sum := f.benchRun(b); sum.Opened != 0 {
			b.Fatalf("opened %d files", sum.Opened)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/file")
}

// BenchmarkFirstSyncSmallFiles copies 1,000 small files into an empty
// destination per iteration: the per-file cost of open, create, write,
// fsync, rename and the batched manifest commit.
func BenchmarkFirstSyncSmallFiles(b *testing.B) {
	f := benchFixture(b, 1000, 16<<10, 0)
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		d := filepath.Join(f.dir, fmt.Sprintf("dst-%d", i))
		os.MkdirAll(d, 0o755)
		f.dests = []string{d}
		os.RemoveAll(filepath.Join(f.dir, "state"))
		b.StartTimer()
		f.benchRun(b)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/file")
}

// BenchmarkHashAndTee copies one 64 MiB file to two destinations: read
// once, BLAKE3 and fan out each chunk.
func BenchmarkHashAndTee(b *testing.B) {
	f := benchFixture(b, 0, 0, 0)
	data := make([]byte, 64<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(f.src, "big"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		f.dests = nil
		for k := range 2 {
			d := filepath.Join(f.dir, fmt.Sprintf("dst-%d-%d", i, k))
			os.MkdirAll(d, 0o755)
			f.dests = append(f.dests, d)
		}
		os.RemoveAll(filepath.Join(f.dir, "state"))
		b.StartTimer()
		f.benchRun(b)
	}
}
