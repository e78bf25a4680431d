package schema

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/reserved"
)

// Parse decodes one manifest and checks it against the schema. The file
// name decides the format (.json is JSON; .yaml and .yml are YAML) and
// prefixes every error.
//
// On any error Parse returns a nil Batch and the errors it found, sorted
// and limited to diag.MaxPerFile (the rest counted in a last entry): a batch that is partly wrong is never handed on, so nothing can
// pay the part that looked right by mistake.
//
// Positions in the Batch: BatchPos and PayoutPos hold the positions of
// the values (the "alice" of "id: alice"), except BatchPos.Payouts, which
// is the "payouts" key, and PayoutPos.Recipient, which is the "recipient"
// key, so that an error about a missing recipient field points at it.
func Parse(file string, data []byte) (*Batch, diag.List) {
	root, f, errs := doc.DecodeFile(file, data, MaxFileSize, "manifests are .yaml, .yml or .json files")
	if len(errs) > 0 {
		return nil, errs
	}
	if vs := ValidateManifest(root, f); len(vs) > 0 {
		errs = Errors(file, vs)
		errs.Limit(diag.MaxPerFile)
		return nil, errs
	}
	b := &Batch{
		File:   file,
		Digest: doc.Digest(data),
		Format: string(f),
	}
	if errs := b.fill(root); len(errs) > 0 {
		errs.Limit(diag.MaxPerFile)
		return nil, errs
	}
	return b, nil
}

// fill copies a schema-valid tree into b. The schema guarantees the shape,
// so fill only reports what the schema cannot express.
func (b *Batch) fill(root *doc.Node) diag.List {
	var errs diag.List
	meta := root.Field("metadata")
	name := meta.Field("name")
	b.Name, b.Pos.Name = name.Text, name.Pos()
	if d := meta.Field("description"); d != nil {
		b.Description = d.Text
	}
	spec := root.Field("spec")
	prov := spec.Field("provider")
	b.Provider, b.Pos.Provider = prov.Text, prov.Pos()
	cur := spec.Field("currency")
	b.Currency, b.Pos.Currency = cur.Text, cur.Pos()
	items := spec.Field("payouts")
	b.Pos.Payouts = items.KeyPos()
	b.Payouts = make([]Payout, len(items.Kids))
	for i := range items.Kids {
		item := &items.Kids[i]
		p := &b.Payouts[i]
		p.Pos.Item = item.Pos()
		for j := range item.Kids {
			k := &item.Kids[j]
			switch k.Key {
			case "id":
				p.ID, p.Pos.ID = k.Text, k.Pos()
			case "amount":
				p.AmountText, p.Pos.Amount = k.Text, k.Pos()
				a, err := money.Parse(k.Text)
				if err != nil {
					errs.Add(b.File, k.Pos(), "amount %s", strings.TrimPrefix(err.Error(), fmt.Sprintf("%q", k.Text)+" "))
					continue
				}
				p.Amount = a
			case "recipient":
				p.Pos.Recipient = k.KeyPos()
				fillRecipient(p, k)
			}
		}
	}
	return errs
}

func fillRecipient(p *Payout, r *doc.Node) {
	for i := range r.Kids {
		k := &r.Kids[i]
		switch k.Key {
		case "id":
			p.Recipient.ID, p.Pos.RecipientID = k.Text, k.Pos()
		case "name":
			p.Recipient.Name, p.Pos.Name = k.Text, k.Pos()
		case "bankCode":
			p.Recipient.BankCode, p.Pos.BankCode = k.Text, k.Pos()
		case "bank":
			p.Recipient.Bank, p.Pos.Bank = k.Text, k.Pos()
		case "account":
			p.Recipient.Account, p.Pos.Account = k.Text, k.Pos()
		case "country":
			p.Recipient.Country, p.Pos.Country = k.Text, k.Pos()
		}
	}
}

// Load reads manifests from files and directories. A directory
// contributes its *.yaml, *.yml and *.json files (not recursively, and
// not hidden files such as editor backups); anything else in it is
// skipped. A file named explicitly must have one of those extensions.
// Files are read in sorted order; a file named twice is read once.
//
// Named pipes, devices and sockets are refused before they are opened,
// whether named or found in a folder. The files in own (payctl.yaml, the
// state's files) are never manifests: a folder's listing skips them, and
// naming one is an error saying what it is.
//
// Load returns the batches that parsed, and every error of every file,
// including two files declaring the same batch name. Callers must not act
// on the batches when there are errors; they are returned so that Check
// can report more problems in the same run.
func Load(paths []string, own ...reserved.File) ([]*Batch, diag.List) {
	files, errs := expand(paths, reserved.NewSet(own...))
	var batches []*Batch
	first := map[string]*Batch{}
	for _, file := range files {
		data, e := doc.ReadFile(file, MaxFileSize)
		if e != nil {
			errs = append(errs, e)
			continue
		}
		b, perr := Parse(file, data)
		errs = append(errs, perr...)
		if b == nil {
			continue
		}
		if prev, dup := first[b.Name]; dup {
			errs.Add(file, b.Pos.Name, "batch name %q is already used by %s:%d:%d; each batch needs a name of its own", b.Name, prev.File, prev.Pos.Name.Line, prev.Pos.Name.Col)
			continue
		}
		first[b.Name] = b
		batches = append(batches, b)
	}
	errs.Sort()
	return batches, errs
}

func expand(paths []string, own *reserved.Set) ([]string, diag.List) {
	var (
		files []string
		errs  diag.List
	)
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			msg := err.Error()
			if os.IsNotExist(err) {
				msg = "no such file or directory"
			} else if pe, ok := err.(*os.PathError); ok {
				msg = pe.Err.Error()
			}
			errs = append(errs, &diag.Error{File: p, Msg: msg})
			continue
		}
		if !st.IsDir() {
			if why := doc.NotRegular(st.Mode()); why != "" {
				errs = append(errs, &diag.Error{File: p, Msg: why + "; manifests are regular files"})
				continue
			}
			if f, ok := own.Lookup(p); ok {
				errs = append(errs, &diag.Error{File: p, Msg: fmt.Sprintf("this is %s, not a manifest", f.What)})
				continue
			}
			if _, ok := doc.FormatOf(p); !ok {
				errs = append(errs, &diag.Error{File: p, Msg: fmt.Sprintf("unsupported file extension %q; manifests are .yaml, .yml or .json files", filepath.Ext(p))})
				continue
			}
			files = append(files, filepath.Clean(p))
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, &diag.Error{File: p, Msg: fmt.Sprintf("cannot read directory: %v", err)})
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || e.IsDir() {
				continue
			}
			if _, ok := doc.FormatOf(name); !ok {
				continue
			}
			file := filepath.Join(p, name)
			mode := e.Type()
			if mode&fs.ModeSymlink != 0 {
				st, err := os.Stat(file)
				if err != nil {
					errs = append(errs, &diag.Error{File: file, Msg: fmt.Sprintf("cannot follow the symbolic link: %v", err)})
					continue
				}
				if st.IsDir() {
					continue
				}
				mode = st.Mode()
			}
			if why := doc.NotRegular(mode); why != "" {
				errs = append(errs, &diag.Error{File: file, Msg: why + "; manifests are regular files"})
				continue
			}
			if _, ok := own.Lookup(file); ok {
				continue // payctl.yaml or the state's snapshot beside the manifests
			}
			files = append(files, file)
		}
	}
	slices.Sort(files)
	return slices.Compact(files), errs
}
