package agent

import (
	"os"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// Objects an earlier efssync archived carry the source's mtime in their
// metadata: with the manifest moved aside they are adopted, not uploaded
// again, and with adopt: verify the stored BLAKE3 must agree too.
func TestAdoptS3ObjectsAfterManifestMovedAside(t *testing.T) {
	for _, adopt := range []string{"true", "verify"} {
		t.Run(adopt, func(t *testing.T) {
			f, _, _ := s3Fixture(t, 0)
			f.extra = "    adopt: " + adopt + "\n"
			treetest.Random(t, f.src, 8, 12, 16<<10)
			if sum := f.run(Options{}); !sum.OK() || sum.Copied != 12 {
				t.Fatalf("first run: %+v", sum)
			}
			m := f.config().Manifest
			must(t, os.Rename(m, m+".aside"))
			var c counted
			sum := f.run(Options{WrapDest: c.wrap})
			if !sum.OK() || sum.Adopted != 12 || sum.Copied != 0 || c.all().Begin != 0 {
				t.Fatalf("adopting run: %+v, %+v", sum, c.all())
			}
		})
	}
}
