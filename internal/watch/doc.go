// Package watch turns a folder into a payout pipeline (`payctl watch DIR`):
// manifests dropped into DIR/inbox are claimed, validated, planned and, within
// the auto-apply policy of payctl.yaml, paid through the same engine and
// state lock as `payctl apply`.
//
// # Folders
//
//	inbox/       files are dropped here
//	processing/  claimed files being paid; finished by the next start after a crash
//	done/        paid files (or files paid before), with NAME.result.json
//	rejected/    invalid or refused files, with NAME.errors.txt
//	held/        files outside the policy, with NAME.plan.json and NAME.plan.txt
//
// All five are on one filesystem: files move between them by rename, and a
// name that is taken in the target folder gets "NAME~2.yaml", never an
// overwrite.
//
// # Guarantees
//
// A file is taken only when complete: it was renamed into inbox (see
// detector), or its size, modification time and inode have not changed for
// the quiet period. Temporary names (dotfiles, *.tmp, *.part) are never
// taken. Only regular files with one link, up to MaxFileSize, directly in
// inbox are read; anything else is moved to rejected/ unread (or left alone
// where it cannot be moved), and reading never blocks (O_NONBLOCK,
// O_NOFOLLOW, checked again on the open file). File events are hints; a
// full listing every Rescan catches what they miss.
//
// A file is claimed by renaming it into processing/, so one file is taken
// once. Its payouts are planned against the state and sent only through
// the engine, whose journal makes every send durable before it happens and
// every answer durable before the file moves on: a file dropped again plans
// to nothing, a changed file of a paid batch fails the plan's immutability
// check, and after a crash at any point the files in processing/ are
// planned again, after looking up every attempt whose outcome the crash
// hid. Reports are written atomically before their file moves, and the
// move is made durable (both folders are synced) before the next step, so
// every file ends in exactly one of done/, rejected/ and held/.
//
// # The state
//
// The watcher takes the state through a daemon.Gate: per round of files
// (up to 16 planned one by one and paid by one engine run, so that they
// share its worker pool, rate limit and journal fsyncs), kept over
// consecutive rounds for at most LockHold, released whenever no file is
// waiting and, after a long hold, for a moment so that a waiting `payctl
// apply` gets in. A state that stays locked leaves files waiting in
// processing/; they are never failed for it.
//
// Files above LargeFile are read and checked on a lane of their own (see
// lane), one at a time, and handed back to the worker, so that a large
// file does not keep the small files behind it waiting; planning and
// paying stay with the worker alone.
//
// # The policy
//
// Judge decides, per file, whether the payouts its plan sends are within
// policy.autoApply; its doc says how silent parts of the policy are read.
// Files outside it are parked in held/ with a saved plan that names the
// file at its place there, for `payctl apply held/NAME.plan.json`.
package watch
