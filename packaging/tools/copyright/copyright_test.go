package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	for text, want := range map[string]string{
		"Apache License\n Version 2.0, January 2004":                                       "Apache-2.0",
		"Permission is hereby\ngranted, free of charge, to any person":                     "Expat",
		"Redistribution and use in source and binary forms ... Neither the name of Google": "BSD-3-clause",
		"Redistribution and use in source and binary forms, with or without":               "BSD-2-clause",
		"Permission to use, copy, modify, and/or distribute this software for any purpose": "ISC",
		"Mozilla Public License Version 2.0":                                               "MPL-2.0",
		"This work is released into the public domain with CC0 1.0.\nCC0 1.0 Universal":    "CC0-1.0",
		"All rights reserved.": "unknown",
	} {
		if got := classify(text); got != want {
			t.Errorf("classify(%q) = %s, want %s", text, got, want)
		}
	}
}

// TestCopyrightOfModule reads a module laid out as the module cache lays
// it out and renders it.
func TestCopyrightOfModule(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, escapePath("github.com/Example/Lib")+"@v1.2.3")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	license := "MIT License\n\nCopyright (c) 2021 Jane Doe\n\nPermission is hereby granted, free of charge, to any person\n\n\tTHE SOFTWARE IS PROVIDED \"AS IS\"\n"
	if err := os.WriteFile(filepath.Join(dir, "LICENSE.md"), []byte(license), 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dir, "github.com/!example/!lib@v1.2.3") {
		t.Fatalf("escaped path %s", dir)
	}
	m, err := readModule("github.com/Example/Lib", "v1.2.3", dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	writeCopyright(&b, "github.com/efssync/efssync", []module{m})
	out := b.String()
	for _, want := range []string{
		"Files: go-modules/github.com/Example/Lib/*\nCopyright: (c) 2021 Jane Doe\nLicense: Expat\nComment: github.com/Example/Lib v1.2.3\n",
		"\nLicense: Expat\n MIT License\n .\n .\n Permission is hereby granted",
		"\n     THE SOFTWARE IS PROVIDED",
		"\nLicense: Apache-2.0\n On Debian systems, the complete text of this license is in\n /usr/share/common-licenses/Apache-2.0.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("copyright lacks %q:\n%s", want, out)
		}
	}
	if _, err := readModule("x", "v0", filepath.Join(cache, "absent")); err == nil || !strings.Contains(err.Error(), "module x v0") {
		t.Errorf("a module missing from the cache: %v, want an error naming it", err)
	}
}
