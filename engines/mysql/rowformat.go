package mysql

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The table data format, "mysql-tsv/1", is exactly what LOAD DATA reads with
// its default field and line options, so a restore streams a part to the
// server untouched:
//
//	FIELDS TERMINATED BY '\t' ENCLOSED BY '' ESCAPED BY '\\' LINES TERMINATED BY '\n'
//
// One line per row, one field per dumped column in the column order the
// schema part records. A value is written as the server sends it with
// character_set_results=binary (the column's own bytes, no conversion), with
// backslash, tab, newline, carriage return and NUL escaped as \\ \t \n \r \0.
// SQL NULL is \N, which no escaped value can be (a value "\N" is written
// \\N), so NULL, the string 'NULL' and the empty string stay three different
// things. Loaded with CHARACTER SET binary, every byte comes back.
const (
	formatTSV    = "mysql-tsv/1"
	formatSchema = "mysql-schema/1"
)

// escapeByte[b] is the letter that follows the backslash for a byte that
// must be escaped, or 0.
var escapeByte = [256]byte{'\\': '\\', '\t': 't', '\n': 'n', '\r': 'r', 0: '0'}

// appendField appends one value to dst, escaped; nil is NULL.
func appendField(dst, v []byte) []byte {
	if v == nil {
		return append(dst, '\\', 'N')
	}
	start := 0
	for i, c := range v {
		if e := escapeByte[c]; e != 0 {
			dst = append(dst, v[start:i]...)
			dst = append(dst, '\\', e)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

// appendRow appends the fields of vals separated by tabs (no newline).
func appendRow(dst []byte, vals [][]byte) []byte {
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, '\t')
		}
		dst = appendField(dst, v)
	}
	return dst
}

// rowEncoder renders the rows of one table: the dumped columns form the line
// that goes into the data part; the digest covers that line followed by the
// generated columns, so verification also proves that the DDL recreated the
// generated columns with the same results.
type rowEncoder struct {
	nData int // the first nData values are dumped; the rest only digested
	buf   []byte
}

// encode returns the digest input for one row and the length of its data
// line prefix. The slice is reused by the next call.
func (e *rowEncoder) encode(vals [][]byte) (line []byte, dataLen int) {
	b := appendRow(e.buf[:0], vals[:e.nData])
	dataLen = len(b)
	for _, v := range vals[e.nData:] {
		b = append(b, '\t')
		b = appendField(b, v)
	}
	e.buf = b
	return b, dataLen
}

// errBadRow reports a malformed line in a data part.
var errBadRow = errors.New("malformed row")

// rowDecoder reads mysql-tsv lines back into values, with LOAD DATA's
// rules: \N alone is NULL; \0 \b \n \r \t \Z and \\ are the usual bytes, a
// backslash before any other byte stands for that byte.
type rowDecoder struct {
	r    *bufio.Reader
	n    int // expected fields per row
	line int
	vals [][]byte
	buf  []byte
}

func newRowDecoder(r io.Reader, fields int) *rowDecoder {
	return &rowDecoder{r: bufio.NewReaderSize(r, 256<<10), n: fields}
}

// next returns the values of the next row (nil entries are NULL), valid
// until the following call, or io.EOF after the last row.
func (d *rowDecoder) next() ([][]byte, error) {
	raw, err := d.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A long row: gather it.
		d.buf = append(d.buf[:0], raw...)
		for err == bufio.ErrBufferFull {
			raw, err = d.r.ReadSlice('\n')
			d.buf = append(d.buf, raw...)
		}
		raw = d.buf
	}
	if err != nil {
		if err == io.EOF {
			if len(raw) == 0 {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("row %d: %w: no newline at the end of the part", d.line+1, errBadRow)
		}
		return nil, err
	}
	d.line++
	raw = raw[:len(raw)-1]
	d.vals = d.vals[:0]
	// Unescaping never lengthens a field, so decode in place.
	for {
		i := bytes.IndexByte(raw, '\t')
		f := raw
		if i >= 0 {
			f = raw[:i]
		}
		d.vals = append(d.vals, unescapeField(f))
		if i < 0 {
			break
		}
		raw = raw[i+1:]
	}
	if len(d.vals) != d.n {
		return nil, fmt.Errorf("row %d: %w: %d fields, want %d", d.line, errBadRow, len(d.vals), d.n)
	}
	return d.vals, nil
}

func unescapeField(f []byte) []byte {
	if len(f) == 2 && f[0] == '\\' && f[1] == 'N' {
		return nil
	}
	i := bytes.IndexByte(f, '\\')
	if i < 0 {
		return f
	}
	out := f[:i]
	for ; i < len(f); i++ {
		c := f[i]
		if c == '\\' && i+1 < len(f) {
			i++
			switch c = f[i]; c {
			case '0':
				c = 0
			case 'b':
				c = '\b'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'Z':
				c = 26
			}
		}
		out = append(out, c)
	}
	return out
}
