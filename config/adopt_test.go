package config

import (
	"strings"
	"testing"
)

func TestAdoptSpellingsAndDefault(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"", AdoptStat}, {"adopt: true", AdoptStat}, {"adopt: yes", AdoptStat}, {"adopt: On", AdoptStat},
		{"adopt: false", AdoptOff}, {"adopt: \"no\"", AdoptOff}, {"adopt: verify", AdoptVerify},
	} {
		cfg := mustLoad(t, "c.yaml", minimalYAML+"    "+c.value+"\n", testEnv)
		if got := cfg.Jobs[0].Adopt; got != c.want {
			t.Errorf("%q: adopt = %q, want %q", c.value, got, c.want)
		}
	}
	env := append(append([]string(nil), testEnv...), "EFSSYNC_JOBS_0_ADOPT=verify")
	if got := mustLoad(t, "c.yaml", minimalYAML, env).Jobs[0].Adopt; got != AdoptVerify {
		t.Errorf("EFSSYNC_JOBS_0_ADOPT=verify: adopt = %q", got)
	}
}

func TestAdoptRejectsUnknownValue(t *testing.T) {
	probs := problemsOf(t, "c.yaml", minimalYAML+"    adopt: maybe\n", testEnv)
	if len(probs) != 1 || !strings.Contains(probs[0], "jobs[0].adopt") || !strings.Contains(probs[0], "maybe") {
		t.Fatalf("problems = %q, want one naming jobs[0].adopt and the value", probs)
	}
}

func TestCheckDestinationKey(t *testing.T) {
	cfg := mustLoad(t, "c.yaml", minimalYAML+"    check_destination: true\n", testEnv)
	if !cfg.Jobs[0].CheckDestination {
		t.Fatal("check_destination: true was not read")
	}
}
