// Package logging builds dbopsd's hclog loggers and routes the standard
// library's and the database drivers' logs through them, so everything a
// process prints goes one way: text or JSON (--log-json) on stderr.
package logging

import (
	"io"
	"log"
	"os"

	"github.com/go-sql-driver/mysql"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/term"
)

// Options configure the root logger.
type Options struct {
	JSON   bool
	Level  string // trace, debug, info, warn, error; default info
	Output io.Writer
}

// New returns the root logger "dbopsd" and makes it the destination of the
// standard log package and of the MySQL driver's logger.
func New(o Options) hclog.Logger {
	out := o.Output
	if out == nil {
		out = os.Stderr
	}
	level := hclog.LevelFromString(o.Level)
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	color := hclog.ColorOff
	if f, ok := out.(*os.File); ok && !o.JSON && term.IsTerminal(int(f.Fd())) {
		color = hclog.AutoColor
	}
	l := hclog.New(&hclog.LoggerOptions{
		Name: "dbopsd", Level: level, Output: out, JSONFormat: o.JSON, Color: color,
		TimeFormat: "2006-01-02T15:04:05.000Z07:00",
	})
	std := l.Named("stdlib").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true})
	log.SetOutput(std)
	log.SetFlags(0)
	_ = mysql.SetLogger(l.Named("driver.mysql").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}))
	return l
}
