package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// PodFailurePolicyMatch is what a Job's pod failure policy says of one failed pod.
type PodFailurePolicyMatch struct {
	// Action is the action of the first rule the pod matched, or "" when none did (the
	// failure is then counted, as without a policy).
	Action batchv1.PodFailurePolicyAction
	// Counts reports whether the failure counts towards backoffLimit and
	// backoffLimitPerIndex: every action but Ignore.
	Counts bool
	// Message is, for FailJob, the message of the Job's failure.
	Message string
}

// MatchPodFailurePolicy matches the failed pod against policy's rules in order, as upstream:
// the first rule whose requirement the pod meets decides. An onExitCodes requirement is met by
// a terminated container (app containers first, then init containers; only the named one
// with containerName) whose non-zero exit code is In, or NotIn, the values; an onPodConditions
// requirement by a pod condition of one of the patterns' types and statuses. A nil policy
// counts every failure.
func MatchPodFailurePolicy(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) PodFailurePolicyMatch {
	if policy == nil {
		return PodFailurePolicyMatch{Counts: true}
	}
	for i, rule := range policy.Rules {
		var message string
		switch {
		case rule.OnExitCodes != nil:
			c := matchOnExitCodes(&pod.Status, rule.OnExitCodes)
			if c == nil {
				continue
			}
			message = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
				c.Name, pod.Namespace, pod.Name, c.State.Terminated.ExitCode, rule.Action, i)
		case len(rule.OnPodConditions) > 0:
			c := matchOnPodConditions(&pod.Status, rule.OnPodConditions)
			if c == nil {
				continue
			}
			message = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
				pod.Namespace, pod.Name, c.Type, rule.Action, i)
		default:
			continue
		}
		switch rule.Action {
		case batchv1.PodFailurePolicyActionIgnore:
			return PodFailurePolicyMatch{Action: rule.Action}
		case batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex:
			return PodFailurePolicyMatch{Action: rule.Action, Counts: true}
		case batchv1.PodFailurePolicyActionFailJob:
			return PodFailurePolicyMatch{Action: rule.Action, Counts: true, Message: message}
		}
		// An action this controller does not know: the rule does not apply (upstream's).
	}
	return PodFailurePolicyMatch{Counts: true}
}

func matchOnExitCodes(st *corev1.PodStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	if c := matchingContainer(st.ContainerStatuses, req); c != nil {
		return c
	}
	return matchingContainer(st.InitContainerStatuses, req)
}

func matchingContainer(statuses []corev1.ContainerStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for i := range statuses {
		c := &statuses[i]
		term := c.State.Terminated
		if term == nil || term.ExitCode == 0 || (req.ContainerName != nil && *req.ContainerName != c.Name) {
			continue
		}
		in := slices.Contains(req.Values, term.ExitCode)
		if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) ||
			(req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
			return c
		}
	}
	return nil
}

func matchOnPodConditions(st *corev1.PodStatus, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		for _, p := range patterns {
			if c.Type == p.Type && c.Status == p.Status {
				return c
			}
		}
	}
	return nil
}

// MatchSuccessPolicy reports whether the succeeded indexes of an Indexed Job of completions
// meet one of policy's rules, and then upstream's message, "Matched rules at index N". A rule
// with succeededIndexes is met when all of them succeeded, or succeededCount of them; a rule
// with only succeededCount when that many indexes succeeded. A rule whose succeededIndexes
// name no index below completions never matches.
func MatchSuccessPolicy(policy *batchv1.SuccessPolicy, completions int, succeeded Indexes) (string, bool) {
	if policy == nil || len(succeeded) == 0 {
		return "", false
	}
	for i, rule := range policy.Rules {
		met := false
		if rule.SucceededIndexes != nil {
			required := ParseIndexes(*rule.SucceededIndexes, completions)
			if len(required) == 0 {
				continue
			}
			n := required.Overlap(succeeded)
			met = n == required.Total() || (rule.SucceededCount != nil && n >= int(*rule.SucceededCount))
		} else if rule.SucceededCount != nil {
			met = succeeded.Total() >= int(*rule.SucceededCount)
		}
		if met {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}
