package main

// Static checks of what the packages and the container image ship beside
// the binary: no docker engine is needed (or available in CI) for them.

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/efssync/efssync/config"
)

// dockerfile is the image definition at the repository root.
const dockerfile = "../../Dockerfile"

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

// parseDockerfile splits a Dockerfile into instructions, dropping comments
// and joining lines that end in a backslash.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// TestDockerfile checks the image definition for Kubernetes Jobs: the final
// stage is distroless static and runs efssync as a non-root user, and the
// build stage makes a static binary with the Go version of go.mod.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t, dockerfile)
	last := -1
	for i, in := range ins {
		if in.cmd == "FROM" {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("%s has no FROM", dockerfile)
	}
	if base := ins[last].args; !strings.HasPrefix(base, "gcr.io/distroless/static") || !strings.Contains(base, ":nonroot") {
		t.Errorf("final stage FROM %s, want a gcr.io/distroless/static*:nonroot base", base)
	}
	var user, entrypoint string
	for _, in := range ins[last+1:] {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("final stage USER %q: the image must run as non-root", user)
	}
	var argv []string
	if err := json.Unmarshal([]byte(entrypoint), &argv); err != nil || len(argv) == 0 || argv[0] != packagedBinary {
		t.Errorf("ENTRYPOINT %s, want the exec form running %s (%v)", entrypoint, packagedBinary, err)
	}

	build := ins[:last]
	static := slices.ContainsFunc(build, func(in instruction) bool {
		return in.cmd == "RUN" && strings.Contains(in.args, "CGO_ENABLED=0") && strings.Contains(in.args, "go build")
	})
	if !static {
		t.Errorf("the build stage does not run go build with CGO_ENABLED=0: the binary would need a libc that distroless static lacks")
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if want == nil {
		t.Fatalf("go.mod has no go directive")
	}
	if !slices.Contains(ins, instruction{"ARG", "GO_VERSION=" + string(want[1])}) {
		t.Errorf("Dockerfile lacks ARG GO_VERSION=%s, the Go version of go.mod", want[1])
	}
}

// TestPackagedConfig checks /etc/efssync/config.yaml as the packages ship
// it: as installed it starts nothing (a config error naming the missing
// jobs), and its commented job, once uncommented, is a valid configuration.
func TestPackagedConfig(t *testing.T) {
	t.Parallel()
	const shipped = "../../packaging/config.yaml"
	// As under the shipped units' StateDirectory=.
	env := []string{"STATE_DIRECTORY=" + t.TempDir()}
	_, err := config.Load(shipped, env)
	var ve *config.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || !strings.Contains(err.Error(), "at least one job") {
		t.Errorf("shipped config: %v, want only the validation error that no job is configured", err)
	}
	b, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, "#jobs:")
	if start < 0 {
		t.Fatalf("%s has no commented #jobs: block", shipped)
	}
	for i := start; i < len(lines); i++ {
		lines[i] = strings.TrimPrefix(lines[i], "#")
	}
	edited := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(edited, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(edited, env)
	if err != nil {
		t.Fatalf("shipped config with its job uncommented: %v", err)
	}
	if len(cfg.Jobs) != 1 || len(cfg.Jobs[0].Destinations) != 1 {
		t.Errorf("uncommented config has %d jobs, want one job with one destination", len(cfg.Jobs))
	}
}

// k8sVolume is the part of a pod's volume the Job test looks at.
type k8sVolume struct {
	Name                  string
	PersistentVolumeClaim *struct{} `yaml:"persistentVolumeClaim"`
}

// TestKubernetesJob checks the Job example against the image: the same
// non-root user, the configuration where the image's CMD reads it, and the
// state directory on a persistent volume, without which every pass would
// copy everything again.
func TestKubernetesJob(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../packaging/kubernetes-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Kind string
		Spec struct {
			Parallelism int
			Template    struct {
				Spec struct {
					SecurityContext struct {
						RunAsNonRoot bool  `yaml:"runAsNonRoot"`
						RunAsUser    int64 `yaml:"runAsUser"`
					} `yaml:"securityContext"`
					Containers []struct {
						Args         []string
						VolumeMounts []struct {
							Name      string
							MountPath string `yaml:"mountPath"`
						} `yaml:"volumeMounts"`
					}
					Volumes []k8sVolume
				}
			}
		}
	}
	if err := yaml.Unmarshal(b, &job); err != nil {
		t.Fatalf("kubernetes-job.yaml: %v", err)
	}
	pod := job.Spec.Template.Spec
	if job.Kind != "Job" || job.Spec.Parallelism != 1 || len(pod.Containers) != 1 {
		t.Fatalf("want a Job of parallelism 1 with one container, got %+v", job)
	}
	if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser != 65532 {
		t.Errorf("pod securityContext %+v, want runAsNonRoot and the image's user 65532", pod.SecurityContext)
	}
	c := pod.Containers[0]
	if !slices.Equal(c.Args, []string{"run", "--config", "/etc/efssync/config.yaml"}) {
		t.Errorf("args %v, want the image's run --config /etc/efssync/config.yaml", c.Args)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	if _, ok := mounts["/etc/efssync"]; !ok {
		t.Errorf("nothing mounted at /etc/efssync, where the configuration is read")
	}
	state := mounts["/var/lib/efssync"]
	persistent := slices.ContainsFunc(pod.Volumes, func(v k8sVolume) bool {
		return v.Name == state && v.PersistentVolumeClaim != nil
	})
	if !persistent {
		t.Errorf("/var/lib/efssync (volume %q) is not a persistent volume claim: the manifest would be lost after each pass", state)
	}
}
