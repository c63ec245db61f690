package manifest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "state", "manifest.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// oddNames are relative paths a POSIX file system allows and the manifest
// must keep byte for byte.
var oddNames = []string{
	"a",
	"dir/file.txt",
	"non-utf8-\xff\xfe\x80",
	"new\nline",
	strings.Repeat("n", 255),
	"dir/" + strings.Repeat("\xc3", 255),
	"space and\ttab",
	"\x01ctrl",
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "sub")
	path := filepath.Join(dir, "manifest.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Path() != path {
		t.Fatalf("Path() = %q", db.Path())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, want 0700", di.Mode().Perm())
	}
}

func TestPutGetWalkRoundTrip(t *testing.T) {
	db := openTemp(t)
	b := db.NewBatch()
	want := map[string]Record{}
	for i, name := range oddNames {
		r := sampleRecord()
		r.Size = int64(i)
		r.LinkTarget = name
		want[name] = r
		b.Put("job", name, r)
	}
	b.Put("other", "a", Record{Size: 99})
	if b.Len() != len(oddNames)+1 {
		t.Fatalf("Len = %d", b.Len())
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Fatalf("Len after commit = %d", b.Len())
	}
	for name, w := range want {
		got, ok, err := db.Get("job", name)
		if err != nil || !ok {
			t.Fatalf("Get(%q) = ok %v, err %v", name, ok, err)
		}
		if !recordsEqual(got, w) {
			t.Fatalf("Get(%q) = %+v, want %+v", name, got, w)
		}
	}
	if _, ok, err := db.Get("job", "missing"); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
	if _, ok, err := db.Get("nojob", "a"); ok || err != nil {
		t.Fatalf("Get(nojob) = %v, %v", ok, err)
	}
	var seen []string
	err := db.Walk("job", func(rel string, r Record) error {
		if !recordsEqual(r, want[rel]) {
			t.Errorf("Walk %q: record differs", rel)
		}
		seen = append(seen, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(oddNames)
	slices.Sort(sorted)
	if !slices.Equal(seen, sorted) {
		t.Fatalf("Walk order %q, want %q", seen, sorted)
	}
	if n, err := db.Count("job"); n != len(oddNames) || err != nil {
		t.Fatalf("Count = %d, %v", n, err)
	}
	err = db.View("job", func(r *Reader) error {
		for name := range want {
			if _, ok, err := r.Get(name); !ok || err != nil {
				return fmt.Errorf("Reader.Get(%q) = %v, %v", name, ok, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := db.Jobs()
	if err != nil || !slices.Equal(jobs, []string{"job", "other"}) {
		t.Fatalf("Jobs = %q, %v", jobs, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}

	// Deletes, and put-then-delete of one path in one batch.
	b.Delete("job", oddNames[0])
	b.Put("job", "tmp", Record{})
	b.Delete("job", "tmp")
	b.Delete("job", "never-existed")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{oddNames[0], "tmp"} {
		if _, ok, _ := db.Get("job", name); ok {
			t.Fatalf("%q still present", name)
		}
	}
	if err := db.DeleteJob("other"); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Count("other"); n != 0 {
		t.Fatalf("Count(other) after DeleteJob = %d", n)
	}
}

func TestBatchRejectsInvalidKeys(t *testing.T) {
	db := openTemp(t)
	for _, c := range []struct{ job, rel string }{{"", "a"}, {"j", ""}, {"j", "a\x00b"}} {
		b := db.NewBatch()
		b.Put("j", "fine", Record{})
		b.Put(c.job, c.rel, Record{})
		if err := b.Commit(); err == nil {
			t.Fatalf("Commit with job %q rel %q succeeded", c.job, c.rel)
		}
		if b.Len() != 2 {
			t.Fatalf("failed commit dropped operations")
		}
		if _, ok, _ := db.Get("j", "fine"); ok {
			t.Fatal("failed commit applied part of the batch")
		}
	}
}

func TestWalkChunksAndCommitsDuringWalk(t *testing.T) {
	db := openTemp(t)
	b := db.NewBatch()
	const n = 3*walkChunk + 7
	for i := range n {
		b.Put("j", fmt.Sprintf("d/%05d\xff", i), Record{Size: int64(i)})
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	i := 0
	err := db.Walk("j", func(rel string, r Record) error {
		if want := fmt.Sprintf("d/%05d\xff", i); rel != want || r.Size != int64(i) {
			return fmt.Errorf("walk #%d: %q size %d", i, rel, r.Size)
		}
		i++
		// Committing inside the walk must not deadlock.
		if i%100 != 0 && i != n {
			return nil
		}
		del := db.NewBatch()
		for j := (i - 1) / 100 * 100; j < i; j++ {
			del.Delete("j", fmt.Sprintf("d/%05d\xff", j))
		}
		return del.Commit()
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("walked %d of %d", i, n)
	}
	if c, _ := db.Count("j"); c != 0 {
		t.Fatalf("Count after deleting all = %d", c)
	}
	stop := errors.New("stop")
	b.Put("j", "x", Record{})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Walk("j", func(string, Record) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Walk error = %v", err)
	}
	if err := db.Walk("nojob", func(string, Record) error { return stop }); err != nil {
		t.Fatalf("Walk of unknown job = %v", err)
	}
}

func TestCorruptRecordIsReported(t *testing.T) {
	db := openTemp(t)
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		files, err := createJobBucket(tx, "j", bucketFiles)
		if err != nil {
			return err
		}
		return files.Put([]byte("bad"), []byte{recordVersion, 0xff})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Get("j", "bad"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("Get = %v", err)
	}
	if err := db.Walk("j", func(string, Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Walk = %v", err)
	}
	if err := db.Check(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check = %v", err)
	}
}

func TestExclusiveOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	db2, err := Open(path)
	if err == nil {
		db2.Close()
		t.Fatal("second Open succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open = %v, want ErrLocked naming %s", err, path)
	}
	// Generous bound: "at once" means not waiting for the holder.
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second Open took %v", d)
	}
	if runtime.GOOS == "linux" && lockOwner(path) == os.Getpid() {
		if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
			t.Fatalf("error does not name the holder: %v", err)
		}
	}
	t.Logf("second open: %v", err)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	db3, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db3.Close()
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, binary.AppendUvarint(nil, 99))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	if !errors.Is(err, ErrNewerVersion) || !strings.Contains(err.Error(), "99") ||
		!strings.Contains(err.Error(), fmt.Sprint(SchemaVersion)) {
		t.Fatalf("Open = %v, want ErrNewerVersion naming 99 and %d", err, SchemaVersion)
	}
	// The refused open must not leave the file locked.
	if _, err := Open(path); errors.Is(err, ErrLocked) {
		t.Fatal("refused Open left the lock held")
	}
}

func TestOpenGarbage(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{
		"text":  []byte("hello, this is not a database\n"),
		"big":   big,
		"zeros": make([]byte, 32<<10),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path)
		if err == nil {
			db.Close()
			t.Fatalf("%s: Open succeeded", name)
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("%s: error does not name the path: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}

	// A valid bbolt file of something else.
	path := filepath.Join(dir, "foreign.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("other"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("foreign bbolt file: Open = %v, want ErrCorrupt", err)
	}
}

// fillManifest writes n records in two jobs plus a few checkpoints.
func fillManifest(t testing.TB, path string, n int) {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := db.NewBatch()
	for i := range n {
		r := sampleRecord()
		r.Size = int64(i)
		b.Put([]string{"a", "b"}[i%2], fmt.Sprintf("dir%03d/file-%06d.ts", i%97, i), r)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := db.PutCheckpoint("a", "s3", fmt.Sprint(i), []byte("u")); err != nil {
			t.Fatal(err)
		}
	}
}

// exercise uses every read and write path; it returns the first error.
func exercise(db *DB) error {
	var errs []error
	for _, job := range []string{"a", "b"} {
		errs = append(errs, db.Walk(job, func(string, Record) error { return nil }))
		_, err := db.Count(job)
		errs = append(errs, err)
		_, _, err = db.Get(job, "dir005/file-000005.ts")
		errs = append(errs, err)
		errs = append(errs, db.Checkpoints(job, func(string, string, []byte) error { return nil }))
	}
	errs = append(errs, db.Check())
	b := db.NewBatch()
	for i := range 50 {
		b.Put("a", fmt.Sprintf("dir%03d/new-%d", i, i), Record{Size: 1})
		b.Delete("b", fmt.Sprintf("dir%03d/file-%06d.ts", i%97, 2*i+1))
	}
	errs = append(errs, b.Commit())
	errs = append(errs, db.PutCheckpoint("a", "s3", "x", []byte("x")))
	return errors.Join(errs...)
}

// TestFlippedBytes damages pages of a valid manifest at random and checks
// that every operation returns (an error or a result) without crashing.
func TestFlippedBytes(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.db")
	fillManifest(t, clean, 5000)
	orig, err := os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := os.Getpagesize()
	if len(orig) < 4*pageSize {
		t.Fatalf("manifest of %d bytes is too small for the test", len(orig))
	}
	// A fixed seed keeps the test deterministic; the fuzz-like coverage
	// comes from the number of iterations.
	rng := rand.New(rand.NewPCG(20241125, 7))
	iterations := 60
	if testing.Short() {
		iterations = 20
	}
	detected := 0
	for it := range iterations {
		data := slices.Clone(orig)
		switch it % 3 {
		case 0: // a few random bytes in data pages
			for range 1 + rng.IntN(8) {
				data[2*pageSize+rng.IntN(len(data)-2*pageSize)] ^= byte(1 + rng.IntN(255))
			}
		case 1: // the header of a data page
			p := 2 + rng.IntN(len(data)/pageSize-2)
			data[p*pageSize+rng.IntN(16)] ^= byte(1 + rng.IntN(255))
		case 2: // a whole page overwritten with noise
			p := 2 + rng.IntN(len(data)/pageSize-2)
			for i := range pageSize {
				data[p*pageSize+i] = byte(rng.Uint32())
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("flip%d.db", it))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path)
		if err != nil {
			detected++
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("Open error does not name the path: %v", err)
			}
			continue
		}
		if err := exercise(db); err != nil {
			detected++
		}
		if err := db.Close(); err != nil {
			detected++
		}
		_ = os.Remove(path)
	}
	t.Logf("%d of %d damaged files reported errors; none crashed", detected, iterations)
}

func TestDamagedMetaPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	fillManifest(t, path, 100)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := os.Getpagesize()
	// One damaged meta page, either one, in its magic, version or
	// checksummed fields: bbolt would fall back to the other and lose a
	// commit without a word; Open refuses the file, naming it and the page.
	for _, c := range []struct {
		page, off int
		cause     string
	}{
		{0, 16, "bad magic"}, {1, 16, "bad magic"},
		{0, 20, "version"}, {1, 20, "version"},
		{0, 40, "checksum"}, {1, 40, "checksum"}, // root bucket
		{0, 64, "checksum"}, {1, 56, "checksum"}, // txid, high-water page
		{0, 72, "checksum"}, {1, 72, "checksum"}, // the checksum itself
	} {
		one := slices.Clone(data)
		one[c.page*pageSize+c.off] ^= 0x5a
		if err := os.WriteFile(path, one, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path)
		if err == nil {
			db.Close()
			t.Errorf("meta page %d byte %d damaged: Open succeeded", c.page, c.off)
			continue
		}
		want := fmt.Sprintf("meta page %d of 2", c.page)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), c.cause) {
			t.Errorf("meta page %d byte %d damaged: Open = %v, want ErrCorrupt naming %s, %q and %q", c.page, c.off, err, path, want, c.cause)
		}
		// The refusal leaves no lock behind: the file can be moved aside
		// and a new manifest opened in its place.
		if _, err := Open(path); errors.Is(err, ErrLocked) {
			t.Fatal("refused Open left the lock held")
		}
	}
	// The undamaged file still opens, and a new file too.
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatalf("undamaged copy: %v", err)
	}
	if n, err := db.Count("a"); err != nil || n != 50 {
		t.Errorf("undamaged copy: %d records, %v", n, err)
	}
	db.Close()
	// Both damaged: the file is unusable and must say so.
	both := slices.Clone(data)
	both[40] ^= 0xff
	both[pageSize+40] ^= 0xff
	if err := os.WriteFile(path, both, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("both meta pages damaged: Open = %v, want ErrCorrupt naming the path", err)
	}
}

func TestCheckpoints(t *testing.T) {
	db := openTemp(t)
	// Checkpoints are opaque bytes to the manifest; any byte survives.
	cp := []byte("up-1\x00\xff{\"parts\":[1,2]}")
	if got, err := db.GetCheckpoint("j", "s3", "x.ts"); got != nil || err != nil {
		t.Fatalf("GetCheckpoint before put = %v, %v", got, err)
	}
	rel := "dir/\xff\nname.ts"
	if err := db.PutCheckpoint("j", "s3", rel, cp); err != nil {
		t.Fatal(err)
	}
	if err := db.PutCheckpoint("j", "s3-b", "x.ts", []byte("up-2")); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetCheckpoint("j", "s3", rel)
	if err != nil || !bytes.Equal(got, cp) {
		t.Fatalf("GetCheckpoint = %q, %v, want %q", got, err, cp)
	}
	var listed []string
	err = db.Checkpoints("j", func(dest, rel string, data []byte) error {
		listed = append(listed, dest+"|"+rel+"|"+string(data[:4]))
		return db.DeleteCheckpoint("j", dest, rel) // allowed during iteration
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"s3|" + rel + "|up-1", "s3-b|x.ts|up-2"}
	if !slices.Equal(listed, want) {
		t.Fatalf("Checkpoints listed %q, want %q", listed, want)
	}
	if got, err := db.GetCheckpoint("j", "s3", rel); got != nil || err != nil {
		t.Fatalf("after delete: %v, %v", got, err)
	}
	if err := db.DeleteCheckpoint("j", "s3", "never"); err != nil {
		t.Fatalf("deleting a missing checkpoint: %v", err)
	}
	if err := db.DeleteCheckpoint("nojob", "s3", "never"); err != nil {
		t.Fatalf("deleting in a missing job: %v", err)
	}
	if err := db.PutCheckpoint("j", "bad\x00dest", "x", cp); err == nil {
		t.Fatal("NUL in destination accepted")
	}
	// Checkpoints and records of the same path do not collide.
	b := db.NewBatch()
	b.Put("j", "x.ts", Record{Size: 1})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.PutCheckpoint("j", "s3", "x.ts", cp); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Count("j"); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	if err := db.DeleteJob("j"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetCheckpoint("j", "s3", "x.ts"); got != nil {
		t.Fatal("DeleteJob kept checkpoints")
	}
}

func TestViewPassesCallerPanics(t *testing.T) {
	db := openTemp(t)
	defer func() {
		if p := recover(); p != "caller bug" {
			t.Fatalf("recovered %v, want the caller's panic", p)
		}
		// The read transaction must have ended: a commit still works.
		b := db.NewBatch()
		b.Put("j", "x", Record{})
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}()
	_ = db.View("j", func(*Reader) error { panic("caller bug") })
}

func TestBatchConcurrentPuts(t *testing.T) {
	db := openTemp(t)
	b := db.NewBatch()
	done := make(chan struct{})
	for w := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 100 {
				b.Put("j", fmt.Sprintf("w%d/%d", w, i), Record{Size: int64(i)})
			}
		}()
	}
	for range 8 {
		<-done
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Count("j"); n != 800 {
		t.Fatalf("Count = %d", n)
	}
}

// benchDB returns a manifest of n records and their keys.
func benchDB(b *testing.B, n int) (*DB, []string) {
	db := openTemp(b)
	batch := db.NewBatch()
	r := sampleRecord()
	keys := make([]string, n)
	for i := range n {
		keys[i] = fmt.Sprintf("dir%04d/segment-%08d.ts", i%1000, i)
		batch.Put("j", keys[i], r)
	}
	if err := batch.Commit(); err != nil {
		b.Fatal(err)
	}
	return db, keys
}

func BenchmarkGet(b *testing.B) {
	db, keys := benchDB(b, 100_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, err := db.Get("j", keys[i%len(keys)]); !ok || err != nil {
			b.Fatal(ok, err)
		}
		i += 7919
	}
}

func BenchmarkReaderGet(b *testing.B) {
	db, keys := benchDB(b, 100_000)
	b.ReportAllocs()
	err := db.View("j", func(rd *Reader) error {
		i := 0
		for b.Loop() {
			if _, ok, err := rd.Get(keys[i%len(keys)]); !ok || err != nil {
				return fmt.Errorf("%v %v", ok, err)
			}
			i += 7919
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkBatchCommit1000(b *testing.B) {
	db := openTemp(b)
	r := sampleRecord()
	batch := db.NewBatch()
	round := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range 1000 {
			batch.Put("j", fmt.Sprintf("dir%03d/seg-%06d-%04d.ts", i%50, round, i), r)
		}
		if err := batch.Commit(); err != nil {
			b.Fatal(err)
		}
		round++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
}

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "hold":
		holdChild()
	case "commit":
		commitChild()
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", os.Getenv(childEnv))
		os.Exit(2)
	}
}
