// Command copyright writes the Debian machine-readable copyright file
// (DEP-5) that the efssync packages ship: efssync's own license, then every
// Go module linked into the binary with the license its LICENSE file in the
// module cache shows. It reads the module list from the binary's build
// info, so it lists exactly what was linked, not what go.mod mentions.
//
//	copyright -modcache DIR -goroot DIR BINARY > copyright
package main

import (
	"debug/buildinfo"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	modcache := flag.String("modcache", "", "the Go module cache (go env GOMODCACHE)")
	goroot := flag.String("goroot", "", "the Go toolchain that built the binary (go env GOROOT)")
	flag.Parse()
	if flag.NArg() != 1 || *modcache == "" || *goroot == "" {
		fmt.Fprintln(os.Stderr, "usage: copyright -modcache DIR -goroot DIR BINARY")
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), *modcache, *goroot); err != nil {
		fmt.Fprintln(os.Stderr, "copyright:", err)
		os.Exit(1)
	}
}

// module is one linked module and what its license file says.
type module struct {
	path, version string
	license       string   // DEP-5 short name
	holders       []string // its Copyright lines, without the word
	text          string   // the license file, for licenses Debian does not ship
}

func run(w io.Writer, binary, modcache, goroot string) error {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("%s: %w", binary, err)
	}
	std, err := readModule("Go standard library", info.GoVersion, goroot)
	if err != nil {
		return err
	}
	mods := []module{std}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		dir := filepath.Join(modcache, escapePath(d.Path)+"@"+d.Version)
		m, err := readModule(d.Path, d.Version, dir)
		if err != nil {
			return err
		}
		mods = append(mods, m)
	}
	writeCopyright(w, info.Main.Path, mods)
	return nil
}

// readModule finds the license file at the top of dir and classifies it.
func readModule(path, version, dir string) (module, error) {
	m := module{path: path, version: version}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return m, fmt.Errorf("module %s %s: %w", path, version, err)
	}
	var text []byte
	for _, e := range entries {
		name := strings.ToUpper(e.Name())
		if e.Type().IsRegular() && (strings.HasPrefix(name, "LICEN") || strings.HasPrefix(name, "COPYING")) {
			if text, err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
				return m, fmt.Errorf("module %s %s: %w", path, version, err)
			}
			break
		}
	}
	if text == nil {
		m.license = "unknown"
		m.text = "No license file was found at the top of the module " + path + " " + version + "."
		return m, nil
	}
	m.license = classify(string(text))
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "Copyright "); ok && !strings.Contains(rest, "[") && !strings.HasPrefix(rest, "notice") &&
			!slices.Contains(m.holders, rest) {
			m.holders = append(m.holders, rest)
		}
	}
	m.text = string(text)
	return m, nil
}

// classify names the license of a license file's text with its DEP-5 short
// name, by the sentences each license is known by; "unknown" otherwise.
func classify(text string) string {
	flat := strings.Join(strings.Fields(text), " ")
	has := func(s string) bool { return strings.Contains(flat, s) }
	switch {
	case has("Apache License") && has("Version 2.0"):
		return "Apache-2.0"
	case has("CC0 1.0 Universal"):
		return "CC0-1.0"
	case has("Mozilla Public License") && (has("Version 2.0") || has("version 2.0")):
		return "MPL-2.0"
	case has("Permission is hereby granted, free of charge"):
		return "Expat"
	case has("Redistribution and use in source and binary forms") && (has("Neither the name") || has("names of its contributors")):
		return "BSD-3-clause"
	case has("Redistribution and use in source and binary forms"):
		return "BSD-2-clause"
	case has("Permission to use, copy, modify, and/or distribute this software for any purpose"),
		has("Permission to use, copy, modify, and distribute this software for any purpose"):
		return "ISC"
	}
	return "unknown"
}

// commonLicenses are the licenses Debian ships in /usr/share/common-licenses,
// which a copyright file refers to instead of repeating.
var commonLicenses = map[string]string{"Apache-2.0": "Apache-2.0", "MPL-2.0": "MPL-2.0", "CC0-1.0": "CC0-1.0"}

// escapePath is the module cache's spelling of a module path: an upper-case
// letter becomes '!' and its lower case, so the cache works on file systems
// that ignore case.
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
