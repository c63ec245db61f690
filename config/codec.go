package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
	yamlv2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// captureCodec decodes one format for viper and keeps what it decoded,
// case and all. viper's own tree is left empty and never read: viper
// lower-cases every key it stores, and S3 tag keys are case-sensitive. It
// turns parser errors into messages with line numbers.
type captureCodec struct {
	format string
	raw    map[string]any
}

// Encode is required by viper's Codec interface; Load never writes files.
func (c *captureCodec) Encode(map[string]any) ([]byte, error) {
	return nil, errors.New("config: encoding is not supported")
}

// Decode parses b and keeps the result for Load.
func (c *captureCodec) Decode(b []byte, _ map[string]any) error {
	c.raw = map[string]any{}
	return c.parse(b, c.raw)
}

// parse decodes b into m, recovering from a parser panic so that no input
// file can crash the agent.
func (c *captureCodec) parse(b []byte, m map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s parser failed on this input: %v", c.format, r)
		}
	}()
	switch c.format {
	case "yaml":
		if err := yaml.Unmarshal(b, &m); err != nil {
			return yamlLine(b, err)
		}
		return nil
	case "toml":
		return parseTOML(b, m)
	case "json":
		return parseJSON(b, m)
	}
	return fmt.Errorf("unsupported format %q", c.format)
}

// yamlLine makes a YAML syntax error name the line the parser stopped at.
// yaml.v3 names the line where the enclosing block starts (line 1 for a bad
// indent on line 60). yaml.v2, an older binding of the same parser, names
// the problem's own line, counted from 0 for the parser's "did not find
// expected" errors; it is asked for that line, and both lines are given.
func yamlLine(b []byte, err error) error {
	var te *yaml.TypeError
	var v any
	var at, block int
	if errors.As(err, &te) || fmt.Sprint(err) == "" {
		return err
	}
	err2 := yamlv2.Unmarshal(b, &v)
	if err2 == nil {
		return err
	}
	msg, ok := strings.CutPrefix(err2.Error(), "yaml: line ")
	if _, serr := fmt.Sscanf(msg, "%d:", &at); !ok || serr != nil {
		return err
	}
	_, msg, _ = strings.Cut(msg, ": ")
	if strings.HasPrefix(msg, "did not find expected") {
		at++
	}
	if _, serr := fmt.Sscanf(err.Error(), "yaml: line %d:", &block); serr != nil || block >= at {
		return err
	}
	return fmt.Errorf("yaml: line %d: %s (in the block that starts on line %d)", at, msg, block)
}

// parseTOML decodes a TOML document, naming the line and column of a
// syntax error.
func parseTOML(b []byte, m map[string]any) error {
	if err := toml.Unmarshal(b, &m); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return fmt.Errorf("toml: line %d, column %d: %s", row, col, de.Error())
		}
		return fmt.Errorf("toml: %w", err)
	}
	return nil
}

// parseJSON decodes a JSON document that must be one object, naming the
// line and column of a syntax error or of trailing data.
func parseJSON(b []byte, m map[string]any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := lineCol(b, se.Offset)
			return fmt.Errorf("json: line %d, column %d: %s", line, col, se.Error())
		case errors.As(err, &te):
			line, col := lineCol(b, te.Offset)
			return fmt.Errorf("json: line %d, column %d: the document must be an object of settings, not %s", line, col, te.Value)
		}
		return fmt.Errorf("json: %w", err)
	}
	if d.More() {
		line, col := lineCol(b, d.InputOffset())
		return fmt.Errorf("json: line %d, column %d: unexpected data after the top-level object", line, col)
	}
	return nil
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	if off < 0 {
		off = 0
	}
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
