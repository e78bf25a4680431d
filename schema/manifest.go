package schema

import (
	"strings"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// APIVersion and Kind are the only accepted header values.
const (
	APIVersion = "payctl/v1"
	Kind       = "PayoutBatch"
)

// MaxFileSize caps a manifest file. 64 MiB holds several hundred thousand
// payouts; anything larger is far more likely a mistake than a batch.
const MaxFileSize = 64 << 20

// Batch is one decoded manifest.
type Batch struct {
	File   string // path as given by the user
	Digest string // "sha256:<hex>" of the file's bytes
	Format string // "yaml" or "json"

	Name        string // metadata.name
	Description string // metadata.description, optional
	Provider    string // spec.provider
	Currency    string // spec.currency
	Payouts     []Payout

	Pos BatchPos

	// Once says the batch was read to be planned once: plan.Make drops its
	// payouts as soon as their items are made, so that a plan of many
	// files never holds them all decoded beside the items. A caller that
	// reads Payouts after planning, or plans the batch again, leaves it
	// false.
	Once bool
}

// BatchPos are the positions of a batch's fields.
type BatchPos struct {
	Name, Provider, Currency, Payouts diag.Pos
}

// Payout is one payout of a batch.
type Payout struct {
	ID         string
	AmountText string // as written
	Amount     money.Amount
	Recipient  providers.Recipient
	// Reference is free text about the payout for people ("" when not
	// written); Metadata the payout's own facts (invoice, costCentre),
	// nil when not written. Neither is sent to a provider; both are part
	// of the payout's details.
	Reference string
	Metadata  map[string]string

	Pos PayoutPos
}

// PayoutPos are the positions of a payout's fields; Item is the payout's
// own start (its "- " in YAML, its "{" in JSON).
type PayoutPos struct {
	Item, ID, Amount                                               diag.Pos
	Recipient, RecipientID, Name, BankCode, Bank, Account, Country diag.Pos
	// Reference is the value's position; Metadata the "metadata" key's.
	Reference, Metadata diag.Pos
}

// Field returns the position of a payout field by its manifest path under
// the payout ("amount", "recipient.account"), falling back to the item.
func (p PayoutPos) Field(path string) diag.Pos {
	var pos diag.Pos
	switch path {
	case "id":
		pos = p.ID
	case "amount":
		pos = p.Amount
	case "recipient":
		pos = p.Recipient
	case "recipient.id":
		pos = p.RecipientID
	case "recipient.name":
		pos = p.Name
	case "recipient.bankCode":
		pos = p.BankCode
	case "recipient.bank":
		pos = p.Bank
	case "recipient.account":
		pos = p.Account
	case "recipient.country":
		pos = p.Country
	case "reference":
		pos = p.Reference
	case "metadata":
		pos = p.Metadata
	}
	if !pos.IsValid() {
		if path != "" && len(path) > 10 && path[:10] == "recipient." && p.Recipient.IsValid() {
			return p.Recipient
		}
		if strings.HasPrefix(path, "metadata.") && p.Metadata.IsValid() {
			return p.Metadata
		}
		return p.Item
	}
	return pos
}

// Address is the payout's identity: "<batch>/<id>".
func Address(batch, id string) string { return batch + "/" + id }
