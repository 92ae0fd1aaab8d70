package main

import (
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// newLogger logs to w (stderr in main). With format "" or "auto" it writes
// human console lines when w is a terminal and JSON lines otherwise, so cron,
// CI and Kubernetes get one parseable object per line; "json" and "console"
// force a format (console is colourless off a terminal or under NO_COLOR).
// level is debug, info, warn (or warning) or error, case-insensitive; ""
// means info. Secrets are never passed to it.
func newLogger(w io.Writer, format, level string) (zerolog.Logger, error) {
	return newLoggerTo(w, w, format, level)
}

// newLoggerTo is newLogger deciding the format and colour from probe (the
// real stream) and writing to out (e.g. a console that keeps log lines off
// the progress bar).
func newLoggerTo(probe, out io.Writer, format, level string) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	switch l := strings.ToLower(strings.TrimSpace(level)); l {
	case "":
	case "warning":
		lvl = zerolog.WarnLevel
	case "debug", "info", "warn", "error":
		lvl, _ = zerolog.ParseLevel(l)
	default:
		return zerolog.Nop(), usageErrorf("--log-level %q: want debug, info, warn or error", level)
	}
	w := out
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "auto":
		if isTerminal(probe) {
			w = consoleWriter(out, colour(probe))
		}
	case "console":
		w = consoleWriter(out, colour(probe))
	case "json":
	default:
		return zerolog.Nop(), usageErrorf("--log-format %q: want console or json", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func consoleWriter(w io.Writer, colour bool) zerolog.ConsoleWriter {
	return zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !colour}
}

// colour reports whether console output to w may use ANSI colours: only on a
// terminal, and not when NO_COLOR is set (https://no-color.org).
func colour(w io.Writer) bool {
	return isTerminal(w) && os.Getenv("NO_COLOR") == ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
