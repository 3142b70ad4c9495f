package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// maxSecretFile bounds what file() reads: a secret file holds one password or
// key, and a mistyped path to a dump or an image should fail, not fill memory.
const maxSecretFile = 1 << 20

// evalContext is built before any block is decoded (functions first, as in
// Nomad and Packer), so every attribute sees the same env() and file().
// Relative paths in file() are taken from dir, the directory of the policy
// file, so the daemon's working directory does not matter. Every value the
// two return is added to *seen with the call it came from, so that no
// diagnostic shows it (decoder.scrub).
func evalContext(dir string, seen *[]sourced) *hcl.EvalContext {
	return &hcl.EvalContext{
		Functions: map[string]function.Function{
			"env":  recording(envFunc, "env", seen),
			"file": recording(fileFunc(dir), "file", seen),
		},
	}
}

// sourced is a value that came from env() or file(), and from which call.
type sourced struct{ value, source string }

// recording wraps f so that each string it returns is added to *seen.
func recording(f function.Function, name string, seen *[]sourced) function.Function {
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, err := f.Call(args)
			if err == nil && v.IsKnown() && !v.IsNull() && v.Type() == cty.String && v.AsString() != "" {
				*seen = append(*seen, sourced{v.AsString(), fmt.Sprintf("%s(%q)", name, args[0].AsString())})
			}
			return v, err
		},
	})
}

// envFunc returns the value of an environment variable, or "" when it is
// unset: an empty password means "none" (trust or peer authentication), so an
// unset variable is not an error here. Whoever needs the secret complains.
var envFunc = function.New(&function.Spec{
	Description: "Returns the value of the environment variable NAME, or \"\" if it is unset.",
	Params:      []function.Parameter{{Name: "name", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		name := args[0].AsString()
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return cty.NilVal, function.NewArgErrorf(0, "%q is not an environment variable name", name)
		}
		return cty.StringVal(os.Getenv(name)), nil
	},
})

// fileFunc returns file(path): the file's content with one trailing newline
// removed (editors add one; a password never ends in one). A file that cannot
// be read is an error: a daemon must not start without its secret. No error
// message contains any of the file's content.
func fileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the content of the file at PATH without its trailing newline.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			if path == "" {
				return cty.NilVal, fmt.Errorf("the path is empty")
			}
			if !filepath.IsAbs(path) && dir != "" {
				path = filepath.Join(dir, path)
			}
			s, err := readSecretFile(path)
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(s), nil
		},
	})
}

// readSecretFile reads a regular file of at most maxSecretFile bytes: a
// FIFO, socket or device is refused at once (opening a FIFO used to block
// `config validate` forever), as is a directory or a larger file.
func readSecretFile(path string) (string, error) {
	b, err := readRegular(path, maxSecretFile)
	switch {
	case errors.Is(err, errTooLarge):
		return "", fmt.Errorf("secret file %s is larger than %d bytes; it should hold one secret", path, maxSecretFile)
	case err != nil:
		// *PathError and *notRegular name the path and the cause, never
		// content.
		return "", fmt.Errorf("cannot read secret file: %w", err)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("secret file %s is not UTF-8 text", path)
	}
	s := string(b)
	if strings.HasSuffix(s, "\r\n") {
		s = s[:len(s)-2]
	} else if strings.HasSuffix(s, "\n") {
		s = s[:len(s)-1]
	}
	return s, nil
}
