package main

// Checks that the shipped examples stay true: the reference configuration
// loads and mentions every key of the schema, and the demo script runs.

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/treetest"
)

const examplesDir = "../../examples"

// schemaKeys lists the mapstructure keys of a config struct type and of the
// structs it contains, so that a key added to the schema must be documented.
func schemaKeys(t reflect.Type, out map[string]bool) {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		out[tag] = true
		schemaKeys(f.Type, out)
	}
}

func TestExampleConfigShowsEveryKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(examplesDir, "config.yaml")
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("examples/config.yaml does not load: %v", err)
	}
	modes := map[string]bool{}
	var s3 bool
	for _, j := range cfg.Jobs {
		modes[j.Mode] = true
		for _, d := range j.Destinations {
			s3 = s3 || d.Type == "s3"
		}
	}
	if !modes["once"] || !modes["watch"] || !s3 {
		t.Errorf("examples/config.yaml should show a once job, a watch job and an s3 destination; modes %v, s3 %v", modes, s3)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	schemaKeys(reflect.TypeFor[config.Config](), keys)
	for k := range keys {
		// Set as a key (not only named in a comment). The manifest is
		// shown commented out: its default is derived from the file's
		// path, and a set value would be shared by every copy of the file.
		prefix := `(?m)^[ \t-]*`
		if k == "manifest" {
			prefix = `(?m)^# `
		}
		if !regexp.MustCompile(prefix + regexp.QuoteMeta(k) + `:`).Match(b) {
			t.Errorf("examples/config.yaml does not show the key %q", k)
		}
	}
}

func TestDemoScript(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		requireCI(t, "bash not found: %v", err)
	}
	demo := t.TempDir()
	script, err := filepath.Abs(filepath.Join(examplesDir, "demo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bash, script)
	cmd.Env = append(os.Environ(), "DEMO_DIR="+demo, "EFSSYNC="+binPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	src := filepath.Join(demo, "src")
	treetest.Equal(t, src, filepath.Join(demo, "replica-a"))
	treetest.Equal(t, src, filepath.Join(demo, "replica-b"))
	if n := len(regularFiles(t, src)); n < 200 {
		t.Errorf("demo tree has %d files, want a few hundred", n)
	}
	_, second, ok := strings.Cut(string(out), "second run")
	if !ok || !strings.Contains(second, `"copied":0`) {
		t.Errorf("the second demo run copied something:\n%s", second)
	}
}
