package shard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"testing"
)

// file is one generated file: its relative path, and the two standard
// normal draws its size is made of (its directory's and its own).
type file struct {
	rel         string
	dirZ, fileZ float64
}

// size is the file's size when directory typical sizes vary with a
// log-normal sigma dirSigma around 256 KiB and files vary around their
// directory's with a log-normal sigma fileSigma: large files cluster in a
// few directories, as in video and image archives.
func (f file) size(dirSigma, fileSigma float64) float64 {
	return math.Exp(math.Log(256<<10) + dirSigma*f.dirZ + fileSigma*f.fileZ)
}

// skewedTree generates, always the same way, n files in 2,000 directories
// whose file counts follow a Zipf law (the largest holds about a fifth of
// all files, most hold a handful), named the way real trees are: numbered
// frames, camera images, parquet parts, HLS segments.
func skewedTree(n int) []file {
	rng := rand.New(rand.NewPCG(14, 2026))
	const dirs = 2000
	zipf := rand.NewZipf(rng, 1.2, 1, dirs-1)
	patterns := []string{"frame_%06d.exr", "IMG_%04d.JPG", "part-%05d.parquet", "seg%d.ts", "%d", "doc %d (copy).pdf"}
	names := make([]string, dirs)
	dirZ := make([]float64, dirs)
	for d := range dirs {
		names[d] = fmt.Sprintf("site%02d/cam%03d/2025-%02d-%02d", d%23, d%157, 1+d%12, 1+d%28)
		dirZ[d] = rng.NormFloat64()
	}
	next := make([]int, dirs)
	out := make([]file, 0, n)
	for range n {
		d := int(zipf.Uint64())
		name := fmt.Sprintf(patterns[d%len(patterns)], next[d])
		next[d]++
		out = append(out, file{rel: names[d] + "/" + name, dirZ: dirZ[d], fileZ: rng.NormFloat64()})
	}
	return out
}

// spread returns the largest deviation from the mean, as a fraction of the
// mean, of the file counts and byte totals per shard, given each file's
// shard among n.
func spread(files []file, owner []int, n int, dirSigma, fileSigma float64) (countDev, bytesDev float64) {
	counts := make([]float64, n)
	bytes := make([]float64, n)
	var total float64
	for i, f := range files {
		sz := f.size(dirSigma, fileSigma)
		counts[owner[i]]++
		bytes[owner[i]] += sz
		total += sz
	}
	meanCount, meanBytes := float64(len(files))/float64(n), total/float64(n)
	for i := range n {
		countDev = max(countDev, math.Abs(counts[i]-meanCount)/meanCount)
		bytesDev = max(bytesDev, math.Abs(bytes[i]-meanBytes)/meanBytes)
	}
	return countDev, bytesDev
}

// sizeCV is the standard deviation of the sizes over their mean.
func sizeCV(files []file, dirSigma, fileSigma float64) float64 {
	var sum, sq float64
	for _, f := range files {
		sz := f.size(dirSigma, fileSigma)
		sum += sz
		sq += sz * sz
	}
	m := sum / float64(len(files))
	return math.Sqrt(sq/float64(len(files))-m*m) / m
}

// TestBalance: on a 100,000-file tree with skewed directories, every shard
// is within ±5% of the mean file count for N = 2, 4, 8 and 16: the path
// hash ignores directories, so their skew costs nothing.
//
// Bytes are within ±5% for a tree whose sizes have a coefficient of
// variation (CV) of 1.17 (directory sigma 1.0, file sigma 0.5: a media or
// document tree). Heavier tails are measured without a bound: the worst
// shard's deviation grows like CV × sqrt(N / files), and about 3 times that
// is a safe planning figure (docs/scale-out.md quotes these logs).
func TestBalance(t *testing.T) {
	files := skewedTree(100000)
	perDir := map[string]int{}
	for _, f := range files {
		perDir[path.Dir(f.rel)]++
	}
	top := 0
	for _, c := range perDir {
		top = max(top, c)
	}
	if top < 10000 || len(perDir) < 500 {
		t.Fatalf("the tree is not skewed: %d directories, the largest with %d files", len(perDir), top)
	}
	t.Logf("%d files in %d directories, the largest with %d", len(files), len(perDir), top)
	owners := map[int][]int{}
	for _, n := range []int{2, 4, 8, 16} {
		owners[n] = make([]int, len(files))
		for i, f := range files {
			owners[n][i] = Of(f.rel, n)
		}
	}
	for _, sig := range [][2]float64{{1.0, 0.5}, {1.5, 0.5}, {1.5, 1.0}, {1.5, 2.5}} {
		bounded := sig == [2]float64{1.0, 0.5}
		t.Logf("directory sigma %.1f, file sigma %.1f: size CV %.2f", sig[0], sig[1], sizeCV(files, sig[0], sig[1]))
		for _, n := range []int{2, 4, 8, 16} {
			c, b := spread(files, owners[n], n, sig[0], sig[1])
			t.Logf("  N=%2d: files within ±%.2f%%, bytes within ±%.2f%% of the mean", n, 100*c, 100*b)
			if c > 0.05 || (bounded && b > 0.05) {
				t.Errorf("N=%d: files ±%.2f%%, bytes ±%.2f%%: beyond ±5%%", n, 100*c, 100*b)
			}
		}
	}
}
