package i18n

// Message is a sentence kept as its key and parameters rather than as text,
// so that it can be stored (in a report's JSON, the catalog, the register)
// and rendered later in the language of whoever reads it. Its JSON is
// {"key": ..., "params": {...}}; the key keeps its meaning and parameters
// once released (a new sentence gets a new key), so stored messages render
// in later versions too.
type Message struct {
	Key    string `json:"key"`
	Params Params `json:"params,omitempty"`
}

// M is the message of key with params given as name, value pairs.
func M(key string, nameValues ...string) Message {
	m := Message{Key: key}
	if len(nameValues) > 0 {
		m.Params = make(Params, len(nameValues)/2)
		for i := 0; i+1 < len(nameValues); i += 2 {
			m.Params[nameValues[i]] = nameValues[i+1]
		}
	}
	return m
}

// Text renders m in lang; see T.
func (m Message) Text(lang Lang) string { return T(lang, m.Key, m.Params) }

// Render renders m in lang; false when its key or one of its placeholders
// is not known (see Render).
func (m Message) Render(lang Lang) (string, bool) { return Render(lang, m.Key, m.Params.lookup) }

// String is m in English, for logs and errors.
func (m Message) String() string { return m.Text(EN) }
