package s3client

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/smithy-go/logging"
)

// The SDK's warnings arrive as JSON records of the agent's log, at warn.
func TestSDKLogLinesGoThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	l := sdkLogger{slog.New(slog.NewJSONHandler(&buf, nil))}
	l.Logf(logging.Warn, "retrying request %s, attempt %d", "PutObject", 2)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON record: %q: %v", buf.String(), err)
	}
	if m["level"] != "WARN" || m["msg"] != "retrying request PutObject, attempt 2" || m["component"] != "aws-sdk" {
		t.Errorf("record %v", m)
	}
}
