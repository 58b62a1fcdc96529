package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// object is a JSON object that keeps its key order. The real service's key order is part of
// what the emulator reproduces (and deliberately varies), so responses are built from these
// instead of maps or structs.
type object []member

type member struct {
	key string
	val any
}

// get returns the value stored under key.
func (o object) get(key string) (any, bool) {
	for _, m := range o {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

// encodeJSON writes v as compact JSON with raw UTF-8 and unescaped '&', '<', '>' — the real
// service sends hrefs with literal '&' and Cyrillic paths unescaped (§1.5).
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case object:
		b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, m.key)
			b.WriteByte(':')
			writeJSON(b, m.val)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case string:
		writeString(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case json.RawMessage:
		var c bytes.Buffer
		if err := json.Compact(&c, x); err != nil {
			b.WriteString("null")
			return
		}
		b.Write(c.Bytes())
	default:
		panic(fmt.Sprintf("emulator: cannot encode %T", v))
	}
}

func writeString(b *bytes.Buffer, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// fieldTree is a parsed `fields` parameter. A key with no sub-keys keeps its whole value; a
// key that also has sub-keys keeps only those (§2.3: naming `_embedded` together with
// `_embedded.total` narrows `_embedded` to `total`).
type fieldTree map[string]fieldTree

// parseFields parses a comma-separated list of dotted keys; an empty list means "all" (§9.21).
func parseFields(raw string) fieldTree {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	root := fieldTree{}
	for _, f := range strings.Split(raw, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		node := root
		for _, part := range strings.Split(f, ".") {
			next, ok := node[part]
			if !ok {
				next = fieldTree{}
				node[part] = next
			}
			node = next
		}
	}
	if len(root) == 0 {
		return nil
	}
	return root
}

// filter applies the field tree to a value. Arrays are filtered element by element with the
// same tree, which is how `_embedded.items.name` narrows every item.
func (ft fieldTree) filter(v any) any {
	if len(ft) == 0 {
		return v
	}
	switch x := v.(type) {
	case object:
		out := object{}
		for _, m := range x {
			sub, ok := ft[m.key]
			if !ok {
				continue
			}
			out = append(out, member{m.key, sub.filter(m.val)})
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ft.filter(e)
		}
		return out
	default:
		return v
	}
}
