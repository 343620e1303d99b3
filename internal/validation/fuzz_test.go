package validation

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// FuzzValidatePod feeds JSON-decoded pods to the pod validation entry points
// and requires that none of them panics.
func FuzzValidatePod(f *testing.F) {
	seed, err := json.Marshal(validPod())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, seed)
	f.Add([]byte(`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":99999,"protocol":"X"}]}],"volumes":[{"name":"v","hostPath":{"path":"/"},"emptyDir":{}}]}}`), seed)
	f.Add([]byte(`{"spec":{"initContainers":[{"name":"i","restartPolicy":"Always","lifecycle":{"preStop":{"sleep":{"seconds":5}}}}],"ephemeralContainers":[{"name":"e","targetContainerName":"x"}]}}`), seed)
	f.Add([]byte(`{"metadata":{"annotations":{"scheduler.alpha.kubernetes.io/tolerations":"[{\"key\":1}]","controller.kubernetes.io/pod-deletion-cost":"+1"}},"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"In"}]}]}}}}}`), seed)
	f.Add([]byte(`{"spec":{"resources":{"requests":{"hugepages-2Mi":"3Mi"}},"containers":[{"resources":{"limits":{"hugepages-x":"1"}}}],"topologySpreadConstraints":[{"maxSkew":0,"minDomains":0,"matchLabelKeys":["a"]}]}}`), seed)
	f.Fuzz(func(t *testing.T, newJSON, oldJSON []byte) {
		var pod, old corev1.Pod
		if json.Unmarshal(newJSON, &pod) != nil {
			return
		}
		_ = ValidateCreate(&pod)
		_ = ValidateUpdate(&pod, validPod())
		_ = ValidateStatusUpdate(&pod, validPod())
		if json.Unmarshal(oldJSON, &old) != nil {
			return
		}
		_ = ValidateUpdate(&pod, &old)
		_ = ValidateStatusUpdate(&pod, &old)
	})
}
