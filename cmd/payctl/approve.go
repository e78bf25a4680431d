package main

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/payctl/payctl/internal/approval"
	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/sshsig"
)

func runApprove(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "approve", "[-key FILE] PLANFILE", `
Signs a saved plan (from "payctl plan -out PLANFILE") with your SSH key: the
approval that apply counts when payctl.yaml asks for approvals. It shows what
you approve (the file, its SHA-256, the state it was made against, its summary
and the totals it would send), signs the file's exact bytes under the
namespace "payctl" as "ssh-keygen -Y sign -n payctl" does, and writes the
signature to PLANFILE.approvals/<key fingerprint>.sig. Approving again with the
same key replaces that file. Needs no credentials, state or payctl.yaml.

The key: -key FILE, a private key (OpenSSH or PEM), or a public key (.pub)
whose private key your ssh-agent holds; an encrypted private key is used
through the ssh-agent. By default: git's user.signingKey, else
~/.ssh/id_ed25519, id_ecdsa, id_rsa, the first that exists.

Instead of payctl, anyone can run:
  ssh-keygen -Y sign -n payctl -f KEY PLANFILE   (writes PLANFILE.sig)`)
	keyFile := f.String("key", "", "sign with the SSH key in `FILE` (a private key, or a .pub whose key ssh-agent holds)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "the plan file"); err != nil {
		return err
	}
	if f.NArg() > 1 {
		f.Usage()
		return &reported{summary: "approve takes one plan file"}
	}
	file := f.Arg(0)
	data, p, err := approval.ReadPlan(file)
	if err != nil {
		return err
	}
	if len(p.Errors) > 0 {
		return withHint(fmt.Errorf("%s: the plan has %d errors and cannot be applied: nothing to approve", file, len(p.Errors)),
			"fix the manifests and make a new plan with `payctl plan -out FILE`")
	}
	key, err := approval.FindKey(approval.KeyOptions{File: *keyFile, Getenv: e.Getenv})
	if err != nil {
		return err
	}
	if err := approval.Describe(e.Stdout, file, data, p); err != nil {
		return err
	}
	sig, err := sshsig.Sign(key.Signer, sshsig.Namespace, data)
	if err != nil {
		return err
	}
	path, err := approval.Write(file, key.PublicKey(), sig)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "\nSigned with %s: %s\n", key.Source, sshsig.Describe(key.PublicKey()))
	fmt.Fprintf(e.Stdout, "Wrote the approval to %s\n", path)
	checkSigner(f, key.PublicKey())
	fmt.Fprintf(e.Stderr, "payctl: hint: commit %s with the plan, or hand it to whoever runs `payctl apply %s`\n", approval.Dir(file)+"/", file)
	return nil
}

// checkSigner tells the approver, when payctl.yaml is at hand and names
// allowed signers, whether this approval will count: better now than when
// apply refuses the plan.
func checkSigner(f *flags, k ssh.PublicKey) {
	path, err := f.configPath()
	if err != nil {
		return
	}
	cfg, errs := config.Load(path)
	if len(errs) > 0 || cfg.Policy.Approvals == nil || cfg.Policy.Approvals.AllowedSigners == "" {
		return
	}
	signers, err := sshsig.LoadAllowedSigners(cfg.Policy.Approvals.AllowedSigners)
	if err != nil {
		fmt.Fprintf(f.e.Stderr, "payctl: warning: cannot tell whether this approval counts: %v\n", err)
		return
	}
	now := time.Now()
	if s := f.e.Getenv("PAYCTL_TEST_NOW"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			now = t
		}
	}
	who, _, err := signers.Signer(k, sshsig.Namespace, now)
	if err != nil {
		fmt.Fprintf(f.e.Stderr, "payctl: warning: this approval will not count: %v\n", err)
		return
	}
	fmt.Fprintf(f.e.Stdout, "Approved as %s (%s)\n", who, cfg.Policy.Approvals.AllowedSigners)
}
