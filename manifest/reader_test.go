package manifest

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestReaderMatchesGet asks a Reader for present and absent paths in walk
// order (sorted), with jumps back and forth, and checks every answer
// against DB.Get: the cursor shortcut must never change what is found.
func TestReaderMatchesGet(t *testing.T) {
	db := openTemp(t)
	stored := []string{"a", "a/b", "a/b/c", "a/d", "b", "b.x", "c/\xff", "z"}
	b := db.NewBatch()
	for i, k := range stored {
		r := sampleRecord()
		r.Size = int64(i)
		b.Put("j", k, r)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	probes := append(slices.Clone(stored), "", "0", "a/a", "a/c", "a/e", "aa", "b/", "c", "y", "zz", "\xff")
	slices.Sort(probes)
	rng := rand.New(rand.NewPCG(1, 2))
	sequences := [][]string{probes, stored, {"z", "a", "b"}, {"zz", "a/d", "a/d", "b"}}
	for range 200 {
		seq := make([]string, 1+rng.IntN(12))
		for i := range seq {
			seq[i] = probes[rng.IntN(len(probes))]
		}
		if rng.IntN(2) == 0 {
			slices.Sort(seq)
		}
		sequences = append(sequences, seq)
	}
	for _, seq := range sequences {
		err := db.View("j", func(rd *Reader) error {
			for _, rel := range seq {
				got, ok, err := rd.Get(rel)
				want, wantOK, wantErr := db.Get("j", rel)
				if err != nil || wantErr != nil {
					t.Fatalf("%q in %q: errors %v, %v", rel, seq, err, wantErr)
				}
				if ok != wantOK || got.Size != want.Size {
					t.Fatalf("%q in %q: Reader says (%v, size %d), Get says (%v, size %d)", rel, seq, ok, got.Size, wantOK, want.Size)
				}
				if ok && !recordsEqual(got, want) {
					t.Fatalf("%q: records differ:\n%+v\n%+v", rel, got, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestReaderOnMissingJob finds nothing, without error, for a job with no
// records.
func TestReaderOnMissingJob(t *testing.T) {
	db := openTemp(t)
	err := db.View("none", func(rd *Reader) error {
		if _, ok, err := rd.Get("a"); ok || err != nil {
			t.Fatalf("got ok=%v err=%v", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReaderGetInOrder is the walk's access pattern: a directory's
// entries in name order.
func BenchmarkReaderGetInOrder(b *testing.B) {
	db, keys := benchDB(b, 100_000)
	slices.Sort(keys)
	b.ReportAllocs()
	err := db.View("j", func(rd *Reader) error {
		i := 0
		for b.Loop() {
			if _, ok, err := rd.Get(keys[i%len(keys)]); !ok || err != nil {
				b.Fatalf("%s: %v %v", keys[i%len(keys)], ok, err)
			}
			i++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
