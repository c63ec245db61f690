package shard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"testing"
)

// file is one generated file: its relative path and size.
type file struct {
	rel  string
	size int64
}

// skewedTree generates, always the same way, n files in 2,000 directories
// whose file counts follow a Zipf law (the largest holds about a sixth of
// all files, most hold a handful), named the way real trees are: numbered
// frames, camera images, parquet parts, HLS segments. Each directory has
// its own typical size (log-normal across directories, sigma dirSigma
// around 256 KiB), and its files vary around it (log-normal, sigma
// fileSigma):
// large files cluster in a few directories, as video and image archives do.
func skewedTree(n int, dirSigma, fileSigma float64) []file {
	rng := rand.New(rand.NewPCG(14, 2026))
	const dirs = 2000
	zipf := rand.NewZipf(rng, 1.2, 1, dirs-1)
	patterns := []string{"frame_%06d.exr", "IMG_%04d.JPG", "part-%05d.parquet", "seg%d.ts", "%d", "doc %d (copy).pdf"}
	names := make([]string, dirs)
	typical := make([]float64, dirs)
	for d := range dirs {
		names[d] = fmt.Sprintf("site%02d/cam%03d/2025-%02d-%02d", d%23, d%157, 1+d%12, 1+d%28)
		typical[d] = math.Log(256<<10) + dirSigma*rng.NormFloat64()
	}
	next := make([]int, dirs)
	out := make([]file, 0, n)
	for range n {
		d := int(zipf.Uint64())
		name := fmt.Sprintf(patterns[d%len(patterns)], next[d])
		next[d]++
		size := int64(math.Exp(typical[d] + fileSigma*rng.NormFloat64()))
		out = append(out, file{rel: names[d] + "/" + name, size: size})
	}
	return out
}

// spread returns the largest deviation from the mean, as a fraction of the
// mean, of the file counts and byte totals per shard.
func spread(files []file, n int) (countDev, bytesDev float64) {
	counts := make([]float64, n)
	bytes := make([]float64, n)
	var total float64
	for _, f := range files {
		s := Of(f.rel, n)
		counts[s]++
		bytes[s] += float64(f.size)
		total += float64(f.size)
	}
	meanCount, meanBytes := float64(len(files))/float64(n), total/float64(n)
	for i := range n {
		countDev = max(countDev, math.Abs(counts[i]-meanCount)/meanCount)
		bytesDev = max(bytesDev, math.Abs(bytes[i]-meanBytes)/meanBytes)
	}
	return countDev, bytesDev
}

// TestBalance: on a 100,000-file tree with skewed directories, every shard
// is within ±5% of the mean file count and bytes, for N = 2, 4, 8 and 16.
// The path hash ignores directories, so the skew of file counts costs
// nothing. Sizes: directory sigma 1.0, file sigma 0.5, a size CV of 1.17 (a
// media or document tree); bytes balance only while no few files hold a
// large share of them (see TestBalanceHeavyTail).
func TestBalance(t *testing.T) {
	files := skewedTree(100000, 1.0, 0.5)
	largest := map[string]int{}
	for _, f := range files {
		largest[path.Dir(f.rel)]++
	}
	top := 0
	for _, c := range largest {
		top = max(top, c)
	}
	if top < 10000 || len(largest) < 500 {
		t.Fatalf("the tree is not skewed: %d directories, the largest with %d files", len(largest), top)
	}
	t.Logf("size CV %.2f", sizeCV(files))
	for _, n := range []int{2, 4, 8, 16} {
		c, b := spread(files, n)
		t.Logf("N=%2d: files within ±%.2f%%, bytes within ±%.2f%% of the mean", n, 100*c, 100*b)
		if c > 0.05 || b > 0.05 {
			t.Errorf("N=%d: files ±%.2f%%, bytes ±%.2f%%: beyond ±5%%", n, 100*c, 100*b)
		}
	}
}

// TestBalanceHeavyTail measures, without a bound on bytes, heavier-tailed
// trees: the spread of bytes per shard grows like the coefficient of
// variation (CV) of the file sizes times sqrt(N / files); about 3 times that
// is a safe planning bound for the worst shard (docs/scale-out.md has the
// figures). File counts still hold ±5%.
func TestBalanceHeavyTail(t *testing.T) {
	for _, sig := range [][2]float64{{1.5, 0.5}, {1.5, 1.0}, {1.5, 2.5}} {
		files := skewedTree(100000, sig[0], sig[1])
		t.Logf("directory sigma %.1f, file sigma %.1f: size CV %.2f", sig[0], sig[1], sizeCV(files))
		for _, n := range []int{2, 4, 8, 16} {
			c, b := spread(files, n)
			t.Logf("  N=%2d: files within ±%.2f%%, bytes within ±%.2f%% of the mean", n, 100*c, 100*b)
			if c > 0.05 {
				t.Errorf("N=%d: files ±%.2f%%: beyond ±5%%", n, 100*c)
			}
		}
	}
}

// sizeCV is the standard deviation of the sizes over their mean.
func sizeCV(files []file) float64 {
	var sum, sq float64
	for _, f := range files {
		sum += float64(f.size)
		sq += float64(f.size) * float64(f.size)
	}
	m := sum / float64(len(files))
	return math.Sqrt(sq/float64(len(files))-m*m) / m
}
