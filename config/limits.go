package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits on a policy file. hcl's parser, its evaluator and every walk over
// the syntax tree recurse once (or ten times) per level of nesting, and a Go
// stack overflow ends the process: it is not a panic that recover could
// catch. Measured before these limits: `full = [[[…]]]` 60,000 deep (a
// 120 KB file) or 100,000 nested "(" killed `config validate` and, through
// SIGHUP, the running agent; 30,000 deep took 1.65 s and 830 MB. So the
// bytes are scanned for nesting before hcl parses them, and a file that
// nests deeper than MaxNesting, or is larger than MaxPolicyFile, is refused
// with the place where the limit is passed.
const (
	// MaxPolicyFile is the largest policy file read: a site with a thousand
	// databases writes about 150 KB, and a 1 MB file of small items parses
	// in 1.5 s (allocating 1.4 GB in all, most of it short-lived).
	MaxPolicyFile = 1 << 20
	// MaxNesting is how deep brackets, braces, parentheses, strings,
	// template interpolations and chained operators may nest in a policy
	// file; a real one nests five levels at most.
	MaxNesting = 64
	// MaxTemplateParts is how many pieces (lines of a heredoc, text
	// between escapes and interpolations) one string may have: hcl joins
	// them in quadratic time, and a 20,000-line heredoc took 1.9 s to
	// parse, 80,000 lines 70 s.
	MaxTemplateParts = 1000
)

// notRegular is readRegular's error for anything but a regular file; what
// says what it is ("a named pipe (FIFO)").
type notRegular struct{ path, what string }

func (e *notRegular) Error() string { return e.path + " is " + e.what + ", not a regular file" }

// readRegular reads the regular file at path, at most limit bytes. It opens
// with O_NONBLOCK, so that a FIFO (or a device) is refused at once instead
// of blocking the reader forever, deaf to SIGTERM (*notRegular); errTooLarge
// reports a file over the limit. Errors name the path and the cause, never content.
func readRegular(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		what := "a special file"
		switch m := st.Mode(); {
		case m.IsDir():
			what = "a directory"
		case m&os.ModeNamedPipe != 0:
			what = "a named pipe (FIFO)"
		case m&os.ModeSocket != 0:
			what = "a socket"
		case m&os.ModeDevice != 0:
			what = "a device"
		}
		return nil, &notRegular{path: path, what: what}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: larger than %d bytes", errTooLarge, limit)}
	}
	return b, nil
}

var errTooLarge = errors.New("file too large")

// checkNesting scans src with hcl's lexer (which does not recurse) and
// reports the first place where nesting passes MaxNesting. Every opening
// bracket, brace, parenthesis, quote, heredoc, ${ and %{ if/for is a level
// until it closes; so is every operator (unary, binary, ?, ., index [) since
// the last comma, = or (where it ends an item) newline at the same level,
// because "- - - -x", "a ? b : c ? d : …" and "1+1+1+…" build trees as deep
// as they are long.
func checkNesting(src []byte, filename string) *hcl.Diagnostic {
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	type level struct {
		closer hclsyntax.TokenType
		ops    int
		parts  int // literal pieces, in a string or heredoc
	}
	stack := []level{{}}
	depth := 0 // len(stack)-1 plus the ops of every level
	var prev hclsyntax.TokenType
	for i, t := range toks {
		if t.Type == hclsyntax.TokenComment {
			continue
		}
		before := prev
		prev = t.Type
		top := &stack[len(stack)-1]
		switch t.Type {
		case hclsyntax.TokenNewline:
			// Inside ( ), [ ] and ${ } hcl reads on across newlines:
			// "(1\n+1\n+…" is one chain.
			switch top.closer {
			case hclsyntax.TokenCParen, hclsyntax.TokenCBrack, hclsyntax.TokenTemplateSeqEnd:
				continue
			}
			depth -= top.ops
			top.ops = 0
			continue
		case hclsyntax.TokenComma, hclsyntax.TokenEqual, hclsyntax.TokenFatArrow:
			depth -= top.ops
			top.ops = 0
			continue
		case hclsyntax.TokenPlus, hclsyntax.TokenMinus, hclsyntax.TokenStar, hclsyntax.TokenSlash,
			hclsyntax.TokenPercent, hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual,
			hclsyntax.TokenLessThan, hclsyntax.TokenLessThanEq, hclsyntax.TokenGreaterThan,
			hclsyntax.TokenGreaterThanEq, hclsyntax.TokenAnd, hclsyntax.TokenOr, hclsyntax.TokenBang,
			hclsyntax.TokenQuestion, hclsyntax.TokenDot, hclsyntax.TokenEllipsis:
			top.ops++
			depth++
		}
		if t.Type == hclsyntax.TokenQuotedLit || t.Type == hclsyntax.TokenStringLit {
			if top.parts++; top.parts > MaxTemplateParts {
				return &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "String too long",
					Detail: fmt.Sprintf("This string or heredoc has more than %d lines or pieces (text between escapes and interpolations); a policy file needs far fewer. Put long content in a file.",
						MaxTemplateParts),
					Subject: t.Range.Ptr(),
				}
			}
		}
		var closer hclsyntax.TokenType
		switch t.Type {
		case hclsyntax.TokenOBrace:
			closer = hclsyntax.TokenCBrace
		case hclsyntax.TokenOBrack:
			closer = hclsyntax.TokenCBrack
			switch before {
			case hclsyntax.TokenIdent, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCBrace,
				hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenNumberLit:
				// An index: a[x][y][z] nests like an operator chain.
				top.ops++
				depth++
			}
		case hclsyntax.TokenOParen:
			closer = hclsyntax.TokenCParen
		case hclsyntax.TokenOQuote:
			closer = hclsyntax.TokenCQuote
		case hclsyntax.TokenOHeredoc:
			closer = hclsyntax.TokenCHeredoc
		case hclsyntax.TokenTemplateInterp:
			closer = hclsyntax.TokenTemplateSeqEnd
		case hclsyntax.TokenTemplateControl:
			// %{ if } … %{ endif } nests around what it encloses; the
			// directive's own braces close at once.
			switch directive(toks[i+1:]) {
			case "if", "for":
				stack = append(stack, level{closer: hclsyntax.TokenTemplateControl})
				depth++
			case "endif", "endfor":
				if len(stack) > 1 && stack[len(stack)-1].closer == hclsyntax.TokenTemplateControl {
					depth -= 1 + stack[len(stack)-1].ops
					stack = stack[:len(stack)-1]
				}
			}
			closer = hclsyntax.TokenTemplateSeqEnd
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
			hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			// Pop to the matching opener; a stray closer is hcl's to report.
			for j := len(stack) - 1; j > 0; j-- {
				if stack[j].closer == t.Type {
					for k := len(stack) - 1; k >= j; k-- {
						depth -= 1 + stack[k].ops
					}
					stack = stack[:j]
					break
				}
			}
			continue
		}
		if closer != 0 {
			stack = append(stack, level{closer: closer})
			depth++
		}
		if depth > MaxNesting {
			return &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Nested too deeply",
				Detail: fmt.Sprintf("The policy file nests more than %d levels deep here (brackets, braces, parentheses, strings, template interpolations and chained operators each count a level); a policy file needs a few.",
					MaxNesting),
				Subject: t.Range.Ptr(),
			}
		}
	}
	return nil
}

// directive is the keyword after %{ (whose token includes a ~ strip
// marker).
func directive(toks hclsyntax.Tokens) string {
	if len(toks) > 0 && toks[0].Type == hclsyntax.TokenIdent {
		return string(toks[0].Bytes)
	}
	return ""
}
