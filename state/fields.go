package state

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/payctl/payctl/state/internal/jsontext"
)

// Fields are named values a provider returned (its ids for a payout, the
// fields of its answer), sorted by name. They read and write as a JSON
// object, exactly as a map[string]string would; in memory they are a short
// slice, which costs a fraction of a map, and a state holds millions.
type Fields []Field

// Field is one named value.
type Field struct {
	Name, Value string
}

// FieldsOf returns m's entries, sorted by name.
func FieldsOf(m map[string]string) Fields {
	if len(m) == 0 {
		return nil
	}
	f := make(Fields, 0, len(m))
	for k, v := range m {
		f = append(f, Field{k, v})
	}
	sort.Slice(f, func(i, j int) bool { return f[i].Name < f[j].Name })
	return f
}

// Get returns the value named name, or "".
func (f Fields) Get(name string) string {
	for _, x := range f {
		if x.Name == name {
			return x.Value
		}
	}
	return ""
}

// With returns f with name set to value, keeping the order. It never
// modifies f's backing array in place, so copies of f stay as they were.
func (f Fields) With(name, value string) Fields {
	i := sort.Search(len(f), func(i int) bool { return f[i].Name >= name })
	if i < len(f) && f[i].Name == name {
		if f[i].Value == value {
			return f
		}
		out := append(Fields(nil), f...)
		out[i].Value = value
		return out
	}
	out := make(Fields, 0, len(f)+1)
	out = append(out, f[:i]...)
	out = append(out, Field{name, value})
	return append(out, f[i:]...)
}

// Map returns the fields as a map.
func (f Fields) Map() map[string]string {
	if f == nil {
		return nil
	}
	m := make(map[string]string, len(f))
	for _, x := range f {
		m[x.Name] = x.Value
	}
	return m
}

// String is "name=value name=value".
func (f Fields) String() string {
	parts := make([]string, len(f))
	for i, x := range f {
		parts[i] = x.Name + "=" + x.Value
	}
	return strings.Join(parts, " ")
}

// MarshalJSON writes an object with the names in order, as a map would be.
func (f Fields) MarshalJSON() ([]byte, error) {
	if f == nil {
		return []byte("null"), nil
	}
	return f.AppendJSON(nil), nil
}

// UnmarshalJSON reads an object.
func (f *Fields) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*f = FieldsOf(m)
	return nil
}

// AppendJSON appends f as a JSON object, its pairs in order, to b: the
// bytes MarshalJSON gives, without an allocation per call.
func (f Fields) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, x := range f {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, x.Name)
		b = append(b, ':')
		b = jsontext.AppendString(b, x.Value)
	}
	return append(b, '}')
}
