package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/spf13/viper"
)

// formats maps a lower-cased file extension to the viper config type.
var formats = map[string]string{".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}

// Load reads the configuration file at path, applies EFSSYNC_* overrides
// from env, fills defaults and validates the result.
//
// The format follows the extension: .yaml/.yml, .toml or .json. Keys are the
// snake_case names of the mapstructure tags; they are matched
// case-insensitively and '-' is accepted for '_' (max-delete, state-dir...).
// A key the schema does not know is an error, never silently ignored, so a
// misspelt "exclude" cannot turn into "sync everything".
//
// env is a list of KEY=VALUE strings such as os.Environ(); it is a parameter
// rather than read from the process so that loading is deterministic in
// tests. When a variable appears twice the first occurrence wins, as with
// os.Getenv. Besides the overrides below, env supplies STATE_DIRECTORY,
// XDG_STATE_HOME and HOME for the state_dir default.
//
// # Environment overrides
//
// Every key can be set by a variable named EFSSYNC_ followed by its key path
// in upper case, with '_' between path elements and list indexes written as
// plain numbers:
//
//	state_dir                          EFSSYNC_STATE_DIR
//	log_level                          EFSSYNC_LOG_LEVEL
//	metrics.listen                     EFSSYNC_METRICS_LISTEN
//	jobs[0].concurrency                EFSSYNC_JOBS_0_CONCURRENCY
//	jobs[0].finished.quiet             EFSSYNC_JOBS_0_FINISHED_QUIET
//	jobs[0].destinations[1].path       EFSSYNC_JOBS_0_DESTINATIONS_1_PATH
//	jobs[0].destinations[0].tags[Team] EFSSYNC_JOBS_0_DESTINATIONS_0_TAGS_Team
//	jobs[0].exclude[2]                 EFSSYNC_JOBS_0_EXCLUDE_2
//	jobs[0].exclude (whole list)       EFSSYNC_JOBS_0_EXCLUDE='["*.tmp","*.part"]'
//
// Values are parsed as the key's type: numbers, true/false, sizes ("8MiB"),
// durations ("10s", or seconds). A whole list of strings is given as a JSON
// array. A tag key is taken verbatim (case preserved) from the rest of the
// name. An index may address an existing element or the one just past the
// end, which appends; variables are applied in index order, so
// EFSSYNC_JOBS_1_* can add a second job. The variables of ReservedEnv
// (EFSSYNC_CONFIG, the command line's path of this file;
// EFSSYNC_MIGRATION_CONFIG, the Slurm script's) and those starting with
// EFSSYNC_TEST_ are not keys and are ignored. Any other EFSSYNC_ variable
// that names no key is an error; EFSSYNC_SHARD_COUNT is a real override.
//
// Errors: an unsupported extension, an unreadable file (naming the path and
// the cause) or a syntax error (naming the file and, where the parser gives
// it, the line) is returned as a plain error. Everything wrong with the
// content — unknown keys, wrong types, invalid values — is gathered into a
// single *ValidationError listing every problem with its key path.
func Load(path string, env []string) (*Config, error) {
	return LoadContext(context.Background(), path, env)
}

// LoadContext is Load that stops, returning ctx's error, when ctx is done:
// validating a configuration of many thousand jobs takes a while, and
// SIGTERM must not wait for it.
func LoadContext(ctx context.Context, path string, env []string) (*Config, error) {
	ext := strings.ToLower(filepath.Ext(path))
	format, ok := formats[ext]
	if !ok {
		return nil, fmt.Errorf("config file %s: unsupported extension %q (use .yaml, .yml, .toml or .json)", path, filepath.Ext(path))
	}

	// viper reads the file and dispatches to the codec for the format. The
	// codec also keeps its own copy of the decoded tree, because viper
	// lower-cases every key it stores, and S3 tag keys are case-sensitive.
	codec := &captureCodec{format: format}
	reg := viper.NewCodecRegistry()
	for _, f := range []string{"yaml", "yml", "toml", "json"} {
		if err := reg.RegisterCodec(f, codec); err != nil {
			return nil, fmt.Errorf("config file %s: register %s codec: %w", path, f, err)
		}
	}
	v := viper.NewWithOptions(viper.WithCodecRegistry(reg))
	v.SetConfigFile(path)
	v.SetConfigType(format)
	if err := v.ReadInConfig(); err != nil {
		var pe *fs.PathError
		var cpe viper.ConfigParseError
		switch {
		case errors.As(err, &pe):
			return nil, fmt.Errorf("config file %s: %w", path, pe.Err)
		case errors.As(err, &cpe):
			return nil, fmt.Errorf("config file %s: %w", path, cpe.Unwrap())
		default:
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	return fromTree(ctx, codec.raw, env, path)
}

// fromTree turns a decoded document, read from the file at path, into a
// validated Config.
func fromTree(ctx context.Context, raw map[string]any, env []string, path string) (*Config, error) {
	p := &problems{}
	root, _ := stringKeys(raw).(map[string]any)
	if root == nil {
		root = map[string]any{}
	}
	origin := applyEnv(root, env, p)
	var cfg Config
	if err := decode(root, &cfg, p, origin); err != nil {
		return nil, err
	}
	cfg.deriveManifest(env, path)
	cfg.SetDefaults(env)
	list, err := cfg.problems(ctx)
	if err != nil {
		return nil, fmt.Errorf("config file %s: validation stopped: %w", path, err)
	}
	for _, msg := range list {
		if !p.coversBad(msg) {
			p.list = append(p.list, msg)
		}
	}
	if len(p.list) > 0 {
		return nil, &ValidationError{Problems: p.list, File: path}
	}
	return &cfg, nil
}

// stringKeys gives every table of a decoded document string keys, as YAML
// allows others (1: x, [a]: b) and mapstructure needs strings.
func stringKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = stringKeys(e)
		}
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = stringKeys(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = stringKeys(e)
		}
	}
	return v
}
