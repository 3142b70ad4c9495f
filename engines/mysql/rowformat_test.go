package mysql

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestAppendField(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{nil, `\N`},
		{[]byte{}, ``},
		{[]byte("NULL"), `NULL`},
		{[]byte(`\N`), `\\N`},
		{[]byte("a\tb\nc\rd\\e\x00f"), `a\tb\nc\rd\\e\0f`},
		{[]byte("中文😀"), "中文😀"},
		{[]byte{0x1a, 0xff, 0x80}, "\x1a\xff\x80"},
	} {
		if got := string(appendField(nil, tc.in)); got != tc.want {
			t.Errorf("appendField(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRowRoundTrip: any values, encoded and decoded with LOAD DATA's rules,
// come back byte for byte, NULL distinct from every string.
func TestRowRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []byte{0, '\\', '\t', '\n', '\r', 'N', 26, 'b', 'Z', '0'}
	var rows [][][]byte
	for i := 0; i < 2000; i++ {
		row := make([][]byte, 4)
		for j := range row {
			switch rng.IntN(6) {
			case 0:
				row[j] = nil
			case 1:
				row[j] = []byte{}
			case 2:
				row[j] = []byte(`\N`)
			default:
				v := make([]byte, rng.IntN(40))
				for k := range v {
					if rng.IntN(3) == 0 {
						v[k] = special[rng.IntN(len(special))]
					} else {
						v[k] = byte(rng.IntN(256))
					}
				}
				row[j] = v
			}
		}
		rows = append(rows, row)
	}
	// One long row, past the decoder's buffer.
	rows = append(rows, [][]byte{bytes.Repeat([]byte("x\t"), 300_000), nil, []byte("end"), {}})

	var buf bytes.Buffer
	for _, r := range rows {
		buf.Write(appendRow(nil, r))
		buf.WriteByte('\n')
	}
	dec := newRowDecoder(&buf, 4)
	for i, want := range rows {
		got, err := dec.next()
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		for j := range want {
			if (want[j] == nil) != (got[j] == nil) || !bytes.Equal(want[j], got[j]) {
				t.Fatalf("row %d field %d: got %q, want %q", i, j, got[j], want[j])
			}
		}
	}
	if _, err := dec.next(); err != io.EOF {
		t.Fatalf("after the last row: %v, want EOF", err)
	}
}

func TestRowDecoderErrors(t *testing.T) {
	if _, err := newRowDecoder(strings.NewReader("a\tb\n"), 3).next(); err == nil {
		t.Error("a row with too few fields decoded")
	}
	if _, err := newRowDecoder(strings.NewReader("a\tb"), 2).next(); err == nil {
		t.Error("a truncated last row decoded")
	}
}

func TestRowEncoderDigestsGenerated(t *testing.T) {
	e := rowEncoder{nData: 2}
	line, n := e.encode([][]byte{[]byte("a"), nil, []byte("g\t")})
	if string(line) != "a\t\\N\tg\\t" || n != len("a\t\\N") {
		t.Errorf("encode = %q, %d", line, n)
	}
}
