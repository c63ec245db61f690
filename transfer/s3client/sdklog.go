package s3client

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/smithy-go/logging"
)

// sdkLogger hands the AWS SDK's own log lines (retry warnings, checksum
// notices) to slog, so a JSON log stream never carries a raw
// "SDK 2026/11/25 WARN ..." line. A nil logger means slog's default,
// which the command line sets to its own logger.
type sdkLogger struct{ log *slog.Logger }

// Logf implements logging.Logger.
func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	log := l.log
	if log == nil {
		log = slog.Default()
	}
	level := slog.LevelInfo
	switch c {
	case logging.Warn:
		level = slog.LevelWarn
	case logging.Debug:
		level = slog.LevelDebug
	}
	log.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "aws-sdk")
}
