package main

// efssync.yaml(5): every configuration key, read from the config.Config
// struct by reflection, so the page cannot list a key the loader does not
// have or miss one it has. Types and defaults come from the code (defaults
// from Config.SetDefaults on a job with an fs and an s3 destination);
// examples are written here for keys whose default is no example.

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/efssync/efssync/config"
)

// configKey is one row of the page.
type configKey struct {
	path, typ, def string
}

// keyExamples holds a value for every key without a default to show.
// TestConfigPageCoversEveryKey fails when a new key has neither.
var keyExamples = map[string]string{
	"metrics.listen":                      "127.0.0.1:9540",
	"metrics.textfile":                    "/var/lib/node_exporter/textfile/efssync.prom",
	"shard.index":                         "3",
	"shard.count":                         "8",
	"reports.max_size":                    "64MiB",
	"reports.max_age":                     "24h",
	"reports.keep":                        "10",
	"reports.retention":                   "720h",
	"jobs[].name":                         "home",
	"jobs[].source.type":                  "s3",
	"jobs[].source.path":                  "/srv/home",
	"jobs[].source.bucket":                "example-bucket",
	"jobs[].source.prefix":                "home/",
	"jobs[].source.region":                "eu-west-1",
	"jobs[].source.endpoint":              "https://s3.example.internal:9000",
	"jobs[].source.path_style":            "true",
	"jobs[].destinations[].name":          "efs-home",
	"jobs[].destinations[].path":          "/mnt/efs/home",
	"jobs[].destinations[].bucket":        "example-bucket",
	"jobs[].destinations[].prefix":        "home/",
	"jobs[].destinations[].region":        "eu-west-1",
	"jobs[].destinations[].endpoint":      "https://s3.example.internal:9000",
	"jobs[].destinations[].path_style":    "true",
	"jobs[].destinations[].sse":           "aws:kms",
	"jobs[].destinations[].kms_key_id":    "alias/efssync",
	"jobs[].destinations[].tags":          "{team: media}",
	"jobs[].include":                      `["**/*.ts", "**/*.m3u8"]`,
	"jobs[].exclude":                      `["**/*.tmp"]`,
	"jobs[].bandwidth":                    "100MiB",
	"jobs[].checksum":                     "true",
	"jobs[].xattrs":                       "true",
	"jobs[].order":                        "[hls]",
	"jobs[].finished.quiet":               "5m",
	"jobs[].after_archive":                "delete",
	"jobs[].adopt":                        "size-mtime",
	"jobs[].check_destination":            "true",
	"jobs[].destinations[].type":          "fs",
	"jobs[].destinations[].storage_class": "STANDARD_IA",
	"jobs[].source.as_of":                 `"2024-05-06T07:08:09Z"`,
	"jobs[].source.glacier.restore":       "true",
	"jobs[].source.glacier.days":          "7",
	"jobs[].source.glacier.tier":          "Bulk",
	"state_dir":                           "/srv/efssync",
	"manifest":                            "/srv/efssync/manifests/home.db",
	"report_dir":                          "/srv/efssync/reports",
}

// derivedDefaults are the defaults computed from the environment or the
// configuration file's name, which SetDefaults cannot show without them.
var derivedDefaults = map[string]string{
	"state_dir":  "$STATE_DIRECTORY (systemd's StateDirectory=, /var/lib/efssync in the units), else ~/.local/state/efssync",
	"manifest":   "STATE_DIR/manifests/<configuration file name>-<hash>.db (one per shard: ...-I-of-N)",
	"report_dir": "STATE_DIR/reports",
}

// configKeys lists every key of the configuration file in struct order.
func configKeys() []configKey {
	defaults := config.Config{Jobs: []config.Job{
		{Destinations: []config.Destination{{Type: "fs"}, {Type: "s3"}}},
		{From: config.Source{Type: "s3"}},
	}}
	defaults.SetDefaults(nil)
	var keys []configKey
	walkKeys(reflect.ValueOf(defaults), "", &keys)
	return keys
}

var (
	sizeType     = reflect.TypeFor[config.Size]()
	durationType = reflect.TypeFor[config.Duration]()
)

// walkKeys appends the keys of struct value v below prefix. Slices of
// structs become "key[]." and take their defaults from every element
// (the first non-zero wins), so fs and s3 destinations both show theirs.
func walkKeys(v reflect.Value, prefix string, keys *[]configKey) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if name == "" && f.Anonymous {
			walkKeys(fv, prefix, keys)
			continue
		}
		path := prefix + name
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct && ft != sizeType && ft != durationType:
			walkKeys(fv, path+".", keys)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			start := len(*keys)
			for j := range fv.Len() {
				var sub []configKey
				walkKeys(fv.Index(j), path+"[].", &sub)
				mergeKeys(keys, start, sub)
			}
		default:
			def := defaultText(fv)
			if d, ok := derivedDefaults[path]; ok {
				def = d
			}
			*keys = append(*keys, configKey{path: path, typ: typeName(ft), def: def})
		}
	}
}

// mergeKeys adds sub to the keys from start on, keeping the first non-empty
// default of a key that is already there.
func mergeKeys(keys *[]configKey, start int, sub []configKey) {
	for _, k := range sub {
		found := false
		for i := start; i < len(*keys); i++ {
			if (*keys)[i].path == k.path {
				found = true
				if (*keys)[i].def == "" {
					(*keys)[i].def = k.def
				}
			}
		}
		if !found {
			*keys = append(*keys, k)
		}
	}
}

func typeName(t reflect.Type) string {
	switch {
	case t == sizeType:
		return "size"
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Pointer:
		return typeName(t.Elem())
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem()) + "s"
	case t.Kind() == reflect.Map:
		return "map of " + typeName(t.Elem()) + "s"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "integer"
	}
	return t.Kind().String()
}

// defaultText renders a default the way the file would spell it; "" for
// no default.
func defaultText(v reflect.Value) string {
	if v.IsZero() {
		return ""
	}
	switch v.Type() {
	case sizeType:
		return sizeText(int64(v.Int()))
	case durationType:
		return time.Duration(v.Int()).String()
	}
	if v.Kind() == reflect.Slice {
		var parts []string
		for i := range v.Len() {
			parts = append(parts, fmt.Sprint(v.Index(i).Interface()))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// sizeText spells a byte count with the largest binary unit that divides it.
func sizeText(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprint(n)
}

// writeConfigPage writes efssync.yaml(5) in roff.
func writeConfigPage(w io.Writer, header string) error {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString(`.SH NAME
efssync.yaml \- configuration file of efssync
.SH SYNOPSIS
.B /etc/efssync/config.yaml
(efssync\-migrate.service),
.B /etc/efssync/live.yaml
(efssync.service),
.BI /etc/efssync/ NAME .yaml
(efssync@NAME.service), or any file given with
.BR "efssync run \-\-config " FILE .
.SH DESCRIPTION
A YAML (or TOML or JSON, by extension) file of settings for the agent and a
list of jobs; each job is one source, its destinations and its rules. Every
key below can also be set with an environment variable: EFSSYNC_ and the key
path in capitals with dots as underscores (EFSSYNC_LOG_LEVEL=debug,
EFSSYNC_SHARD_COUNT=8). A bad file is refused with exit status 2 and every
problem listed with its key path;
.B efssync config check
prints the file as efssync resolves it, defaults filled in.
.PP
.I jobs[]
is a list of jobs and
.I jobs[].destinations[]
a list of destinations in each.
.I jobs[].source
may be a path alone, short for
.IR jobs[].source.path .
A size is bytes or a number with a unit (16MiB, 1G); a duration is a number
with a unit (500ms, 2s, 10m, 1h).
.SH KEYS
`)
	for _, k := range configKeys() {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s", roffEscape(k.path), k.typ)
		if k.def != "" {
			fmt.Fprintf(&b, "; default %s", roffEscape(k.def))
		}
		ex := keyExamples[k.path]
		if ex == "" {
			ex = k.def
		}
		fmt.Fprintf(&b, ".\n.br\nExample: %s: %s\n", roffEscape(lastKey(k.path)), roffEscape(ex))
	}
	b.WriteString(`.SH FILES
.TP
.I /usr/share/doc/efssync/examples/config.yaml
every key with its meaning, commented.
.SH SEE ALSO
.BR efssync (1),
.BR efssync\-run (1),
.BR efssync\-config\-check (1)
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// lastKey is the name a key has in the YAML block it sits in.
func lastKey(path string) string {
	i := strings.LastIndex(path, ".")
	return path[i+1:]
}

// roffEscape keeps text literal in roff: backslashes and hyphens escaped, and
// a leading dot or quote neutralized.
func roffEscape(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
