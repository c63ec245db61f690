package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

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
