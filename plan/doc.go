// Package plan compares payout manifests with the state and says, per
// payout, what apply will do and what it will cost.
//
// A plan is also a file: `payctl plan -out FILE` saves it, and `payctl
// apply FILE` executes exactly the payouts in it, after checking that the
// state (lineage and serial), the config and the manifests are still the
// ones the plan was made from, and that planning those manifests again
// gives the same plan (Matches); it then pays the plan made again, never
// the file's copy, so an edited file cannot pay anything. A plan holds no
// secret: credentials never reach it. A plan never sends a payout above
// policy.maxPayout.
//
// Actions (see Action) never include deleting anything: a payout that is in
// the state but gone from its batch's manifest is reported, not undone;
// money that left cannot be called back by a plan.
package plan
