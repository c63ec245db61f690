package walk

import (
	"fmt"
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Filter decides which source paths a job syncs. A pattern without a slash
// matches a name at any depth ("*.tmp"); one with a slash matches the whole
// relative path ("logs/**/*.gz"). Excludes win over includes; when includes
// are given, only files matching one are synced, while directories are still
// descended so their matching contents are found.
type Filter struct {
	include, exclude []string
	// rules come first (rules.go): the first that matches decides.
	rules []rule
}

// NewFilter checks every pattern up front so a typo fails the config, not
// silently the sync.
func NewFilter(include, exclude []string, rules ...Rule) (*Filter, error) {
	for _, p := range append(append([]string{}, include...), exclude...) {
		if !doublestar.ValidatePattern(p) {
			return nil, fmt.Errorf("invalid glob pattern %q", p)
		}
	}
	f := &Filter{include: include, exclude: exclude}
	for _, r := range rules {
		c, err := compileRule(r)
		if err != nil {
			return nil, err
		}
		f.rules = append(f.rules, c)
	}
	return f, nil
}

func match(pattern, rel string) bool {
	if !strings.Contains(pattern, "/") {
		ok, _ := doublestar.Match(pattern, path.Base(rel))
		return ok
	}
	ok, _ := doublestar.Match(strings.TrimPrefix(pattern, "/"), rel)
	return ok
}

// Excluded reports whether rel (a directory's subtree, when isDir) is left out.
func (f *Filter) Excluded(rel string, isDir bool) bool {
	if f == nil {
		return false
	}
	if excluded, ok := decide(f.rules, rel, isDir); ok {
		return excluded
	}
	for _, p := range f.exclude {
		if match(p, rel) {
			return true
		}
	}
	if isDir || len(f.include) == 0 {
		return false
	}
	for _, p := range f.include {
		if match(p, rel) {
			return false
		}
	}
	return true
}
