package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/efssync/efssync/internal/testbin"
)

// TestPrometheusRules has promtool check the alert rules and run their unit
// tests: among them a fresh install that must alert on nothing and a host
// whose runs never succeed, which must not stay silent.
func TestPrometheusRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testbin.Missing(t, "promtool not found (Debian: prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", "efssync-alerts.yaml"},
		{"test", "rules", "efssync-alerts_test.yaml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// metricName finds the series names in a PromQL expression: efssync's own,
// and anything else named like a series, which the rules and the
// dashboard must not use.
var metricName = regexp.MustCompile(`\b[a-z_:]+_(?:total|seconds|bucket|count|sum|depth|up|success|bytes)\b|\befssync_[a-z_]+\b`)

// documentedSeries reads the series names docs/metrics.md lists.
func documentedSeries(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(efssync_[a-z_]+)`").FindAllStringSubmatch(string(b), -1) {
		names[m[1]] = true
	}
	if len(names) < 5 {
		t.Fatalf("docs/metrics.md lists %d series", len(names))
	}
	return names
}

// checkExprs fails for a series an expression uses that docs/metrics.md
// does not list (a histogram's _bucket, _sum and _count count as it).
func checkExprs(t *testing.T, where string, exprs []string, documented map[string]bool) {
	t.Helper()
	if len(exprs) == 0 {
		t.Fatalf("%s: no expressions", where)
	}
	for _, e := range exprs {
		names := metricName.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("%s: %q uses no efssync series", where, e)
		}
		for _, n := range names {
			base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(n, "")
			if !documented[n] && !documented[base] {
				t.Errorf("%s: %q uses %s, which docs/metrics.md does not list", where, e, n)
			}
		}
	}
}

func TestAlertRulesUseDocumentedSeries(t *testing.T) {
	b, err := os.ReadFile("prometheus/efssync-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
			alerts[r.Alert] = true
		}
	}
	checkExprs(t, "efssync-alerts.yaml", exprs, documentedSeries(t))
	for _, a := range []string{"EfssyncLastSuccessTooOld", "EfssyncNeverSucceeded", "EfssyncFilesFailing",
		"EfssyncReplicationLagHigh", "EfssyncJobRestarting", "EfssyncDestinationDown"} {
		if !alerts[a] {
			t.Errorf("no alert %s", a)
		}
	}
}

func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/efssync.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana/efssync.json: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "query" && strings.Contains(s, "(")) {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	checkExprs(t, "grafana/efssync.json", exprs, documentedSeries(t))
}
