package notify_test

import (
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/notify"
)

// TestEveryEventHasATitle: each event a notify block may subscribe to has
// its name in the catalog, in Chinese and English; an unknown type reads
// as itself.
func TestEveryEventHasATitle(t *testing.T) {
	for _, typ := range config.Events {
		zh, okZH := i18n.Lookup(i18n.ZH, "notify.event."+typ)
		en, okEN := i18n.Lookup(i18n.EN, "notify.event."+typ)
		if !okZH || !okEN {
			t.Errorf("event %s has no name in notify/messages/ (zh-CN %v, en %v)", typ, okZH, okEN)
			continue
		}
		if got := notify.Title(typ); got != zh+" "+en {
			t.Errorf("Title(%s) = %q", typ, got)
		}
	}
	if got := notify.Title("something_new"); got != "something_new" {
		t.Errorf("Title of an unknown type: %q", got)
	}
	ev := notify.Event{Type: config.EventStale, State: notify.StateNotice, Database: "queue", Suppressed: 2}
	if text := ev.Text(); !strings.Contains(text, "数据库 / Database: queue\n") ||
		!strings.Contains(text, "另有 2 条消息因频率限制未发送。2 more messages were held back by the rate limit.") {
		t.Errorf("text:\n%s", text)
	}
}
