package schedule

import (
	"context"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// TestRetryKeepsEveryField fills every field of a Task, the unexported ones
// too, and checks that its retry carries each over except the attempt's own
// state. A field added to Task later is covered without touching this test:
// a retry that listed the fields by hand would lose it here.
func TestRetryKeepsEveryField(t *testing.T) {
	reset := map[string]bool{"Attempt": true, "NotBefore": true, "Started": true, "cancel": true,
		"progress": true, "finished": true, "state": true, "err": true}
	var old Task
	v := reflect.ValueOf(&old).Elem()
	for i := range v.NumField() {
		fill(t, v.Type().Field(i).Name, settable(v.Field(i)))
	}
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	next := old.retry(at)

	if next == &old {
		t.Fatal("retry returned the same task")
	}
	nv := reflect.ValueOf(next).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		was, is := settable(v.Field(i)).Interface(), settable(nv.Field(i)).Interface()
		if reset[name] {
			continue
		}
		if !reflect.DeepEqual(was, is) {
			t.Errorf("retry lost %s: %v became %v", name, was, is)
		}
	}
	if next.Attempt != old.Attempt+1 || !next.NotBefore.Equal(at) || !next.Started.IsZero() || next.cancel != nil ||
		next.progress != (progress{}) || !next.finished.IsZero() || next.state != "" || next.err != "" {
		t.Errorf("retry kept the attempt's state: %+v", next)
	}
	for name := range reset {
		if _, ok := v.Type().FieldByName(name); !ok {
			t.Errorf("Task has no field %s any more: update the list of what a retry resets", name)
		}
	}
}

// settable makes a struct field writable and readable, exported or not.
func settable(f reflect.Value) reflect.Value {
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// fill sets f to a value other than its zero value.
func fill(t *testing.T, name string, f reflect.Value) {
	t.Helper()
	switch {
	case f.Type() == reflect.TypeOf(time.Time{}):
		f.Set(reflect.ValueOf(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
		return
	case f.Type() == reflect.TypeOf(context.CancelFunc(nil)):
		f.Set(reflect.ValueOf(context.CancelFunc(func() {})))
		return
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString("x-" + name)
	case reflect.Bool:
		f.SetBool(true)
	case reflect.Int, reflect.Int64:
		f.SetInt(7)
	case reflect.Uint64:
		f.SetUint(9)
	case reflect.Interface: // an atomic.Value's
		f.Set(reflect.ValueOf("x-" + name))
	case reflect.Struct:
		for i := range f.NumField() {
			fill(t, name+"."+f.Type().Field(i).Name, settable(f.Field(i)))
		}
	default:
		t.Fatalf("fill: field %s is a %s: teach fill to set it", name, f.Type())
	}
}
