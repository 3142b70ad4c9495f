package diagmodel

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestLogAdd: every entry is counted, the first LogSamples of each
// severity are kept, and a long line is cut to LogSampleBytes on a rune
// boundary (a multi-byte character straddling the limit is dropped whole).
func TestLogAdd(t *testing.T) {
	l := &Log{Counts: map[string]int{}}
	long := strings.Repeat("x", LogSampleBytes-1) + "错误" // the 3-byte rune straddles byte 300
	for i := 0; i < LogSamples+2; i++ {
		l.Add("ERROR", long)
	}
	l.Add("WARNING", "short")
	if l.Counts["ERROR"] != LogSamples+2 || l.Counts["WARNING"] != 1 {
		t.Errorf("counts %v", l.Counts)
	}
	if len(l.Samples) != LogSamples+1 {
		t.Fatalf("%d samples, want %d", len(l.Samples), LogSamples+1)
	}
	for _, s := range l.Samples[:LogSamples] {
		if s.Severity != "ERROR" || s.Text != long[:LogSampleBytes-1] || !utf8.ValidString(s.Text) {
			t.Errorf("sample %q (%d bytes)", s.Severity, len(s.Text))
		}
	}
	if last := l.Samples[LogSamples]; last != (LogEntry{Severity: "WARNING", Text: "short"}) {
		t.Errorf("last sample %+v", last)
	}
}
