package main

import (
	"fmt"
	"io"
	"strings"
)

// writeCopyright renders the DEP-5 file. The modules are not files of the
// package, so each gets a Files paragraph under a go-modules/ pseudo-path
// named after it: the format has no other place for code linked into a
// binary, and the path tells a reader which module a paragraph is about.
func writeCopyright(w io.Writer, mainPath string, mods []module) {
	fmt.Fprintf(w, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
	fmt.Fprintf(w, "Upstream-Name: efssync\nSource: https://%s\n", mainPath)
	fmt.Fprintf(w, "Comment: /usr/bin/efssync is a static Go binary. Besides efssync's own code it\n"+
		" contains the Go standard library and the Go modules listed below, each in\n"+
		" a Files paragraph under go-modules/<module path> with the license its\n"+
		" license file states.\n\n")
	fmt.Fprintf(w, "Files: *\nCopyright: the efssync authors\nLicense: Apache-2.0\n")

	texts := map[string]string{} // license → the text of its stand-alone paragraph
	var order []string
	for _, m := range mods {
		holders := m.holders
		if len(holders) == 0 {
			holders = []string{"the " + m.path + " authors"}
		}
		name := m.license
		if name == "unknown" {
			name = "LicenseRef-" + strings.NewReplacer("/", "-", " ", "-").Replace(m.path)
		}
		fmt.Fprintf(w, "\nFiles: go-modules/%s/*\nCopyright: %s\nLicense: %s\nComment: %s %s\n",
			strings.ReplaceAll(m.path, " ", "-"), strings.Join(holders, "\n "), name, m.path, m.version)
		if _, seen := texts[name]; !seen {
			order = append(order, name)
			texts[name] = withoutCopyright(m.text)
		}
	}
	if _, ok := texts["Apache-2.0"]; !ok {
		order = append(order, "Apache-2.0")
	}
	for _, name := range order {
		fmt.Fprintf(w, "\nLicense: %s\n", name)
		if file, ok := commonLicenses[name]; ok {
			fmt.Fprintf(w, " On Debian systems, the complete text of this license is in\n /usr/share/common-licenses/%s.\n", file)
			continue
		}
		w.Write([]byte(indent(texts[name])))
	}
}

// withoutCopyright drops a license text's Copyright lines: the holders are
// in each Files paragraph, and one text serves every module under it.
func withoutCopyright(text string) string {
	var keep []string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "Copyright ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// indent formats a text as a DEP-5 field continuation: every line indented
// by one space, blank lines as " .".
func indent(text string) string {
	var b strings.Builder
	lines := strings.Split(strings.Trim(text, "\n"), "\n")
	for _, line := range lines {
		line = strings.TrimRight(strings.ReplaceAll(line, "\t", "    "), " \r")
		if line == "" {
			b.WriteString(" .\n")
		} else {
			b.WriteString(" " + line + "\n")
		}
	}
	return b.String()
}
