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
	"github.com/payctl/payctl/internal/tabular"
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
//
// Each payout is checked and copied out as it is decoded (see
// doc.DecodeStream), so a large manifest is never held whole as a tree,
// and the Batch's strings are copies that do not keep data alive.
func Parse(file string, data []byte) (*Batch, diag.List) {
	return ParseWith(file, data, nil)
}

// ParseWith is Parse that also reads CSV and XLSX batches (see package
// tabular): imports are payctl.yaml's imports entries, the first whose
// pattern matches the file's name supplying what the file's header block
// does not say. A table becomes the same tree a manifest decodes into, so
// it is checked by the same rules, with the same messages, at its cells.
func ParseWith(file string, data []byte, imports []tabular.Import) (*Batch, diag.List) {
	if tf, ok := tabular.FormatOf(file); ok {
		return parseTable(file, data, tf, tabular.MatchImport(imports, file))
	}
	c := load()
	f, _ := doc.FormatOf(file)
	ps := &payoutStream{
		t:     &translator{c: c, format: f, label: manifestLabel},
		check: c.payoutCheck,
		b:     &Batch{File: file},
		loc:   make([]string, 0, 4),
	}
	if f == doc.JSON {
		ps.hint = payoutsHint(data)
	}
	root, f, errs := doc.DecodeStream(file, data, MaxFileSize, "manifests are .yaml, .yml or .json files, or .csv or .xlsx tables",
		&doc.Stream{Path: payoutsPath, Item: ps.item, Count: func(n int) { ps.hint = n }})
	if len(errs) > 0 {
		return nil, errs
	}
	return ps.finish(file, data, root, string(f))
}

func parseTable(file string, data []byte, f tabular.Format, imp *tabular.Import) (*Batch, diag.List) {
	c := load()
	ps := &payoutStream{
		t:     &translator{c: c, format: doc.YAML, label: manifestLabel},
		check: c.payoutCheck,
		b:     &Batch{File: file},
		loc:   make([]string, 0, 4),
		hint:  tabular.Hint(file, data),
	}
	root, n, errs := tabular.Decode(file, data, MaxFileSize, imp, ps.item)
	if len(errs) > 0 {
		// The rows that could be read were checked as payouts: their
		// errors are listed with the table's own, all at once.
		sortViolations(ps.vs)
		errs = append(errs, Errors(file, ps.vs)...)
		errs = append(errs, ps.errs...)
		if ps.unlisted > 0 {
			errs = append(errs, &diag.Error{File: file, More: ps.unlisted})
		}
		errs.Limit(diag.MaxPerFile)
		return nil, errs
	}
	ps.n = n
	return ps.finish(file, data, root, string(f))
}

// finish checks the manifest's own fields and, when everything is
// valid, completes the batch.
func (ps *payoutStream) finish(file string, data []byte, root *doc.Node, format string) (*Batch, diag.List) {
	var errs diag.List
	vs := validateShell(ps.t, root, ps.n)
	if vs = append(vs, ps.vs...); len(vs) > 0 {
		sortViolations(vs)
		errs = Errors(file, vs)
		if ps.unlisted > 0 {
			errs = append(errs, &diag.Error{File: file, More: ps.unlisted})
		}
		errs.Limit(diag.MaxPerFile)
		return nil, errs
	}
	if len(ps.errs) > 0 {
		ps.errs.Limit(diag.MaxPerFile)
		return nil, ps.errs
	}
	b := ps.b
	b.Digest = doc.Digest(data)
	b.Format = format
	b.fillHeader(root, &ps.a)
	b.Pos.Payouts = root.At(payoutsPath).KeyPos()
	return b, nil
}

var payoutsPath = []string{"spec", "payouts"}

// payoutStream checks each payout of a manifest as it is decoded and,
// while every payout so far is valid, copies it into the batch.
type payoutStream struct {
	t     *translator
	check *checker
	b     *Batch
	a     arena
	loc   []string
	n     int         // payouts seen
	vs    []Violation // of the payouts
	errs  diag.List   // of the amounts, which only count if vs is empty
	hint  int         // how many payouts there probably are
	// unlisted counts the violations of the payouts after the first
	// diag.MaxPerFile violations, which are not phrased.
	unlisted int
}

// minPayoutJSON is the length of the shortest valid payout in JSON:
// {"id":"a","amount":"1","recipient":{"name":"n","account":"1"}}.
const minPayoutJSON = 62

// payoutsHint guesses how many payouts a JSON manifest holds, to size the
// batch's slice once: it counts the objects opened four levels deep (a
// manifest's payouts: the root, spec, the payouts array, the payout). It
// is never more than the file, or the limit on keys and values, has room
// for valid payouts, so a hostile file cannot make it reserve much more
// memory than its own size.
func payoutsHint(data []byte) int {
	depth, n := 0, 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '{':
			if depth++; depth == 4 {
				n++
			}
		case '[':
			depth++
		case '}', ']':
			depth--
		}
	}
	// A valid payout is at least 11 keys and values.
	return min(n, len(data)/minPayoutJSON, doc.MaxNodes/11)
}

func (ps *payoutStream) item(i int, n *doc.Node) {
	ps.n++
	if len(ps.vs) >= diag.MaxPerFile {
		// Only the first errors of a file are listed (diag.List.Limit),
		// and a payout's errors all lie after those of the payouts before
		// it: those of the payouts from here on are only counted.
		ps.unlisted += ps.t.payoutCount(ps.check, n, ps.loc)
		return
	}
	if v := ps.t.payout(ps.check, n, i, payoutsPath, ps.loc); len(v) > 0 {
		ps.vs = append(ps.vs, v...)
		ps.b.Payouts = nil // no batch will come of this file
		return
	}
	if len(ps.vs) > 0 {
		return
	}
	if ps.b.Payouts == nil {
		// Sized once: growing a slice of a hundred thousand payouts
		// copies them over and over, with the collector running.
		ps.b.Payouts = make([]Payout, 0, max(1, ps.hint))
	}
	ps.b.Payouts = append(ps.b.Payouts, Payout{})
	ps.b.fillPayout(&ps.b.Payouts[len(ps.b.Payouts)-1], n, &ps.a, &ps.errs)
}

// fillHeader copies a schema-valid batch's own fields into b.
func (b *Batch) fillHeader(root *doc.Node, a *arena) {
	meta := root.Field("metadata")
	name := meta.Field("name")
	b.Name, b.Pos.Name = a.save(name.Text), name.Pos()
	if d := meta.Field("description"); d != nil {
		b.Description = a.save(d.Text)
	}
	spec := root.Field("spec")
	prov := spec.Field("provider")
	b.Provider, b.Pos.Provider = a.save(prov.Text), prov.Pos()
	cur := spec.Field("currency")
	b.Currency, b.Pos.Currency = a.save(cur.Text), cur.Pos()
}

// fillPayout copies a schema-valid payout into p. The schema guarantees
// the shape, so it only reports what the schema cannot express.
func (b *Batch) fillPayout(p *Payout, item *doc.Node, a *arena, errs *diag.List) {
	p.Pos.Item = item.Pos()
	for j := range item.Kids {
		k := &item.Kids[j]
		switch k.Key {
		case "id":
			p.ID, p.Pos.ID = a.save(k.Text), k.Pos()
		case "amount":
			p.AmountText, p.Pos.Amount = a.save(k.Text), k.Pos()
			am, err := money.Parse(k.Text)
			if err != nil {
				errs.Add(b.File, k.Pos(), "amount %s", strings.TrimPrefix(err.Error(), fmt.Sprintf("%q", k.Text)+" "))
				continue
			}
			p.Amount = am
		case "recipient":
			p.Pos.Recipient = k.KeyPos()
			fillRecipient(p, k, a)
		case "reference":
			p.Reference, p.Pos.Reference = a.save(k.Text), k.Pos()
		case "metadata":
			p.Pos.Metadata = k.KeyPos()
			if len(k.Kids) == 0 {
				continue // an empty mapping says nothing: the same payout as none
			}
			p.Metadata = make(map[string]string, len(k.Kids))
			for i := range k.Kids {
				p.Metadata[a.save(k.Kids[i].Key)] = a.save(k.Kids[i].Text)
			}
		}
	}
}

func fillRecipient(p *Payout, r *doc.Node, a *arena) {
	for i := range r.Kids {
		k := &r.Kids[i]
		switch k.Key {
		case "id":
			p.Recipient.ID, p.Pos.RecipientID = a.save(k.Text), k.Pos()
		case "name":
			p.Recipient.Name, p.Pos.Name = a.save(k.Text), k.Pos()
		case "bankCode":
			p.Recipient.BankCode, p.Pos.BankCode = a.save(k.Text), k.Pos()
		case "bank":
			p.Recipient.Bank, p.Pos.Bank = a.save(k.Text), k.Pos()
		case "account":
			p.Recipient.Account, p.Pos.Account = a.save(k.Text), k.Pos()
		case "country":
			p.Recipient.Country, p.Pos.Country = a.save(k.Text), k.Pos()
		}
	}
}

// arena copies the strings of one batch into a few large blocks: a
// batch's strings then neither keep the file's bytes alive (a decoded
// string shares them) nor cost an allocation each.
type arena struct {
	b strings.Builder
}

const arenaBlock = 32 << 10

func (a *arena) save(s string) string {
	if len(s) > arenaBlock/8 {
		return strings.Clone(s)
	}
	if a.b.Cap()-a.b.Len() < len(s) {
		// A new block; strings already handed out keep the old one.
		a.b = strings.Builder{}
		a.b.Grow(arenaBlock)
	}
	// The builder never grows past the capacity it was given, so the
	// bytes written before stay where they are.
	start := a.b.Len()
	a.b.WriteString(s)
	return a.b.String()[start:]
}

// Load reads manifests from files and directories. A directory
// contributes its *.yaml, *.yml and *.json files, and its *.csv and *.xlsx
// tables (not recursively, and
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
	return LoadWith(paths, nil, own...)
}

// LoadWith is Load with payctl.yaml's imports entries, for CSV and XLSX
// batches (see ParseWith).
func LoadWith(paths []string, imports []tabular.Import, own ...reserved.File) ([]*Batch, diag.List) {
	files, errs := expand(paths, reserved.NewSet(own...))
	var batches []*Batch
	first := map[string]*Batch{}
	for _, file := range files {
		data, e := doc.ReadFile(file, MaxFileSize)
		if e != nil {
			errs = append(errs, e)
			continue
		}
		b, perr := ParseWith(file, data, imports)
		errs = append(errs, perr...)
		if b == nil {
			continue
		}
		if prev, dup := first[b.Name]; dup {
			errs.Add(file, b.Pos.Name, "batch name %q is already used by %s; each batch needs a name of its own", b.Name, diag.Where(prev.File, prev.Pos.Name))
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
			if !isManifestName(p) {
				errs = append(errs, &diag.Error{File: p, Msg: fmt.Sprintf("unsupported file extension %q; manifests are .yaml, .yml or .json files, or .csv or .xlsx tables", filepath.Ext(p))})
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
			if !isManifestName(name) {
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

// isManifestName reports whether a file name's extension is one of a
// manifest or a table.
func isManifestName(name string) bool {
	if _, ok := doc.FormatOf(name); ok {
		return true
	}
	_, ok := tabular.FormatOf(name)
	return ok
}
