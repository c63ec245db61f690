package config

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// decode fills cfg from the decoded document with mapstructure, which does
// the key matching (matchKey), the weak typing of parsers and environment
// text (WeaklyTypedInput: "8" for a count, 1 for a bool, a single glob for
// a list), sizes, durations and timetables (their UnmarshalText) and
// reports unknown keys (ErrorUnused). Every error it finds is added to p
// with its key path, together: one run names every wrong type.
func decode(tree map[string]any, cfg *Config, p *problems, origin map[string]string) error {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(decodeHook, mapstructure.TextUnmarshallerHookFunc()),
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		MatchName:        func(key, field string) bool { return canonKey(key) == field },
		Result:           cfg,
	})
	if err != nil {
		return fmt.Errorf("config: build decoder: %w", err)
	}
	if err := dec.Decode(tree); err != nil {
		var unknown, typed []string
		for _, e := range flatten(err) {
			var de *mapstructure.DecodeError
			if !errors.As(e, &de) {
				typed = append(typed, e.Error())
				continue
			}
			if keys, ok := strings.CutPrefix(de.Unwrap().Error(), "has invalid keys: "); ok {
				for _, k := range strings.Split(keys, ", ") {
					unknown = append(unknown, unknownKey(de.Name(), k))
				}
				continue
			}
			msg := describeError(de.Unwrap())
			if env, ok := origin[de.Name()]; ok {
				msg += " (from " + env + ")"
			}
			p.bad = append(p.bad, de.Name())
			typed = append(typed, de.Name()+": "+msg)
		}
		p.list = append(p.list, append(unknown, typed...)...)
	}
	return nil
}

// problems gathers every error found while loading, each with its key path.
type problems struct {
	list []string
	// bad holds key paths whose value could not be decoded; validation
	// messages about those keys would only repeat the problem.
	bad []string
}

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// coversBad reports whether msg is about a key that already failed to decode.
func (p *problems) coversBad(msg string) bool {
	return slices.ContainsFunc(p.bad, func(b string) bool {
		return strings.HasPrefix(msg, b+":") || strings.HasPrefix(msg, b+".") || strings.HasPrefix(msg, b+"[")
	})
}

// flatten undoes the errors.Join and the wrapping of mapstructure, at
// every level, down to one error per key.
func flatten(err error) []error {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		var out []error
		for _, inner := range e.Unwrap() {
			out = append(out, flatten(inner)...)
		}
		return out
	case *mapstructure.DecodeError:
		if _, joined := e.Unwrap().(interface{ Unwrap() []error }); joined {
			return flatten(e.Unwrap())
		}
	default:
		if inner := errors.Unwrap(err); inner != nil {
			return flatten(inner)
		}
	}
	return []error{err}
}

// decodeHook does what mapstructure's weak typing does not: a plain path
// is a directory source, a number is a size, a duration in seconds or a
// bandwidth, a fraction is no count (mapstructure would truncate 1.5 to 1),
// and a value of the wrong shape is named in the author's words.
func decodeHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	rv := reflect.ValueOf(data)
	num := rv.CanInt() || rv.CanUint() || rv.CanFloat()
	_, isMap := data.(map[string]any)
	switch {
	case data == nil || rv.Type() == to || isText(to) && rv.Kind() == reflect.String:
	case to == reflect.TypeFor[Source]() && rv.Kind() == reflect.String:
		return Source{Type: "fs", Path: rv.String()}, nil
	case isText(to) && num:
		s := fmt.Sprint(data)
		if rv.CanFloat() {
			s = strconv.FormatFloat(rv.Float(), 'f', -1, 64)
		}
		if to == reflect.TypeFor[Duration]() {
			s += "s" // a number of seconds
		}
		return s, nil
	case isText(to), isSection(to) && !isMap,
		to.Kind() == reflect.Map && !isMap,
		to.Kind() == reflect.Slice && isSection(to.Elem()) && rv.Kind() != reflect.Slice:
		return nil, fmt.Errorf("must be %s, got %s", describeType(to), describeValue(data))
	case to.Kind() == reflect.Int && rv.CanFloat():
		if f := rv.Float(); f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			return nil, fmt.Errorf("%v is not a whole number", f)
		}
	}
	return data, nil
}

// describeError words a decoding error for a config author.
func describeError(err error) string {
	var ute *mapstructure.UnconvertibleTypeError
	var pe *mapstructure.ParseError
	switch {
	case errors.As(err, &ute):
		return fmt.Sprintf("must be %s, got %s", describeType(ute.Expected.Type()), describeValue(ute.Value))
	case errors.As(err, &pe) && pe.Expected.Kind() == reflect.Bool:
		return fmt.Sprintf("%q is not true or false", fmt.Sprint(pe.Value))
	case errors.As(err, &pe):
		return fmt.Sprintf("%q is not %s", fmt.Sprint(pe.Value), describeType(pe.Expected.Type()))
	}
	return err.Error()
}

// describeType names a schema type in the words a config author knows.
func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Size]():
		return "a size such as 8MiB"
	case reflect.TypeFor[Duration]():
		return "a duration such as 10s"
	case reflect.TypeFor[BwLimit]():
		return "a rate such as 10M or a timetable such as \"08:00,512k 19:00,off\""
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	case reflect.Map:
		return "a table of key: value pairs"
	}
	return "a table of keys"
}

// describeValue names the kind of a decoded value without printing it.
func describeValue(v any) string {
	rv := reflect.ValueOf(v)
	switch {
	case v == nil:
		return "nothing"
	case rv.CanInt() || rv.CanUint():
		return "a whole number"
	case rv.CanFloat():
		return "a number"
	case rv.Kind() == reflect.Map:
		return "a table"
	}
	return "a " + map[reflect.Kind]string{reflect.String: "string", reflect.Bool: "boolean", reflect.Slice: "list"}[rv.Kind()]
}

// unknownKey words a key that the section at path does not have, with the
// likeliest key meant, or says it is a second spelling of a key.
func unknownKey(path, key string) string {
	fields := fieldTags(typeAt(path))
	full := join(path, key)
	if _, ok := fields[canonKey(key)]; ok {
		return fmt.Sprintf("%s: set twice (as %q and %q)", join(path, canonKey(key)), key, canonKey(key))
	}
	best, bestD := "", 3
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if d := editDistance(canonKey(key), name); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		return full + ": unknown key"
	}
	return fmt.Sprintf("%s: unknown key (did you mean %q?)", full, best)
}

// typeAt is the schema type of the section at a key path such as
// jobs[0].destinations[1].
func typeAt(path string) reflect.Type {
	t := reflect.TypeFor[Config]()
	for _, seg := range strings.FieldsFunc(path, func(r rune) bool { return r == '.' }) {
		name, _, _ := strings.Cut(seg, "[")
		f, ok := fieldTags(t)[name]
		if !ok {
			return reflect.TypeFor[struct{}]()
		}
		t = f.Type
		for i := strings.Count(seg, "["); i > 0; i-- {
			t = t.Elem()
		}
	}
	return t
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
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
	for i := 0; t.Kind() == reflect.Struct && i < t.NumField(); i++ {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if f.Anonymous && opts == "squash" {
			maps.Copy(out, fieldTags(f.Type))
		} else if tag != "" && tag != "-" {
			out[tag] = f
		}
	}
	return out
}

// isText reports whether t is a value written as text (a size, a
// duration, a bandwidth timetable), whatever its Go kind.
func isText(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// isSection reports whether t is a table of keys (a struct) rather than a value.
func isSection(t reflect.Type) bool { return t.Kind() == reflect.Struct }

// join appends a key to a key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list index to a key path.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
