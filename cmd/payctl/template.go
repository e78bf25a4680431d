package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/tabular"
	"github.com/payctl/payctl/providers/registry"
)

func runTemplate(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "template", "-provider NAME [-format csv|xlsx|yaml] [-o FILE]", `
Writes an empty payout batch for a provider of payctl.yaml: a header block
(batch name, provider, currency), the columns the provider needs, and one
example row commented out with "#", never paid. Add one row per payout
(and remove the example, or leave it: comment rows are skipped); the file
then validates. The batch name is this month's; change it to one that
names the payment run: it is the first part of every payout address.

A workbook's columns are all formatted as Text, so that account numbers
keep their leading zeros. A workbook is written only to a file (-o): it
is binary, and payctl's standard output is text.`)
	provider := f.String("provider", "", "a provider name from payctl.yaml")
	format := f.String("format", "csv", "csv, xlsx or yaml")
	out := f.String("o", "", "write to FILE (never over an existing file) instead of standard output")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return withHint(fmt.Errorf("template takes no arguments"), "name the output with -o FILE")
	}
	if *provider == "" {
		return withHint(errors.New("-provider is required"), "name a provider of payctl.yaml: payctl template -provider NAME")
	}
	path, err := f.configPath()
	if err != nil {
		return err
	}
	cfg, errs := config.Load(path)
	if len(errs) > 0 {
		return errs.Err()
	}
	p, ok := cfg.Providers[*provider]
	if !ok {
		return withHint(fmt.Errorf("no provider %q in %s", *provider, cfg.File), "payctl.yaml configures %s", strings.Join(cfg.ProviderNames(), ", "))
	}
	t := &tabular.Template{
		Batch:    "payouts-" + time.Now().Format("2006-01"),
		Provider: p.Name,
		Currency: registry.Rules(p.Type).Currency(),
	}
	t.Columns, t.Example = templateColumns(p.Type)
	var data []byte
	switch *format {
	case "csv":
		data = t.CSV()
	case "yaml":
		data = t.YAML()
	case "xlsx":
		if *out == "" {
			return withHint(errors.New("a workbook is written to a file, not to standard output"), "add -o FILE.xlsx")
		}
		if data, err = t.XLSX(); err != nil {
			return err
		}
	default:
		return withHint(fmt.Errorf("unknown format %q", *format), "-format is csv, xlsx or yaml")
	}
	if *out == "" {
		_, err := e.Stdout.Write(data)
		return err
	}
	if err := writeNew(*out, data); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "wrote %s\n", *out)
	return nil
}

// templateColumns are the payout fields a provider type needs, with an
// example value each.
func templateColumns(typ string) (cols, example []string) {
	switch typ {
	case "dinardragon":
		return []string{"id", "amount", "recipient.name", "recipient.bank", "recipient.country", "recipient.account"},
			[]string{"INV-1001", "1250.50", "Acme Supplies LLC", "First Bank", "US", "123456789"}
	}
	return []string{"id", "amount", "recipient.name", "recipient.bankCode", "recipient.account"},
		[]string{"EMP-0001", "8500000", "Siti Rahayu", "014", "0123456789"}
}

// writeNew writes a file that does not exist yet: a template never
// replaces a batch someone filled in.
func writeNew(path string, data []byte) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return withHint(fmt.Errorf("%s already exists", path), "choose another name, or remove it first")
	}
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
