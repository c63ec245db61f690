// Command gendata writes the benchmark data sets: many small files spread
// over directories, or a few large files. Contents come from a seeded PRNG
// so every run and every machine copies the same, incompressible bytes.
//
//	gendata -dir D -files 20000 -dirs 200 -min 1024 -max 16384
//	gendata -dir D -files 2 -dirs 0 -min 268435456 -max 268435456
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "", "directory to create the tree in (required)")
	files := flag.Int("files", 5000, "number of files")
	dirs := flag.Int("dirs", 200, "number of directories to spread them over (0 = all in -dir)")
	minSize := flag.Int64("min", 1024, "smallest file size in bytes")
	maxSize := flag.Int64("max", 16384, "largest file size in bytes")
	seed := flag.Uint64("seed", 1, "PRNG seed")
	flag.Parse()
	if *dir == "" || *files < 0 || *minSize < 0 || *maxSize < *minSize {
		flag.Usage()
		return fmt.Errorf("bad arguments")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0) * 2
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for i := range next {
				if err := writeFile(*dir, i, *dirs, *minSize, *maxSize, *seed, buf); err != nil {
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	for i := range *files {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}

// writeFile writes file i. Its size and bytes depend only on seed and i, so
// the tree is identical whatever the worker scheduling was.
func writeFile(root string, i, dirs int, minSize, maxSize int64, seed uint64, buf []byte) error {
	rng := rand.New(rand.NewPCG(seed, uint64(i)+1<<32))
	dir := root
	if dirs > 0 {
		dir = filepath.Join(root, fmt.Sprintf("d%04d", i%dirs))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	size := minSize
	if maxSize > minSize {
		size += rng.Int64N(maxSize - minSize + 1)
	}
	p := filepath.Join(dir, fmt.Sprintf("f%07d.bin", i))
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		chunk := buf[:n]
		for k := 0; k < len(chunk); k += 8 {
			v := rng.Uint64()
			for b := k; b < min(k+8, len(chunk)); b++ {
				chunk[b] = byte(v >> (8 * (b - k)))
			}
		}
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", p, err)
		}
		left -= n
	}
	return f.Close()
}
