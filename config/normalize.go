package config

import (
	"encoding"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// canonKey folds a key the way users may spell it onto the schema's
// snake_case: case-insensitive, '-' for '_'.
func canonKey(k string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "-", "_")
}

// fieldTags lists the mapstructure tags of a struct type with their fields;
// the fields of an embedded struct tagged ",squash" count as the outer
// struct's own, as mapstructure decodes them.
func fieldTags(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if f.Anonymous && opts == "squash" && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, fieldTags(f.Type))
			continue
		}
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

// isText reports whether t is a value written as text (a size, a
// duration, a bandwidth timetable), whatever its Go kind.
func isText(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
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
	case isText(t):
		return v, true
	case isSection(t):
		return normalizeSection(v, t, path, p)
	case t.Kind() == reflect.Slice && isSection(t.Elem()):
		return normalizeList(v, t, path, p)
	case t.Kind() == reflect.Map:
		return normalizeMap(v, path, p)
	}
	return v, true
}

// normalizeSection normalizes a table of keys against the struct type t.
func normalizeSection(v any, t reflect.Type, path string, p *problems) (any, bool) {
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
}

// normalizeList normalizes a list of tables whose element type is t.Elem().
func normalizeList(v any, t reflect.Type, path string, p *problems) (any, bool) {
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
}

// normalizeMap checks a table of key: value pairs. Its keys are data (S3
// tag keys), not schema: they are kept verbatim.
func normalizeMap(v any, path string, p *problems) (any, bool) {
	if v == nil {
		return nil, false
	}
	m, ok := asMap(v)
	if !ok {
		p.add(path, "must be a table of key: value pairs, got %s", describeValue(v))
		p.bad = append(p.bad, path)
		return nil, false
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		out[k] = val
	}
	return out, true
}

// sortedKeys lists the keys of m in order, so problems are reported in a
// stable order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
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
