package main

import "testing"

func TestSuggestion(t *testing.T) {
	names := commandNames(commands)
	for typed, want := range map[string]string{
		"aply": "apply", "aplly": "apply", "appyl": "apply", "plna": "plan", "palm": "", "serv": "serve", "wacth": "watch",
		"histroy": "history", "sta": "state", "hist": "history",
		// Too far from any name, or as close to two.
		"xyzzy": "", "": "", "p": "", "deploy": "",
	} {
		if got := suggestion(typed, names); got != want {
			t.Errorf("suggestion(%q) = %q, want %q", typed, got, want)
		}
	}
	if got := suggestion("exprot", commandNames(stateCommands)); got != "export" {
		t.Errorf("state exprot: got %q, want export", got)
	}
}
