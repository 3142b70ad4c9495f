package postgres

import (
	"reflect"
	"strings"
	"testing"
)

func TestKeywords(t *testing.T) {
	got, err := keywords(`host=db1  port=5432 dbname='the \'name\'' user=a\ b password=`)
	want := [][2]string{{"host", "db1"}, {"port", "5432"}, {"dbname", "the 'name'"}, {"user", "a b"}, {"password", ""}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("keywords = %q, %v", got, err)
	}
	for _, bad := range []string{"host", "=x", "password='s3cret"} {
		_, err := keywords(bad)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("keywords(%q): %v", bad, err)
		}
	}
}
