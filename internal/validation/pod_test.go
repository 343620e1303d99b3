package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestValidatePodCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []want
	}{
		{"valid", func(*corev1.Pod) {}, nil},
		{"container name not a DNS label", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App_1" }, []want{
			invalid("spec.containers[0].name", `spec.containers[0].name: Invalid value: "App_1": `+dns1123LabelMsg),
		}},
		{"duplicate container names", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, validContainer("app"))
		}, []want{
			duplicate("spec.containers[1].name", `spec.containers[1].name: Duplicate value: "app"`),
		}},
		{"image required", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []want{
			required("spec.containers[0].image", "spec.containers[0].image: Required value"),
		}},
		{"image with trailing whitespace", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx " }, []want{
			invalid("spec.containers[0].image", `spec.containers[0].image: Invalid value: "nginx ": must not have leading or trailing whitespace`),
		}},
		{"container port out of range", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, []want{
			invalid("spec.containers[0].ports[0].containerPort", "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"),
		}},
		{"unknown port protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }, []want{
			unsupported("spec.containers[0].ports[0].protocol", `spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`),
		}},
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("300m")
		}, []want{
			invalid("spec.containers[0].resources.requests", `spec.containers[0].resources.requests: Invalid value: "300m": must be less than or equal to cpu limit of 200m`),
		}},
		{"negative memory request", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("-1")
		}, []want{
			invalid("spec.containers[0].resources.requests[memory]", `spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`),
		}},
		{"unknown unprefixed resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits["gpu"] = resource.MustParse("1")
		}, []want{
			invalid("spec.containers[0].resources.limits[gpu]", `spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified`),
			invalid("spec.containers[0].resources.limits[gpu]", `spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers`),
		}},
		{"env name with equals sign", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "A=B" }, []want{
			invalid("spec.containers[0].env[0].name", `spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`),
		}},
		{"env value and valueFrom", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].ValueFrom = &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}
		}, []want{
			invalid("spec.containers[0].env[0].valueFrom", "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"),
		}},
		{"mount of a missing volume", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "missing" }, []want{
			notFound("spec.containers[0].volumeMounts[0].name", `spec.containers[0].volumeMounts[0].name: Not found: "missing"`),
		}},
		{"volume with two sources", func(p *corev1.Pod) {
			p.Spec.Volumes[0].HostPath = &corev1.HostPathVolumeSource{Path: "/tmp"}
		}, []want{
			forbidden("spec.volumes[0].hostPath", "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"),
			notFound("spec.containers[0].volumeMounts[0].name", `spec.containers[0].volumeMounts[0].name: Not found: "data"`),
		}},
		{"volume without source", func(p *corev1.Pod) { p.Spec.Volumes[0].EmptyDir = nil }, []want{
			required("spec.volumes[0]", "spec.volumes[0]: Required value: must specify a volume type"),
			notFound("spec.containers[0].volumeMounts[0].name", `spec.containers[0].volumeMounts[0].name: Not found: "data"`),
		}},
		{"duplicate volume names", func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, p.Spec.Volumes[0]) }, []want{
			duplicate("spec.volumes[1].name", `spec.volumes[1].name: Duplicate value: "data"`),
		}},
		{"restartPolicy enum", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, []want{
			unsupported("spec.restartPolicy", `spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`),
		}},
		{"dnsPolicy enum", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" }, []want{
			unsupported("spec.dnsPolicy", `spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`),
		}},
		{"dnsPolicy None without config", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, []want{
			required("spec.dnsConfig", "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"),
		}},
		{"terminationGracePeriodSeconds required", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil }, []want{
			required("spec.terminationGracePeriodSeconds", "spec.terminationGracePeriodSeconds: Required value"),
		}},
		{"liveness probe success threshold", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
				ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstrPort(8080), Scheme: corev1.URISchemeHTTP}},
				TimeoutSeconds:   1,
				PeriodSeconds:    10,
				SuccessThreshold: 2,
				FailureThreshold: 3,
			}
		}, []want{
			invalid("spec.containers[0].livenessProbe.successThreshold", "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"),
		}},
		{"hostNetwork host port must match", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
		}, []want{
			invalid("spec.containers[0].ports[0].hostPort", "spec.containers[0].ports[0].hostPort: Invalid value: 0: must match `containerPort` when `hostNetwork` is true"),
		}},
		{"invalid nodeSelector value", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd!"} }, []want{
			invalid("spec.nodeSelector", `spec.nodeSelector: Invalid value: "ssd!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`),
		}},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox", TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
			}}}
		}, []want{
			forbidden("spec.ephemeralContainers", "spec.ephemeralContainers: Forbidden: cannot be set on create"),
		}},
		{"nodeName with scheduling gates", func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/gate"}}
		}, []want{
			forbidden("spec.nodeName", "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared"),
		}},
		{"toleration with empty key must use Exists", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpEqual, Value: "x"}}
		}, []want{
			invalid("spec.tolerations[0].operator", "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\""),
		}},
		{"projected token without service account", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = ""
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources:     []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3600))}}},
				DefaultMode: ptr(int32(0644)),
			}}})
		}, []want{
			forbidden("spec.volumes[1].projected.sources[0].serviceAccountToken", "spec.volumes[1].projected.sources[0].serviceAccountToken: Forbidden: must not be specified when serviceAccountName is not set"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := validPod()
			tc.mutate(pod)
			checkErrs(t, ValidateCreate(pod), tc.want)
		})
	}
}

func TestValidatePodUpdate(t *testing.T) {
	const notOther = "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
	cases := []struct {
		name        string
		mutateOld   func(*corev1.Pod)
		mutate      func(*corev1.Pod)
		want        []want
		wantDiffers bool
	}{
		{"image may change", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }, nil, false},
		{"tolerations may be added", nil, func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		}, nil, false},
		{"scheduling gates may be removed", func(p *corev1.Pod) {
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/a"}}
		}, func(p *corev1.Pod) { p.Spec.SchedulingGates = nil }, nil, false},
		{"env is immutable", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Value = "dev" }, []want{
			{typ: field_Forbidden, field: "spec", msg: notOther, prefix: true},
		}, true},
		{"containers may not be added", nil, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, validContainer("sidecar"))
		}, []want{
			forbidden("spec.containers", "spec.containers: Forbidden: pod updates may not add or remove containers"),
		}, false},
		{"activeDeadlineSeconds may only decrease", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(100)) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(200)) }, []want{
				invalid("spec.activeDeadlineSeconds", "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"),
			}, false},
		{"existing toleration is immutable", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		}, func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "b" }, []want{
			forbidden("spec.tolerations", "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"),
		}, false},
		{"scheduling gates may not be added", func(p *corev1.Pod) {
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/a"}}
		}, func(p *corev1.Pod) {
			p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: "example.com/b"})
		}, []want{
			forbidden("spec.schedulingGates[1].name", "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/b'"),
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			if tc.mutateOld != nil {
				tc.mutateOld(old)
			}
			pod := old.DeepCopy()
			tc.mutate(pod)
			got := ValidateUpdate(pod, old)
			checkErrs(t, got, tc.want)
			if tc.wantDiffers && len(got) == 1 {
				// The detail ends with the diff of the old spec and the munged new one.
				wantDetail := podUpdateForbiddenDetail(&old.Spec, mungedPodSpec(&pod.Spec, &old.Spec))
				if got[0].Detail != wantDetail {
					t.Errorf("detail = %q, want %q", got[0].Detail, wantDetail)
				}
			}
		})
	}
}
