package pgdsn

import (
	"reflect"
	"strings"
	"testing"
)

func TestKeywords(t *testing.T) {
	got, err := Keywords(`host=db1  port=5432 dbname='the \'name\'' user=a\ b password=`)
	want := [][2]string{{"host", "db1"}, {"port", "5432"}, {"dbname", "the 'name'"}, {"user", "a b"}, {"password", ""}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Keywords = %q, %v", got, err)
	}
	for _, bad := range []string{"host", "=x", "password='s3cret"} {
		_, err := Keywords(bad)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Keywords(%q): %v", bad, err)
		}
	}
}
