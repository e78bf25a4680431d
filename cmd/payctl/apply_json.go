package main

import (
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// The events of `apply -json`, one JSON object a line. They were maps,
// which encoding/json writes with their keys sorted; the structs keep
// those bytes: their fields are in the keys' sorted order, every key is
// always written (no omitempty, as the maps had every key), and the
// values have the maps' types. apply_json_test.go checks each against the
// map it replaces. A payout event is written per payout, on apply's path.

// jsonFormatVersion is every event's "format_version".
const jsonFormatVersion = 1

type startEvent struct {
	FormatVersion int    `json:"format_version"`
	Payouts       int    `json:"payouts"`
	StateSerial   uint64 `json:"state_serial"`
	Type          string `json:"type"`
}

type payoutEvent struct {
	Address   string         `json:"address"`
	Amount    money.Amount   `json:"amount"`
	Currency  money.Currency `json:"currency"`
	ElapsedMS float64        `json:"elapsed_ms"`
	// Findings are where the answer differs from the plan; written only
	// when there are some, so that payout events without stay as they were.
	Findings      []state.Finding  `json:"findings,omitempty"`
	FormatVersion int              `json:"format_version"`
	Provider      string           `json:"provider"`
	Reason        string           `json:"reason"`
	Status        providers.Status `json:"status"`
	Type          string           `json:"type"`
}

type progressEvent struct {
	Done             int      `json:"done"`
	ElapsedSeconds   float64  `json:"elapsed_seconds"`
	Failed           int      `json:"failed"`
	FormatVersion    int      `json:"format_version"`
	NotSent          int      `json:"not_sent"`
	Paid             int      `json:"paid"`
	PayoutsPerSecond float64  `json:"payouts_per_second"`
	Pending          int      `json:"pending"`
	SecondsLeft      *float64 `json:"seconds_left"` // null while unknown
	Total            int      `json:"total"`
	Type             string   `json:"type"`
	Unknown          int      `json:"unknown"`
}

type lookupEvent struct {
	Address       string            `json:"address"`
	Attempt       int               `json:"attempt"`
	Findings      []state.Finding   `json:"findings,omitempty"`
	FormatVersion int               `json:"format_version"`
	IDs           map[string]string `json:"ids"`
	Reason        string            `json:"reason"`
	Status        providers.Status  `json:"status"`
	Type          string            `json:"type"`
}

type skippedEvent struct {
	Address       string `json:"address"`
	FormatVersion int    `json:"format_version"`
	Reason        string `json:"reason"`
	Type          string `json:"type"`
}

type statsEvent struct {
	FormatVersion  int     `json:"format_version"`
	JournalCommits int64   `json:"journal_commits"`
	JournalRecords int64   `json:"journal_records"`
	Seconds        float64 `json:"seconds"`
	Type           string  `json:"type"`
}

type errorEvent struct {
	FormatVersion int    `json:"format_version"`
	Message       string `json:"message"`
	Type          string `json:"type"`
}
