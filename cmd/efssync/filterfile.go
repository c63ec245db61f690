package main

// --filter-from reads rclone's filter-file syntax, so a file an operator
// already keeps for `rclone --filter-from` works unchanged:
//
//	# comment          ; comment
//	+ *.jpg            include what matches
//	- /tmp/**          exclude what matches
//	!                  forget the rules read so far
//
// The rules are evaluated before the configuration's include and exclude
// lists, in file order; the first that matches decides.

import (
	"fmt"
	"strings"

	"github.com/efssync/efssync/agent/walk"
)

// readFilterFile reads the rules of one filter file.
func readFilterFile(path string) ([]walk.Rule, error) {
	var rules []walk.Rule
	err := eachLine(path, func(_ int, line string) error {
		r, clear, err := parseFilterLine(line)
		switch {
		case err != nil:
			return err
		case clear:
			rules = rules[:0]
		default:
			rules = append(rules, r)
		}
		return nil
	})
	return rules, err
}

// parseFilterLine parses one line that is neither blank nor a comment.
// clear is true for "!".
func parseFilterLine(line string) (r walk.Rule, clear bool, err error) {
	if line == "!" {
		return r, true, nil
	}
	if len(line) < 3 || line[1] != ' ' || (line[0] != '+' && line[0] != '-') {
		return r, false, fmt.Errorf("%q: want \"+ GLOB\", \"- GLOB\" or \"!\"", line)
	}
	r = walk.Rule{Include: line[0] == '+', Pattern: strings.TrimLeft(line[2:], " ")}
	if r.Pattern == "" {
		return r, false, fmt.Errorf("%q: the rule has no pattern", line)
	}
	if _, err := walk.NewFilter(nil, nil, r); err != nil {
		return r, false, err
	}
	return r, false, nil
}
