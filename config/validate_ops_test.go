package config

import (
	"errors"
	"strings"
	"testing"
)

func TestOpsKeysValidated(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"progress_interval: 10ms\n", "progress_interval: must be at least 1s"},
		{"metrics: {textfile: rel.prom}\n", "metrics.textfile: must be an absolute path"},
		{"metrics: {textfile: /var/lib/x.txt}\n", "metrics.textfile: must end in .prom"},
		{"reports: {keep: -1}\n", "reports.keep: must not be negative"},
		{"reports: {max_size: 1MiB, max_age: 1h, keep: 3, retention: 720h}\n", ""},
	}
	for _, c := range cases {
		_, err := Load(writeConfig(t, "c.yaml", c.yaml+minimalYAML), testEnv)
		var ve *ValidationError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.yaml, err)
		case c.want != "" && (!errors.As(err, &ve) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: got %v, want %q", c.yaml, err, c.want)
		}
	}
}
