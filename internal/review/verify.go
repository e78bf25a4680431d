package review

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/approval"
	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/sshsig"
	"github.com/payctl/payctl/state"
)

// ErrNotApproved is wrapped by every refusal to pay for want of approvals.
var ErrNotApproved = errors.New("plan not approved")

// Approved verifies the approvals stored beside a saved plan and checks
// them against what the plan (derived again from its manifests) needs.
// data are the plan file's exact bytes, as read once. It returns the
// approvers to record, and warnings for signatures that do not count
// (unknown, expired or not-yet-valid signers).
//
// A signature that does not verify over data, or was made for another
// namespace, refuses the plan whatever it needs: the file changed after
// someone signed it, or the signature was never meant for payctl.
func Approved(a *config.Approvals, need Need, file string, data []byte, now time.Time) ([]state.Approver, []string, error) {
	if a == nil || a.AllowedSigners == "" {
		if need.Approvals > 0 { // cannot happen: config refuses rules without signers
			return nil, nil, fmt.Errorf("%w: payctl.yaml names no policy.approvals.allowedSigners", ErrNotApproved)
		}
		if hasApprovals(file) {
			return nil, []string{fmt.Sprintf("%s has approvals beside it, but payctl.yaml names no policy.approvals.allowedSigners: they were not checked and are not recorded", file)}, nil
		}
		return nil, nil, nil
	}
	signers, err := sshsig.LoadAllowedSigners(a.AllowedSigners)
	if err != nil {
		return nil, nil, diag.WithHint(fmt.Errorf("%w: %w", ErrNotApproved, err), "fix the allowed signers file named by policy.approvals.allowedSigners in payctl.yaml; nothing was paid")
	}
	approvals, ignored, bad := approval.Collect(file, data, signers, now)
	if len(bad) > 0 {
		return nil, nil, diag.WithHint(fmt.Errorf("%w: %s: %w", ErrNotApproved, file, errors.Join(bad...)),
			"a signature that does not verify means the plan changed after it was signed, or it was signed for something else (ssh-keygen -n must be %q): nothing was paid; make a new plan and have it approved again", sshsig.Namespace)
	}
	var warnings []string
	for _, e := range ignored {
		warnings = append(warnings, "approval not counted: "+e.Error())
	}
	approvers := make([]state.Approver, 0, len(approvals))
	for _, ap := range approvals {
		approvers = append(approvers, state.Approver{Principal: ap.Principal, Key: ap.Key})
	}
	if !need.Enough(approvers) {
		return nil, warnings, diag.WithHint(fmt.Errorf("%w: %s carries %s of the %d it needs (%s)%s; nothing was paid",
			ErrNotApproved, file, countApprovals(len(approvers)), need.Approvals, need.Why(), by(approvers)),
			"each approver reviews the plan and runs `payctl approve %s` (their SSH key must be in %s); then run `payctl apply %s` again", file, a.AllowedSigners, file)
	}
	return approvers, warnings, nil
}

// Refuse is the error for a plan that needs approvals but was given as
// manifests (no saved plan, so nothing to sign).
func Refuse(need Need, paths []string) error {
	return diag.WithHint(fmt.Errorf("%w: this plan needs %s by allowed signers (%s), and a plan made from manifests carries none; nothing was paid",
		ErrNotApproved, countApprovals(need.Approvals), need.Why()),
		"save the plan with `payctl plan -out plan.json %s`, have it approved with `payctl approve plan.json`, then run `payctl apply plan.json`", strings.Join(paths, " "))
}

func countApprovals(n int) string {
	if n == 1 {
		return "1 approval"
	}
	return fmt.Sprintf("%d approvals", n)
}

func by(approvers []state.Approver) string {
	if len(approvers) == 0 {
		return ""
	}
	names := make([]string, len(approvers))
	for i, a := range approvers {
		names[i] = a.Principal
	}
	return " (approved by " + strings.Join(names, ", ") + ")"
}

// Names are the approvers' principals, for messages and history.
func Names(approvers []state.Approver) string {
	names := make([]string, len(approvers))
	for i, a := range approvers {
		names[i] = a.Principal
	}
	return strings.Join(names, ", ")
}

func hasApprovals(file string) bool {
	if _, err := os.Stat(approval.SigFile(file)); err == nil {
		return true
	}
	_, err := os.Stat(approval.Dir(file))
	return err == nil
}
