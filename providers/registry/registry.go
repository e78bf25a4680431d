// Package registry lists the provider types payctl knows. It is the one
// place that imports every provider package, and each provider's emulator
// (a provider's client never imports its emulator), so that the rest of
// payctl depends only on the providers interface.
package registry

import (
	"sort"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos"
	cronosemu "github.com/payctl/payctl/providers/cronos/emulator"
	"github.com/payctl/payctl/providers/dinardragon"
	ddemu "github.com/payctl/payctl/providers/dinardragon/emulator"
	"github.com/payctl/payctl/providers/fake"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
)

var types = map[string]*providers.Type{}

func init() {
	register(cronos.Type, func(o providers.EmulatorOptions) (providers.Emulator, error) { return cronosemu.New(o) })
	register(dinardragon.Type, func(o providers.EmulatorOptions) (providers.Emulator, error) { return ddemu.New(o) })
	register(fake.Type, fakeemu.New)
}

// register adds a provider type with its emulator.
func register(t providers.Type, newEmulator func(providers.EmulatorOptions) (providers.Emulator, error)) {
	t.NewEmulator = newEmulator
	types[t.Name] = &t
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
