package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
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
// EFSSYNC_JOBS_1_* can add a second job. EFSSYNC_CONFIG is reserved for the
// command line (the path of this file) and ignored here. Any other EFSSYNC_
// variable that names no key is an error.
//
// Errors: an unsupported extension, an unreadable file (naming the path and
// the cause) or a syntax error (naming the file and, where the parser gives
// it, the line) is returned as a plain error. Everything wrong with the
// content — unknown keys, wrong types, invalid values — is gathered into a
// single *ValidationError listing every problem with its key path.
func Load(path string, env []string) (*Config, error) {
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
	return fromTree(codec.raw, env, path)
}

// captureCodec decodes one format for viper and keeps a case-preserving copy
// of what it decoded. It turns parser errors into messages with line numbers.
type captureCodec struct {
	format string
	raw    map[string]any
}

// Encode is required by viper's Codec interface; Load never writes files.
func (c *captureCodec) Encode(map[string]any) ([]byte, error) {
	return nil, errors.New("config: encoding is not supported")
}

// Decode parses b once, keeps the result, and gives viper a deep copy, so
// viper's in-place key folding cannot touch the tree Load uses.
func (c *captureCodec) Decode(b []byte, v map[string]any) error {
	own := map[string]any{}
	if err := c.parse(b, own); err != nil {
		return err
	}
	for k, val := range own {
		v[k] = deepCopy(val)
	}
	c.raw = own
	return nil
}

// deepCopy copies the maps and lists of a decoded document.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case map[any]any:
		out := make(map[any]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// parse decodes b into m, recovering from a parser panic so that no input
// file can crash the agent.
func (c *captureCodec) parse(b []byte, m map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s parser failed on this input: %v", c.format, r)
		}
	}()
	switch c.format {
	case "yaml":
		// yaml errors already read "yaml: line N: ...".
		return yaml.Unmarshal(b, &m)
	case "toml":
		if err := toml.Unmarshal(b, &m); err != nil {
			var de *toml.DecodeError
			if errors.As(err, &de) {
				row, col := de.Position()
				return fmt.Errorf("toml: line %d, column %d: %s", row, col, de.Error())
			}
			return fmt.Errorf("toml: %w", err)
		}
		return nil
	case "json":
		d := json.NewDecoder(bytes.NewReader(b))
		if err := d.Decode(&m); err != nil {
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &se):
				line, col := lineCol(b, se.Offset)
				return fmt.Errorf("json: line %d, column %d: %s", line, col, se.Error())
			case errors.As(err, &te):
				line, col := lineCol(b, te.Offset)
				return fmt.Errorf("json: line %d, column %d: the document must be an object of settings, not %s", line, col, te.Value)
			}
			return fmt.Errorf("json: %w", err)
		}
		if d.More() {
			line, col := lineCol(b, d.InputOffset())
			return fmt.Errorf("json: line %d, column %d: unexpected data after the top-level object", line, col)
		}
		return nil
	}
	return fmt.Errorf("unsupported format %q", c.format)
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	if off < 0 {
		off = 0
	}
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// problems gathers every error found while loading, each with its key path.
type problems struct {
	list []string
	// bad holds key paths whose value could not be decoded; validation
	// messages about those keys would only repeat the problem.
	bad []string
}

func (p *problems) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path == "" {
		p.list = append(p.list, msg)
		return
	}
	p.list = append(p.list, path+": "+msg)
}

// fromTree turns a decoded document, read from the file at path, into a
// validated Config.
func fromTree(raw map[string]any, env []string, path string) (*Config, error) {
	p := &problems{}
	tree, _ := normalize(raw, reflect.TypeFor[Config](), "", p)
	root, _ := tree.(map[string]any)
	if root == nil {
		root = map[string]any{}
	}
	origin := applyEnv(root, env, p)

	var cfg Config
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:  decodeHook,
		ErrorUnused: true,
		Result:      &cfg,
	})
	if err != nil {
		return nil, fmt.Errorf("config: build decoder: %w", err)
	}
	if err := dec.Decode(root); err != nil {
		collectDecodeErrors(err, p, origin)
	}

	cfg.deriveManifest(env, path)
	cfg.SetDefaults(env)
	for _, msg := range cfg.problems() {
		if !p.coversBad(msg) {
			p.list = append(p.list, msg)
		}
	}
	if len(p.list) > 0 {
		return nil, &ValidationError{Problems: p.list}
	}
	return &cfg, nil
}

// coversBad reports whether msg is about a key that already failed to decode.
func (p *problems) coversBad(msg string) bool {
	for _, b := range p.bad {
		if strings.HasPrefix(msg, b+":") || strings.HasPrefix(msg, b+".") || strings.HasPrefix(msg, b+"[") {
			return true
		}
	}
	return false
}

// collectDecodeErrors flattens mapstructure's joined errors into problems.
func collectDecodeErrors(err error, p *problems, origin map[string]string) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collectDecodeErrors(e, p, origin)
		}
		return
	}
	var de *mapstructure.DecodeError
	if !errors.As(err, &de) {
		p.add("", "%s", err.Error())
		return
	}
	inner := de.Unwrap()
	if j, ok := inner.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collectDecodeErrors(e, p, origin)
		}
		return
	}
	name := de.Name()
	msg := inner.Error()
	var ute *mapstructure.UnconvertibleTypeError
	if errors.As(inner, &ute) {
		msg = fmt.Sprintf("must be %s, got %s", describeType(ute.Expected.Type()), describeValue(ute.Value))
	}
	if env, ok := origin[name]; ok {
		msg += " (from " + env + ")"
	}
	p.bad = append(p.bad, name)
	p.add(name, "%s", msg)
}

// describeType names a schema type in the words a config author knows.
func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Size]():
		return "a size such as 8MiB"
	case reflect.TypeFor[Duration]():
		return "a duration such as 10s"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a table of keys"
	}
	return t.String()
}

// describeValue names the kind of a decoded value without printing it.
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a table"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

// canonKey folds a key the way users may spell it onto the schema's
// snake_case: case-insensitive, '-' for '_'.
func canonKey(k string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "-", "_")
}

// fieldTags lists the mapstructure tags of a struct type with their fields.
func fieldTags(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		out[tag] = f
	}
	return out
}

// asMap accepts the map shapes the parsers produce (YAML may give
// map[any]any for non-string keys) and returns string keys.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[fmt.Sprint(k)] = val
		}
		return out, true
	}
	return nil, false
}

// isSection reports whether t is a table of keys the loader walks (a
// struct) rather than a value.
func isSection(t reflect.Type) bool { return t.Kind() == reflect.Struct }

// normalize walks a decoded document alongside the schema type t. It
// canonicalises keys, reports unknown and doubled keys and values of the
// wrong shape (with their key path), and returns a tree mapstructure can
// decode. Values it cannot use are dropped after being reported.
func normalize(v any, t reflect.Type, path string, p *problems) (any, bool) {
	if s, ok := v.(string); ok && t == reflect.TypeFor[Source]() {
		return s, true // a directory source written as its path
	}
	switch {
	case isSection(t):
		if v == nil {
			return map[string]any{}, true
		}
		m, ok := asMap(v)
		if !ok {
			p.add(path, "must be a table of keys, got %s", describeValue(v))
			p.bad = append(p.bad, path)
			return nil, false
		}
		fields := fieldTags(t)
		out := make(map[string]any, len(m))
		spelled := map[string]string{}
		for _, k := range sortedKeys(m) {
			ck := canonKey(k)
			f, known := fields[ck]
			if !known {
				msg := "unknown key"
				if s := suggest(ck, fields); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				p.add(join(path, k), "%s", msg)
				continue
			}
			if prev, dup := spelled[ck]; dup {
				p.add(join(path, ck), "set twice (as %q and %q)", prev, k)
				continue
			}
			spelled[ck] = k
			if nv, ok := normalize(m[k], f.Type, join(path, ck), p); ok {
				out[ck] = nv
			}
		}
		return out, true

	case t.Kind() == reflect.Slice && isSection(t.Elem()):
		if v == nil {
			return nil, false
		}
		l, ok := v.([]any)
		if !ok {
			p.add(path, "must be a list, got %s", describeValue(v))
			p.bad = append(p.bad, path)
			return nil, false
		}
		out := make([]any, len(l))
		for i, e := range l {
			ne, ok := normalize(e, t.Elem(), index(path, i), p)
			if !ok {
				ne = map[string]any{}
			}
			out[i] = ne
		}
		return out, true

	case t.Kind() == reflect.Map:
		if v == nil {
			return nil, false
		}
		m, ok := asMap(v)
		if !ok {
			p.add(path, "must be a table of key: value pairs, got %s", describeValue(v))
			p.bad = append(p.bad, path)
			return nil, false
		}
		// Map keys are data (S3 tag keys), not schema: kept verbatim.
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[k] = val
		}
		return out, true
	}
	return v, true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// join appends a key to a key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list index to a key path.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// suggest returns the known key closest to an unknown one, if it is close
// enough to be a likely typo.
func suggest(k string, fields map[string]reflect.StructField) string {
	best, bestD := "", 3
	for name := range fields {
		if d := editDistance(k, name); d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if bestD > 2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
