package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// decodeHook converts decoded file values and environment text into the
// schema's types. It is a mapstructure DecodeHookFuncType. Parsers disagree
// on number types (JSON gives float64, TOML int64, YAML int) and
// environment variables are always text, so each target accepts the
// reasonable spellings and refuses lossy ones (1.5 for a count).
func decodeHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	switch to {
	case reflect.TypeFor[Size]():
		return toSize(data)
	case reflect.TypeFor[Duration]():
		return toDuration(data)
	case reflect.TypeFor[BwLimit]():
		if s, ok := data.(string); ok {
			return ParseBwLimit(s)
		}
		if _, err := toSize(data); err != nil {
			return nil, err
		}
		return ParseBwLimit(fmt.Sprint(data)) // a number of bytes per second
	case reflect.TypeFor[Source]():
		// A plain path is a directory source.
		if s, ok := data.(string); ok {
			return Source{Type: "fs", Path: s}, nil
		}
	}
	rv := reflect.ValueOf(data)
	switch to.Kind() {
	case reflect.String:
		switch {
		case rv.Kind() == reflect.Bool: // adopt: true
			return strconv.FormatBool(rv.Bool()), nil
		case isInt(rv):
			return strconv.FormatInt(rv.Int(), 10), nil
		case isUint(rv):
			return strconv.FormatUint(rv.Uint(), 10), nil
		case isFloat(rv):
			return strconv.FormatFloat(rv.Float(), 'f', -1, 64), nil
		}
	case reflect.Int:
		switch {
		case rv.Kind() == reflect.String:
			n, err := strconv.Atoi(strings.TrimSpace(rv.String()))
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", rv.String())
			}
			return n, nil
		case isFloat(rv):
			f := rv.Float()
			if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
				return nil, fmt.Errorf("%v is not a whole number", f)
			}
			return int(f), nil
		case isUint(rv):
			if rv.Uint() > math.MaxInt32 {
				return nil, fmt.Errorf("%d is too large", rv.Uint())
			}
		}
	case reflect.Bool:
		if rv.Kind() == reflect.String {
			b, err := strconv.ParseBool(strings.TrimSpace(rv.String()))
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", rv.String())
			}
			return b, nil
		}
	case reflect.Slice:
		// A single glob where a list is expected means a list of one.
		if to.Elem().Kind() == reflect.String && rv.Kind() == reflect.String {
			return []any{rv.String()}, nil
		}
	}
	return data, nil
}

func isInt(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

func isUint(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func isFloat(v reflect.Value) bool {
	return v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64
}

// toSize accepts "8MiB"-style text (via Size.UnmarshalText) or a
// non-negative whole number of bytes.
func toSize(data any) (any, error) {
	rv := reflect.ValueOf(data)
	switch {
	case rv.Kind() == reflect.String:
		var s Size
		if err := s.UnmarshalText([]byte(rv.String())); err != nil {
			return nil, err
		}
		return s, nil
	case isInt(rv):
		if rv.Int() < 0 {
			return nil, fmt.Errorf("size must not be negative")
		}
		return Size(rv.Int()), nil
	case isUint(rv):
		if rv.Uint() > math.MaxInt64 {
			return nil, fmt.Errorf("size %d is too large", rv.Uint())
		}
		return Size(rv.Uint()), nil
	case isFloat(rv):
		f := rv.Float()
		if f != math.Trunc(f) || f < 0 || f >= math.MaxInt64 {
			return nil, fmt.Errorf("size must be a non-negative whole number of bytes, got %v", f)
		}
		return Size(f), nil
	}
	return data, nil
}

// toDuration accepts time.ParseDuration text or a number of seconds.
func toDuration(data any) (any, error) {
	rv := reflect.ValueOf(data)
	switch {
	case rv.Kind() == reflect.String:
		var d Duration
		if err := d.UnmarshalText([]byte(rv.String())); err != nil {
			return nil, err
		}
		return d, nil
	case isInt(rv):
		return secondsDuration(rv.Int())
	case isUint(rv):
		if rv.Uint() > math.MaxInt64 {
			return nil, fmt.Errorf("duration of %d seconds is out of range", rv.Uint())
		}
		return secondsDuration(int64(rv.Uint()))
	case isFloat(rv):
		f := rv.Float() * 1e9
		if math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
			return nil, fmt.Errorf("duration of %v seconds is out of range", rv.Float())
		}
		return Duration(int64(f)), nil
	}
	return data, nil
}
