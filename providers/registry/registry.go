// Package registry lists the provider types payctl knows. It is the one
// place that imports every provider package, so that the rest of payctl
// depends only on the providers interface.
package registry

import (
	"sort"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos"
	"github.com/payctl/payctl/providers/dinardragon"
	"github.com/payctl/payctl/providers/fake"
)

var types = map[string]*providers.Type{
	cronos.Type.Name:      &cronos.Type,
	dinardragon.Type.Name: &dinardragon.Type,
	fake.Type.Name:        &fake.Type,
}

// Lookup returns the provider type with the given name.
func Lookup(name string) (*providers.Type, bool) {
	t, ok := types[name]
	return t, ok
}

// Names returns the known type names, sorted.
func Names() []string {
	out := make([]string, 0, len(types))
	for n := range types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Rules returns a type's rules, or nil for an unknown type.
func Rules(name string) providers.Rules {
	if t, ok := types[name]; ok {
		return t.Rules
	}
	return nil
}
