package job

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// failedPod is a Failed pod default/x whose containers exited with codes (name: code);
// init containers are prefixed "init:".
func failedPod(codes map[string]int32, conds ...corev1.PodConditionType) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "x"}, Status: corev1.PodStatus{Phase: corev1.PodFailed}}
	for _, name := range []string{"init:setup", "main", "sidecar"} {
		code, ok := codes[name]
		if !ok {
			continue
		}
		st := corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
		if len(name) > 5 && name[:5] == "init:" {
			st.Name = name[5:]
			p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, st)
		} else {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, st)
		}
	}
	for _, c := range conds {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue})
	}
	return p
}

func exitRule(action batchv1.PodFailurePolicyAction, op batchv1.PodFailurePolicyOnExitCodesOperator, container string, codes ...int32) batchv1.PodFailurePolicyRule {
	r := batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: op, Values: codes}}
	if container != "" {
		r.OnExitCodes.ContainerName = ptr.To(container)
	}
	return r
}

func condRule(action batchv1.PodFailurePolicyAction, t corev1.PodConditionType) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{Action: action, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: t, Status: corev1.ConditionTrue}}}
}

func TestMatchPodFailurePolicy(t *testing.T) {
	const (
		failJob   = batchv1.PodFailurePolicyActionFailJob
		ignore    = batchv1.PodFailurePolicyActionIgnore
		count     = batchv1.PodFailurePolicyActionCount
		failIndex = batchv1.PodFailurePolicyActionFailIndex
		in        = batchv1.PodFailurePolicyOnExitCodesOpIn
		notIn     = batchv1.PodFailurePolicyOnExitCodesOpNotIn
	)
	tests := []struct {
		name    string
		rules   []batchv1.PodFailurePolicyRule
		pod     *corev1.Pod
		action  batchv1.PodFailurePolicyAction
		counts  bool
		message string
	}{
		{"no rules: counted", nil, failedPod(map[string]int32{"main": 1}), "", true, ""},
		{"FailJob on In", []batchv1.PodFailurePolicyRule{exitRule(failJob, in, "", 42)}, failedPod(map[string]int32{"main": 42}),
			failJob, true, "Container main for pod default/x failed with exit code 42 matching FailJob rule at index 0"},
		{"In not matched: counted", []batchv1.PodFailurePolicyRule{exitRule(failJob, in, "", 42)}, failedPod(map[string]int32{"main": 1}), "", true, ""},
		{"Ignore", []batchv1.PodFailurePolicyRule{exitRule(ignore, in, "", 1, 2)}, failedPod(map[string]int32{"main": 2}), ignore, false, ""},
		{"Count", []batchv1.PodFailurePolicyRule{exitRule(count, in, "", 3)}, failedPod(map[string]int32{"main": 3}), count, true, ""},
		{"FailIndex", []batchv1.PodFailurePolicyRule{exitRule(failIndex, in, "", 4)}, failedPod(map[string]int32{"main": 4}), failIndex, true, ""},
		{"NotIn matches another code", []batchv1.PodFailurePolicyRule{exitRule(failJob, notIn, "", 1, 2)}, failedPod(map[string]int32{"main": 3}),
			failJob, true, "Container main for pod default/x failed with exit code 3 matching FailJob rule at index 0"},
		{"NotIn: listed code", []batchv1.PodFailurePolicyRule{exitRule(failJob, notIn, "", 1, 2)}, failedPod(map[string]int32{"main": 2}), "", true, ""},
		{"NotIn ignores exit code 0", []batchv1.PodFailurePolicyRule{exitRule(failJob, notIn, "", 1)}, failedPod(map[string]int32{"main": 0, "sidecar": 1}), "", true, ""},
		{"first matching rule wins", []batchv1.PodFailurePolicyRule{exitRule(ignore, in, "", 7), exitRule(failJob, in, "", 5), exitRule(count, in, "", 5)},
			failedPod(map[string]int32{"main": 5}), failJob, true, "Container main for pod default/x failed with exit code 5 matching FailJob rule at index 1"},
		{"containerName restricts", []batchv1.PodFailurePolicyRule{exitRule(failJob, in, "sidecar", 5)}, failedPod(map[string]int32{"main": 5, "sidecar": 1}), "", true, ""},
		{"containerName matches", []batchv1.PodFailurePolicyRule{exitRule(failJob, in, "sidecar", 5)}, failedPod(map[string]int32{"main": 1, "sidecar": 5}),
			failJob, true, "Container sidecar for pod default/x failed with exit code 5 matching FailJob rule at index 0"},
		{"init containers count too", []batchv1.PodFailurePolicyRule{exitRule(failJob, in, "", 9)}, failedPod(map[string]int32{"init:setup": 9}),
			failJob, true, "Container setup for pod default/x failed with exit code 9 matching FailJob rule at index 0"},
		{"pod condition Ignore", []batchv1.PodFailurePolicyRule{condRule(ignore, corev1.DisruptionTarget)}, failedPod(map[string]int32{"main": 137}, corev1.DisruptionTarget),
			ignore, false, ""},
		{"pod condition FailJob", []batchv1.PodFailurePolicyRule{exitRule(ignore, in, "", 1), condRule(failJob, corev1.DisruptionTarget)},
			failedPod(map[string]int32{"main": 137}, corev1.DisruptionTarget), failJob, true, "Pod default/x has condition DisruptionTarget matching FailJob rule at index 1"},
		{"pod condition absent", []batchv1.PodFailurePolicyRule{condRule(failJob, corev1.DisruptionTarget)}, failedPod(map[string]int32{"main": 1}), "", true, ""},
		{"unknown action: rule skipped", []batchv1.PodFailurePolicyRule{exitRule("Retry", in, "", 1), exitRule(ignore, in, "", 1)},
			failedPod(map[string]int32{"main": 1}), ignore, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy := &batchv1.PodFailurePolicy{Rules: tt.rules}
			if tt.rules == nil {
				policy = nil
			}
			m := MatchPodFailurePolicy(policy, tt.pod)
			if m.Action != tt.action || m.Counts != tt.counts || m.Message != tt.message {
				t.Errorf("got %+v, want action %q counts %v message %q", m, tt.action, tt.counts, tt.message)
			}
		})
	}
}

func TestMatchSuccessPolicy(t *testing.T) {
	rule := func(indexes string, count int32) batchv1.SuccessPolicyRule {
		var r batchv1.SuccessPolicyRule
		if indexes != "" {
			r.SucceededIndexes = ptr.To(indexes)
		}
		if count > 0 {
			r.SucceededCount = ptr.To(count)
		}
		return r
	}
	tests := []struct {
		name      string
		rules     []batchv1.SuccessPolicyRule
		succeeded string
		want      string
	}{
		{"no policy", nil, "0-9", ""},
		{"nothing succeeded", []batchv1.SuccessPolicyRule{rule("", 1)}, "", ""},
		{"all the indexes", []batchv1.SuccessPolicyRule{rule("0,2-4", 0)}, "0-4", "Matched rules at index 0"},
		{"not all the indexes", []batchv1.SuccessPolicyRule{rule("0,2-4", 0)}, "0-3", ""},
		{"count of the indexes", []batchv1.SuccessPolicyRule{rule("0-5", 2)}, "1,5,8", "Matched rules at index 0"},
		{"count of the indexes not reached", []batchv1.SuccessPolicyRule{rule("0-5", 3)}, "1,5,8", ""},
		{"count alone", []batchv1.SuccessPolicyRule{rule("", 3)}, "1,5,8", "Matched rules at index 0"},
		{"second rule", []batchv1.SuccessPolicyRule{rule("9", 0), rule("", 2)}, "0,1", "Matched rules at index 1"},
		{"indexes beyond completions never match", []batchv1.SuccessPolicyRule{rule("10-12", 0)}, "0-9", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var policy *batchv1.SuccessPolicy
			if tt.rules != nil {
				policy = &batchv1.SuccessPolicy{Rules: tt.rules}
			}
			msg, ok := MatchSuccessPolicy(policy, 10, ParseIndexes(tt.succeeded, 10))
			if msg != tt.want || ok != (tt.want != "") {
				t.Errorf("got %q %v, want %q", msg, ok, tt.want)
			}
		})
	}
}
