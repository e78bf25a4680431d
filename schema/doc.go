// Package schema is what a payout manifest is: its published JSON Schemas
// (draft 2020-12), its Go types, and the parser and checks every manifest
// goes through, each error with the position of the value at fault.
//
// A manifest is one batch of payouts per YAML or JSON file. It is checked
// in three layers, each reporting all of its errors at once, sorted:
//
//  1. decoding: size cap, UTF-8, syntax, duplicate keys, YAML anchors and
//     aliases, non-string scalars where the schema wants strings (YAML's
//     012345 is never read as a number), control, bidirectional and
//     invisible characters in any string or key (see safetext), and
//     bounds on nodes and nesting;
//  2. the JSON Schema (structure, formats, unknown fields);
//  3. semantic rules: batch and payout ids, the provider's rules for its
//     type, per-currency limits from payctl.yaml (see Check and
//     Deployment).
//
// Address is the identity of a payout everywhere in payctl: "<batch>/<id>".
//
// The two schemas are the contract for editors as much as for payctl:
//
//   - payout-batch.schema.json: a PayoutBatch manifest. A manifest may start
//     with "# yaml-language-server: $schema=<path or URL>" (YAML) or carry a
//     top-level "$schema" string (JSON), which the schema allows.
//   - config.schema.json: payctl.yaml.
//
// Both are embedded in the binary and compiled once. Validation reports
// every violation of a document at once, one per place: where the
// validator's error tree has alternatives (oneOf, anyOf), the most useful
// leaf errors are kept and the "no alternative matched" noise is dropped.
// Messages use the schemas' own annotations where they exist
// ("patternErrorMessage", "errorMessage", "title", "examples": the
// conventions VS Code's and yaml-language-server's JSON support read), so
// an editor and `payctl validate` explain a mistake the same way.
//
// A manifest is validated in two parts that together are the same check
// as the whole schema: the batch with its payouts array left open, by the
// JSON Schema validator, and each payout against #/$defs/payout compiled
// into Go from the validator's own compiled schema (see checker). The
// compiled checks give the same violations and messages as the validator;
// tests run both on every manifest of the test corpus and on hostile
// variations of every payout field, and a fuzz target compares them.
package schema
