// Package deploy holds no code: its tests check the deployment files of a
// sharded migration (deploy/kubernetes, deploy/aws-batch, deploy/slurm)
// against the real API types of their schedulers and against efssync's own
// configuration loader, so a typo fails here rather than at a customer.
// It is a module of its own (deploy/go.mod, using the efssync module in the
// parent directory), so those API types never enter the efssync binary's
// dependencies; `make test` runs it.
package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/batch"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/yaml"

	"github.com/efssync/efssync/config"
)

// decodeYAML splits a multi-document file and decodes each document into
// the next target, refusing fields the API type does not have.
func decodeYAML(t *testing.T, path string, into ...any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs := regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1)
	if len(docs) != len(into) {
		t.Fatalf("%s: %d documents, want %d", path, len(docs), len(into))
	}
	for i, d := range docs {
		if err := yaml.UnmarshalStrict([]byte(d), into[i]); err != nil {
			t.Fatalf("%s: document %d: %v", path, i+1, err)
		}
	}
}

func env(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

func TestKubernetesIndexedJob(t *testing.T) {
	var job batchv1.Job
	decodeYAML(t, "kubernetes/job.yaml", &job)
	var sc storagev1.StorageClass
	var dest, state corev1.PersistentVolumeClaim
	decodeYAML(t, "kubernetes/storage.yaml", &sc, &dest, &state)
	var cm corev1.ConfigMap
	decodeYAML(t, "kubernetes/configmap.yaml", &cm)

	if job.Kind != "Job" || job.APIVersion != "batch/v1" {
		t.Fatalf("job.yaml is %s %s", job.APIVersion, job.Kind)
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed (it sets JOB_COMPLETION_INDEX)", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("completions and parallelism must both be set to the same N")
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("pod: restartPolicy %q, %d containers", pod.RestartPolicy, len(pod.Containers))
	}
	c := pod.Containers[0]
	if n, _ := env(c, config.ShardCountEnv); n != strconv.Itoa(int(*s.Completions)) {
		t.Errorf("%s = %q, want the completions, %d", config.ShardCountEnv, n, *s.Completions)
	}
	if _, set := env(c, config.EnvKubernetesIndex); set {
		t.Errorf("%s is set by hand; the Indexed Job sets it", config.EnvKubernetesIndex)
	}
	if len(c.Args) < 3 || c.Args[0] != "run" || c.Args[1] != "--config" {
		t.Fatalf("args %q, want run --config FILE", c.Args)
	}

	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("volumeMount %s has no volume", m.Name)
		}
		mounts[m.Name] = m
	}
	if v := vols["source"].PersistentVolumeClaim; v == nil || !v.ReadOnly || !mounts["source"].ReadOnly {
		t.Errorf("the source must be a read-only claim, mounted read-only: %+v %+v", vols["source"], mounts["source"])
	}
	for name, pvc := range map[string]corev1.PersistentVolumeClaim{"dest": dest, "state": state} {
		v := vols[name].PersistentVolumeClaim
		if v == nil || v.ClaimName != pvc.Name || v.ReadOnly {
			t.Errorf("volume %s: %+v, want the writable claim %s", name, vols[name], pvc.Name)
		}
		if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != sc.Name ||
			!slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
			t.Errorf("claim %s: %+v, want ReadWriteMany on %s", pvc.Name, pvc.Spec, sc.Name)
		}
	}
	if sc.Provisioner != "efs.csi.aws.com" {
		t.Errorf("storage class provisioner %q, want the EFS CSI driver", sc.Provisioner)
	}
	cv := vols["config"].ConfigMap
	if cv == nil || cv.Name != cm.Name {
		t.Fatalf("config volume %+v, want the ConfigMap %s", vols["config"], cm.Name)
	}
	file, ok := cm.Data[strings.TrimPrefix(c.Args[2], mounts["config"].MountPath+"/")]
	if !ok {
		t.Fatalf("--config %s is not a key of the ConfigMap mounted at %s", c.Args[2], mounts["config"].MountPath)
	}
	checkConfig(t, file, map[string]string{"source": mounts["source"].MountPath, "dest": mounts["dest"].MountPath, "state": mounts["state"].MountPath},
		[]string{config.ShardCountEnv + "=" + strconv.Itoa(int(*s.Completions)), config.EnvKubernetesIndex + "=3"}, 3, int(*s.Completions))
}

// checkConfig loads a deployed configuration with efssync's own loader, as
// shard index of count would, and checks its paths against the mounts.
func checkConfig(t *testing.T, doc string, mounts map[string]string, envs []string, index, count int) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p, envs)
	if err != nil {
		t.Fatalf("the deployed configuration does not load: %v", err)
	}
	s, err := config.ResolveShard(cfg.Shard, "", envs)
	if err != nil || s != (config.Shard{Index: index, Count: count}) {
		t.Errorf("shard %v, %v; want %d-of-%d", s, err, index, count)
	}
	if cfg.StateDir != mounts["state"] || len(cfg.Jobs) != 1 || cfg.Jobs[0].Source != mounts["source"] ||
		len(cfg.Jobs[0].Destinations) != 1 || cfg.Jobs[0].Destinations[0].Path != mounts["dest"] {
		t.Errorf("configuration paths do not match the mounts %v: %+v", mounts, cfg)
	}
}

// decodeJSON decodes an AWS CLI input file into the SDK's input type,
// refusing fields the API does not have.
func decodeJSON(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestAWSBatchArrayJob(t *testing.T) {
	var def batch.RegisterJobDefinitionInput
	decodeJSON(t, "aws-batch/job-definition.json", &def)
	var sub batch.SubmitJobInput
	decodeJSON(t, "aws-batch/submit-job.json", &sub)
	if def.Type != "container" || def.ContainerProperties == nil || def.JobDefinitionName == nil {
		t.Fatalf("job definition: %+v", def)
	}
	cp := def.ContainerProperties
	if len(cp.Command) < 3 || cp.Command[0] != "run" || cp.Command[1] != "--config" {
		t.Errorf("command %q, want run --config FILE", cp.Command)
	}
	vols := map[string]bool{}
	for _, v := range cp.Volumes {
		vols[*v.Name] = true
		if e := v.EfsVolumeConfiguration; e != nil && (e.FileSystemId == nil || e.TransitEncryption != "ENABLED") {
			t.Errorf("EFS volume %s: %+v, want a file system and transit encryption", *v.Name, e)
		}
	}
	paths := map[string]string{}
	for _, m := range cp.MountPoints {
		if !vols[*m.SourceVolume] {
			t.Errorf("mount point %s has no volume", *m.SourceVolume)
		}
		paths[*m.SourceVolume] = *m.ContainerPath
	}
	if !strings.HasPrefix(cp.Command[2], paths["state"]+"/") {
		t.Errorf("--config %s is not on the state volume %s", cp.Command[2], paths["state"])
	}
	if *sub.JobDefinition != *def.JobDefinitionName || sub.ArrayProperties == nil || sub.ArrayProperties.Size == nil {
		t.Fatalf("submit: %+v", sub)
	}
	size := int(*sub.ArrayProperties.Size)
	if size < 2 || size > 10000 {
		t.Errorf("array size %d: AWS Batch takes 2 to 10,000", size)
	}
	var count string
	for _, e := range sub.ContainerOverrides.Environment {
		if *e.Name == config.ShardCountEnv {
			count = *e.Value
		}
	}
	if count != strconv.Itoa(size) {
		t.Errorf("%s = %q, want the array size %d", config.ShardCountEnv, count, size)
	}
}
