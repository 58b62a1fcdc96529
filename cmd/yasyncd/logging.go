package main

import (
	"io"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/yasyncd/yasyncd/internal/config"
)

// newLogger builds the process's one logger: console lines on a terminal, JSON for a
// service manager or a pipe (log_format overrides), at log_level, to w (stderr).
func newLogger(cfg *config.Config, w *lockedWriter, tty bool) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, config.Usagef("log_level %q: %v; use one of debug, info, warn, error", cfg.LogLevel, err)
	}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if tty {
			format = "console"
		}
	}
	var enc zapcore.Encoder
	if format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		ec.EncodeCaller = nil
		ec.CallerKey = ""
		ec.StacktraceKey = ""
		if tty {
			ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		ec.TimeKey = "time"
		ec.CallerKey = ""
		ec.StacktraceKey = ""
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, w, level)
	return zap.New(core), nil
}

// lockedWriter serialises writes to the shared stderr and lets the progress display clear
// its line before a log line is printed and draw it again after.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
	// around, when set, wraps each write (the progress bar's clear and redraw).
	around func(write func())
}

func (l *lockedWriter) Write(p []byte) (n int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.around == nil {
		return l.w.Write(p)
	}
	l.around(func() { n, err = l.w.Write(p) })
	return n, err
}

func (l *lockedWriter) Sync() error { return nil }

// setAround installs (or with nil removes) the wrapper of each write.
func (l *lockedWriter) setAround(f func(write func())) {
	l.mu.Lock()
	l.around = f
	l.mu.Unlock()
}
