package config

import "strings"

// Adoption policies for a destination entry the manifest has no record of
// (the key adopt). An operator switching from rsync expects a replica that
// already matches to be taken over, not copied again, so adopt is on by
// default.
const (
	// AdoptStat takes over an entry whose type, size and mtime match the
	// source, without reading either side (rsync's quick check).
	AdoptStat = "true"
	// AdoptVerify also hashes the source and the destination copy, and
	// takes the entry over only when the BLAKE3 sums agree.
	AdoptVerify = "verify"
	// AdoptOff copies every entry the manifest has no record of.
	AdoptOff = "false"
	// DefaultAdopt is AdoptStat.
	DefaultAdopt = AdoptStat
)

// setAdoptDefault normalises the spellings YAML, TOML and the environment
// give a boolean (yes, on, 1, ...) to the three policies, and fills the
// default.
func (j *Job) setAdoptDefault() {
	switch strings.ToLower(strings.TrimSpace(j.Adopt)) {
	case "":
		j.Adopt = DefaultAdopt
	case "true", "yes", "on", "1":
		j.Adopt = AdoptStat
	case "false", "no", "off", "0":
		j.Adopt = AdoptOff
	case "verify":
		j.Adopt = AdoptVerify
	}
}

// checkAdopt validates the adopt key of the job at path p.
func (j *Job) checkAdopt(c *checker, p string) {
	c.oneOf(p+".adopt", j.Adopt, AdoptStat, AdoptVerify, AdoptOff)
}
