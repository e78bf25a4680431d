#!/usr/bin/env bash
# The audit walkthrough of README.md, runnable as written: it builds a git
# repository of state commits in a new folder (the first argument, or a
# temporary one), on Cronos' built-in emulator, and runs each audit command
# on it. Each step checks the lines README.md says to expect, so the
# walkthrough fails loudly if payctl stops printing them.
#
#   examples/audit/walkthrough.sh [DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cd "$work"
export PAYCTL_CONFIG=

step() { printf '\n$ %s\n' "$*"; }
expect() { # expect PATTERN FILE: the output holds PATTERN (an extended regexp)
	if ! grep -Eq -- "$1" "$2"; then
		printf 'walkthrough: expected a line matching %s in:\n' "$1" >&2
		cat "$2" >&2
		exit 1
	fi
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# run CMD...: run a payctl command expected to succeed, show its output.
run() { step "$@"; "$@" >"$out" 2>&1 || { cat "$out"; echo "walkthrough: $* failed" >&2; exit 1; }; cat "$out"; }
# finds CMD...: run a command expected to exit 1 with findings.
finds() { step "$@"; if "$@" >"$out" 2>&1; then cat "$out"; echo "walkthrough: $* found nothing" >&2; exit 1; fi; cat "$out"; }

git init -q .
git config user.email auditor@example.com
git config user.name "The Auditor"
cp "$here/payctl.yaml" .
mkdir -p payouts
cp "$here/payouts/contractors-2026-11.yaml" payouts/
printf '.payctl-emulator/\n*.lock\n' >.gitignore

# 1. The history an auditor receives: the state created and pinned, then
# each apply's state committed.
run payctl init
pin=$(grep -Eo 'state: \{path: [^}]*lineage: [0-9a-f-]+\}' "$out")
sed -i.orig "s|^state: .*|$pin|" payctl.yaml && rm payctl.yaml.orig
git add -A && git commit -qm "create the state"
run payctl apply -auto-approve payouts/
expect 'idr-main IDR: 2 pending' "$out"
git add -A && git commit -qm "pay contractors-2026-11"
cp "$here/payouts/contractors-2026-12.yaml" payouts/
run payctl apply -auto-approve payouts/
expect 'idr-main IDR: 1 pending' "$out"
git add -A && git commit -qm "pay contractors-2026-12"

# 2. What changed between two commits.
run payctl state diff -git HEAD~1
expect '^ +\+ +contractors-2026-12/citra +980,000 IDR +idr-main +pending' "$out"
expect '^Findings: none' "$out"

# 3. The journal proves the snapshot: nothing altered or dropped.
run payctl state verify
expect 'verified: [0-9]+ journal records with an intact hash chain' "$out"

# 4. Who did what when, and what the provider answered.
run payctl history
expect 'intent +[^ ]+ \(apply\) +contractors-2026-12/citra attempt 1 +sending, 980,000 IDR' "$out"

# 5. Every attempt as CSV, for a spreadsheet.
run payctl state export
expect '^batch,id,attempt,recipient_name,account,' "$out"
expect '^contractors-2026-11,alice,1,Alice Tan,\*+2831,014,,IDR,150000,3000,sender,idr-main,cronos,id=' "$out"

# 6. The state against Cronos' own records.
run payctl reconcile
expect 'No findings: the providers. records match the state' "$out"

# 7. A tampered state: alice's amount edited in the snapshot (its batch's
# file), as someone hiding a payment would.
batch=payctl.state.json.batches/contractors-2026-11.json
cp "$batch" "$work/untouched.json"
sed -i 's/\("address":"contractors-2026-11\/alice",[^}]*"amount":\)"150000"/\1"15000"/' "$batch"
finds payctl state diff -git HEAD
expect 'contractors-2026-11/alice: amount changed from 150000 to 15000' "$out"
finds payctl state verify
expect 'the snapshot has "15000" at amount where the journal gives "150000"' "$out"
cp "$work/untouched.json" "$batch" && rm "$work/untouched.json"
run payctl state verify
echo
echo "walkthrough: done in $work"
