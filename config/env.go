package config

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The EFSSYNC_* overrides are this package's own code, not viper's
// AutomaticEnv: viper binds a variable to a key it already knows, so it
// cannot address list entries (EFSSYNC_JOBS_0_CONCURRENCY) or append one,
// and it lower-cases the tag keys a variable names.

// envPrefix starts every override variable; see Load for the scheme.
const envPrefix = "EFSSYNC_"

// ReservedEnv lists the EFSSYNC_ variables that are not configuration keys
// and that the override scheme ignores: each belongs to a program that sets
// it for itself, and failing every run with "unknown key" because of it
// would punish the operator for a name only. Variables starting with
// ReservedEnvPrefix belong to the test harnesses (EFSSYNC_TEST_MINIO, ...)
// and are ignored too. A reserved name must never be a key's variable:
// TestReservedEnvNamesNoKey checks it.
var ReservedEnv = []string{
	// EFSSYNC_CONFIG is the command line's path of the configuration file.
	"EFSSYNC_CONFIG",
	// EFSSYNC_MIGRATION_CONFIG is the configuration file of the shipped
	// Slurm array script (deploy/slurm), older versions of which export it.
	"EFSSYNC_MIGRATION_CONFIG",
}

// ReservedEnvPrefix starts the variables of the test harnesses.
const ReservedEnvPrefix = "EFSSYNC_TEST_"

// reservedEnv reports whether name is ReservedEnv's or the test harnesses'.
func reservedEnv(name string) bool {
	return slices.Contains(ReservedEnv, name) || strings.HasPrefix(name, ReservedEnvPrefix)
}

// maxEnvIndex bounds list indexes in variable names, so a typo cannot make
// the loader allocate a huge list.
const maxEnvIndex = 9999

// lookupEnv returns the first value of key in env, as os.Getenv would.
func lookupEnv(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// envOverride is one EFSSYNC_ variable resolved to a key path.
type envOverride struct {
	name  string // the variable name
	segs  []any  // key path: string keys and int indexes
	value any
}

// applyEnv sets every EFSSYNC_ override into root and returns, for each key
// path it set, the variable that set it (so decode errors can name it).
func applyEnv(root map[string]any, env []string, p *problems) map[string]string {
	seen := map[string]bool{}
	var ovs []envOverride
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || reservedEnv(name) || seen[name] {
			continue
		}
		seen[name] = true
		toks := strings.Split(name[len(envPrefix):], "_")
		segs, t, ok := resolveEnv(reflect.TypeFor[Config](), toks)
		if !ok {
			p.add("%s: unknown key (see the EFSSYNC_* scheme documented for config.Load)", name)
			continue
		}
		v, err := envValue(t, val, segs)
		if err != nil {
			p.add("%s: %v", name, err)
			continue
		}
		ovs = append(ovs, envOverride{name: name, segs: segs, value: v})
	}
	// Index order, so that EFSSYNC_JOBS_1_* appends after EFSSYNC_JOBS_0_*
	// and EFSSYNC_JOBS_10_* comes after EFSSYNC_JOBS_9_*.
	slices.SortFunc(ovs, func(a, b envOverride) int { return compareSegs(a.segs, b.segs) })
	origin := map[string]string{}
	for _, o := range ovs {
		if _, err := setIn(root, o.segs, o.value, false); err != nil {
			p.add("%s: %v", o.name, err)
			continue
		}
		origin[segsPath(o.segs)] = o.name
	}
	return origin
}

// envValue converts a variable's text for a key of type t. Scalars stay
// text (the decode hooks parse them as the key's type); a list of strings
// is read as a JSON array.
func envValue(t reflect.Type, val string, segs []any) (any, error) {
	switch {
	case t == reflect.TypeFor[Source]() || isText(t):
		return val, nil // a directory source's path, or text the decode hook parses
	case isSection(t):
		return nil, fmt.Errorf("names the section %s, not a single value; set its keys one by one", segsPath(segs))
	case t.Kind() == reflect.Slice && isSection(t.Elem()):
		return nil, fmt.Errorf("names the list %s, not a single value; set its entries' keys by index", segsPath(segs))
	case t.Kind() == reflect.Map:
		return nil, fmt.Errorf("names the table %s; set one entry per variable by appending _<key> to the name", segsPath(segs))
	case t.Kind() == reflect.Slice:
		var list []string
		if err := json.Unmarshal([]byte(val), &list); err != nil {
			return nil, fmt.Errorf("a list must be given as a JSON array of strings, e.g. [\"*.tmp\",\"*.part\"]")
		}
		out := make([]any, len(list))
		for i, s := range list {
			out[i] = s
		}
		return out, nil
	}
	return val, nil
}

// resolveEnv matches the '_'-separated tokens of a variable name against the
// schema type t, returning the key path and the type of the key it names.
// Key names contain '_' themselves (state_dir, kms_key_id), so at each level
// it tries the longest run of tokens that names a field first, and backtracks.
func resolveEnv(t reflect.Type, toks []string) ([]any, reflect.Type, bool) {
	if len(toks) == 0 {
		return nil, t, true
	}
	switch {
	case isText(t):
		return nil, nil, false
	case isSection(t):
		fields := fieldTags(t)
		for n := len(toks); n > 0; n-- { // the longest key first: state_dir before state
			key := strings.ToLower(strings.Join(toks[:n], "_"))
			if f, ok := fields[key]; ok {
				if rest, rt, ok := resolveEnv(f.Type, toks[n:]); ok {
					return append([]any{key}, rest...), rt, true
				}
			}
		}
		return nil, nil, false
	case t.Kind() == reflect.Slice:
		i, err := strconv.Atoi(toks[0])
		if err != nil || i < 0 || i > maxEnvIndex || toks[0] != strconv.Itoa(i) {
			return nil, nil, false
		}
		rest, rt, ok := resolveEnv(t.Elem(), toks[1:])
		if !ok {
			return nil, nil, false
		}
		return append([]any{i}, rest...), rt, true
	case t.Kind() == reflect.Map:
		key := strings.Join(toks, "_")
		if key == "" {
			return nil, nil, false
		}
		return []any{key}, t.Elem(), true
	}
	return nil, nil, false
}

// setIn stores val at the key path segs below cur, creating tables and
// list entries as needed, and returns the updated container. A key the
// file spells differently (State-Dir) is found by its canonical form,
// except in a map of data (tags), whose keys are case-sensitive.
func setIn(cur any, segs []any, val any, inData bool) (any, error) {
	if len(segs) == 0 {
		return val, nil
	}
	switch s := segs[0].(type) {
	case string:
		m, ok := cur.(map[string]any)
		if !ok {
			m = map[string]any{}
		}
		key := s
		for k := range m {
			if !inData && canonKey(k) == s {
				key = k
			}
		}
		child, err := setIn(m[key], segs[1:], val, s == "tags" && !inData)
		if err != nil {
			return nil, err
		}
		m[key] = child
		return m, nil
	case int:
		l, _ := cur.([]any)
		if s > len(l) {
			return nil, fmt.Errorf("index %d is past the end of the list (length %d); indexes must be contiguous", s, len(l))
		}
		if s == len(l) {
			l = append(l, nil)
		}
		child, err := setIn(l[s], segs[1:], val, false)
		if err != nil {
			return nil, err
		}
		l[s] = child
		return l, nil
	}
	return nil, fmt.Errorf("bad key path element %v", segs[0])
}

// compareSegs orders key paths element by element, indexes numerically.
func compareSegs(a, b []any) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ai, aInt := a[i].(int)
		bi, bInt := b[i].(int)
		switch {
		case aInt && bInt:
			if c := cmp.Compare(ai, bi); c != 0 {
				return c
			}
		case aInt != bInt:
			if aInt {
				return -1
			}
			return 1
		default:
			if c := cmp.Compare(a[i].(string), b[i].(string)); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}

// segsPath formats a key path the way mapstructure and validation name keys:
// jobs[0].destinations[1].path, and tags[Team] for map entries.
func segsPath(segs []any) string {
	var b strings.Builder
	inMap := false
	for i, s := range segs {
		switch v := s.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		case string:
			switch {
			case inMap:
				fmt.Fprintf(&b, "[%s]", v)
			case i > 0:
				b.WriteString("." + v)
			default:
				b.WriteString(v)
			}
			inMap = v == "tags" && !inMap
		}
	}
	return b.String()
}
