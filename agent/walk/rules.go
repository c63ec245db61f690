package walk

import (
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// A Rule is one ordered filter rule in rclone's filter-file syntax ("+ GLOB"
// includes, "- GLOB" excludes). A job's rules are evaluated before its
// include and exclude lists, in order, and the first that matches decides.
// As in rclone, a pattern starting with "/" is anchored at the source root,
// any other matches at any depth ("dir/f" matches "a/dir/f" too), a
// pattern without "/" matches a name, and one ending in "/" matches a
// directory and everything below it.
type Rule struct {
	Include bool
	Pattern string
}

// rule is a Rule compiled for matching: glob is the pattern for files and
// dir, when not empty, the pattern a directory is matched with (only
// rules that name directories, "x/**" or "x/", decide about them, so that
// "- *" after "+ *.jpg" still lets the walk find the jpgs below).
type rule struct {
	include, anchored bool
	glob, dir         string
}

func compileRule(r Rule) (rule, error) {
	p := r.Pattern
	anchored := strings.HasPrefix(p, "/")
	p = strings.TrimPrefix(p, "/")
	if strings.HasSuffix(p, "/") {
		p += "**"
	}
	if p == "" || !doublestar.ValidatePattern(p) {
		return rule{}, fmt.Errorf("invalid filter rule pattern %q", r.Pattern)
	}
	if !anchored && strings.Contains(p, "/") {
		p = "**/" + p
	}
	c := rule{include: r.Include, anchored: anchored, glob: p}
	if d, ok := strings.CutSuffix(p, "/**"); ok {
		c.dir = d
	}
	return c, nil
}

// decide returns the first rule's verdict on rel, and false when no rule
// matches.
func decide(rules []rule, rel string, isDir bool) (excluded, decided bool) {
	for _, r := range rules {
		var ok bool
		switch {
		case isDir && r.dir == "":
			continue
		case isDir:
			ok = r.matches(r.dir, rel)
		default:
			ok = r.matches(r.glob, rel)
		}
		if ok {
			return !r.include, true
		}
	}
	return false, false
}

// matches matches one of r's patterns: an unanchored one without "/"
// against the name, any other against the whole relative path.
func (r rule) matches(pattern, rel string) bool {
	if !r.anchored && !strings.Contains(pattern, "/") {
		return match(pattern, rel)
	}
	ok, _ := doublestar.Match(pattern, rel)
	return ok
}
