package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"
)

// captureCodec decodes one format for viper and keeps a case-preserving copy
// of what it decoded. It turns parser errors into messages with line numbers.
type captureCodec struct {
	format string
	raw    map[string]any
}

// Encode is required by viper's Codec interface; Load never writes files.
func (c *captureCodec) Encode(map[string]any) ([]byte, error) {
	return nil, errors.New("config: encoding is not supported")
}

// Decode parses b once, keeps the result, and gives viper a deep copy, so
// viper's in-place key folding cannot touch the tree Load uses.
func (c *captureCodec) Decode(b []byte, v map[string]any) error {
	own := map[string]any{}
	if err := c.parse(b, own); err != nil {
		return err
	}
	for k, val := range own {
		v[k] = deepCopy(val)
	}
	c.raw = own
	return nil
}

// deepCopy copies the maps and lists of a decoded document.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case map[any]any:
		out := make(map[any]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
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
		// yaml errors already read "yaml: line N: ...".
		return yaml.Unmarshal(b, &m)
	case "toml":
		return parseTOML(b, m)
	case "json":
		return parseJSON(b, m)
	}
	return fmt.Errorf("unsupported format %q", c.format)
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
