package main

import (
	"context"
	"fmt"
	"strings"
)

func runCompletion(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "completion", "bash|zsh|fish", `
Prints a script that completes payctl's commands, state subcommands and file
names in your shell. Load it from your shell's startup file:

  bash:  source <(payctl completion bash)          (in ~/.bashrc)
  zsh:   source <(payctl completion zsh)           (in ~/.zshrc)
  fish:  payctl completion fish | source           (in ~/.config/fish/config.fish)`)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "the shell: bash, zsh or fish"); err != nil {
		return err
	}
	cmds := strings.Join(commandNames(commands), " ")
	subs := strings.Join(commandNames(stateCommands), " ")
	switch f.Arg(0) {
	case "bash":
		fmt.Fprintf(e.Stdout, bashCompletion, cmds, subs)
	case "zsh":
		fmt.Fprintf(e.Stdout, "autoload -U +X bashcompinit && bashcompinit\n"+bashCompletion, cmds, subs)
	case "fish":
		fmt.Fprintf(e.Stdout, fishCompletion, cmds, cmds, subs)
	default:
		return withHint(fmt.Errorf("no completion for shell %q", f.Arg(0)), "payctl completion bash, zsh or fish")
	}
	return nil
}

// The scripts complete the first word from the command table and the
// second of "payctl state" from the state subcommands; anything else is a
// file name (manifests, plans, folders), as the shell would complete it.
const bashCompletion = `# payctl completion for bash (and zsh through bashcompinit)
_payctl() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%s" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 2 ] && [ "${COMP_WORDS[1]}" = state ]; then
    COMPREPLY=($(compgen -W "%s" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 2 ] && [ "${COMP_WORDS[1]}" = completion ]; then
    COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _payctl payctl
`

const fishCompletion = `# payctl completion for fish
complete -c payctl -n "not __fish_seen_subcommand_from %s" -f -a "%s"
complete -c payctl -n "__fish_seen_subcommand_from state; and test (count (commandline -opc)) -eq 2" -f -a "%s"
complete -c payctl -n "__fish_seen_subcommand_from completion" -f -a "bash zsh fish"
`
