package request_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbopsd/dbopsd/request"
)

// FuzzParseRequest feeds arbitrary bytes to the parser. It must never panic,
// and what it accepts must survive a write and a second parse unchanged: the
// canonical bytes, which signatures cover, are a function of the request.
//
// CI runs it briefly: go test -run=^$ -fuzz=FuzzParseRequest -fuzztime=10s ./request/
func FuzzParseRequest(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"version":1}`))
	f.Add([]byte(`[{"a":"\ud800"}]`))
	f.Add([]byte("{\"reason\":\"\u2028\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := request.Parse(data)
		if err != nil {
			if r != nil {
				t.Fatal("a request and an error")
			}
			return
		}
		out := r.Marshal()
		r2, err := request.Parse(out)
		if err != nil {
			t.Fatalf("accepted input does not survive a write: %v\n%s", err, out)
		}
		if !bytes.Equal(r.Canonical(), r2.Canonical()) || !bytes.Equal(out, r2.Marshal()) {
			t.Fatalf("round trip changed the request:\n%s\n%s", r.Canonical(), r2.Canonical())
		}
		if len(r.Canonical()) > request.MaxSize {
			t.Fatal("canonical form larger than any file")
		}
	})
}
