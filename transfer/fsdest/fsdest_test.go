package fsdest_test

import (
	"testing"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/transfertest"
)

func TestConformance(t *testing.T) {
	transfertest.RunTests(t, func(t *testing.T) transfer.Destination {
		d, err := fsdest.New("local", t.TempDir(), fsdest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
