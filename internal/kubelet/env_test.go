package kubelet

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two", "EMPTY": ""}
	for in, want := range map[string]string{
		"plain":          "plain",
		"$(A)":           "1",
		"x$(B)y":         "xtwoy",
		"$$(A)":          "$(A)",
		"$$$(A)":         "$1",
		"$(C)":           "$(C)",
		"$(A":            "$(A",
		"$(A)$(B)$$$$":   "1two$$",
		"$A":             "$A",
		"$":              "$",
		"a$":             "a$",
		"$(EMPTY)x":      "x",
		"$()":            "$()",
		"$(A)$(":         "1$(",
		"$($(A))":        "$($(A))",
		"price: $$5":     "price: $5",
		"unicode $(B) é": "unicode two é",
	} {
		if got := expand(in, mapLookup(vars)); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func notFound(resource, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

func envTestPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid-1",
			Labels: map[string]string{"app": "web", "tier": "front"}, Annotations: map[string]string{"note": "hi \"there\""}},
		Spec: corev1.PodSpec{NodeName: "node-1", ServiceAccountName: "robot"},
	}
}

func TestMakeEnvironment(t *testing.T) {
	configMaps := map[string]*corev1.ConfigMap{
		"cfg":   {Data: map[string]string{"mode": "fast", "level": "3", "bad=key": "x", "1ok": "y"}},
		"other": {Data: map[string]string{"mode": "slow"}},
	}
	secrets := map[string]*corev1.Secret{
		"creds": {Data: map[string][]byte{"user": []byte("admin"), "pass": []byte("s3cr3t")}},
	}
	services := []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.1", Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "my-db"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.7", Ports: []corev1.ServicePort{{Port: 5432}, {Name: "metrics", Port: 9187, Protocol: corev1.ProtocolUDP}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "headless"}, Spec: corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 80}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "elsewhere", Name: "far"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.9", Ports: []corev1.ServicePort{{Port: 80}}}},
	}
	kubernetesEnv := []string{
		"KUBERNETES_PORT=tcp://10.43.0.1:443",
		"KUBERNETES_PORT_443_TCP=tcp://10.43.0.1:443",
		"KUBERNETES_PORT_443_TCP_ADDR=10.43.0.1",
		"KUBERNETES_PORT_443_TCP_PORT=443",
		"KUBERNETES_PORT_443_TCP_PROTO=tcp",
		"KUBERNETES_SERVICE_HOST=10.43.0.1",
		"KUBERNETES_SERVICE_PORT=443",
		"KUBERNETES_SERVICE_PORT_HTTPS=443",
	}
	src := envSources{
		configMap: func(ns, name string) (*corev1.ConfigMap, error) {
			if cm, ok := configMaps[name]; ok && ns == "ns" {
				return cm, nil
			}
			return nil, notFound("configmap", name)
		},
		secret: func(ns, name string) (*corev1.Secret, error) {
			if s, ok := secrets[name]; ok && ns == "ns" {
				return s, nil
			}
			return nil, notFound("secret", name)
		},
		services:       services,
		servicesSynced: true,
		hostIPs:        []string{"192.0.2.10", "2001:db8::10"},
		podIPs:         []string{"10.42.1.5"},
		allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
			corev1.ResourceEphemeralStorage: resource.MustParse("100Gi")},
	}
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	res := func(name, r, divisor string) corev1.EnvVar {
		sel := &corev1.ResourceFieldSelector{Resource: r}
		if divisor != "" {
			sel.Divisor = resource.MustParse(divisor)
		}
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: sel}}
	}
	cmKey := func(name, cm, key string, optional bool) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: cm}, Key: key, Optional: ptr.To(optional)}}}
	}
	secretKey := func(name, s, key string, optional bool) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: s}, Key: key, Optional: ptr.To(optional)}}}
	}
	noLinks := func(p *corev1.Pod) { p.Spec.EnableServiceLinks = ptr.To(false) }
	cases := []struct {
		name     string
		pod      func(*corev1.Pod)
		c        corev1.Container
		src      func(*envSources)
		want     []string // the container's own variables, in order
		services []string // the service variables expected beside the KUBERNETES_* ones
		warnings []string
		err      string
	}{
		{
			name: "literals and expansion of earlier variables, $$ escapes",
			pod:  noLinks,
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "$(A)-$(LATER)-$$(A)"},
				{Name: "LATER", Value: "x"}, {Name: "EMPTY"}, {Name: "HOST", Value: "$(KUBERNETES_SERVICE_HOST)"}}},
			want: []string{"A=1", "B=1-$(LATER)-$(A)", "LATER=x", "EMPTY=", "HOST=10.43.0.1"},
		},
		{
			name: "a later definition wins, in the first one's place",
			pod:  noLinks,
			c:    corev1.Container{Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "A", Value: "3"}}},
			want: []string{"A=3", "B=2"},
		},
		{
			name: "fieldRef",
			pod:  noLinks,
			c: corev1.Container{Env: []corev1.EnvVar{field("NAME", "metadata.name"), field("NS", "metadata.namespace"),
				field("UID", "metadata.uid"), field("APP", "metadata.labels['app']"), field("NOTE", "metadata.annotations['note']"),
				field("MISSING", "metadata.labels['nope']"), field("NODE", "spec.nodeName"), field("SA", "spec.serviceAccountName"),
				field("HOST_IP", "status.hostIP"), field("HOST_IPS", "status.hostIPs"), field("POD_IP", "status.podIP"),
				field("POD_IPS", "status.podIPs"), field("LABELS", "metadata.labels")}},
			want: []string{"NAME=web", "NS=ns", "UID=uid-1", "APP=web", "NOTE=hi \"there\"", "MISSING=", "NODE=node-1", "SA=robot",
				"HOST_IP=192.0.2.10", "HOST_IPS=192.0.2.10,2001:db8::10", "POD_IP=10.42.1.5", "POD_IPS=10.42.1.5",
				"LABELS=app=\"web\"\ntier=\"front\""},
		},
		{
			name: "unsupported fieldRef",
			pod:  noLinks,
			c:    corev1.Container{Env: []corev1.EnvVar{field("X", "spec.hostname")}},
			err:  "unsupported fieldPath: spec.hostname",
		},
		{
			name: "resourceFieldRef: limits, requests, divisors, allocatable without a limit",
			pod:  noLinks,
			c: corev1.Container{
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				Env: []corev1.EnvVar{res("CPU_LIMIT", "limits.cpu", ""), res("CPU_LIMIT_M", "limits.cpu", "1m"),
					res("CPU_REQ", "requests.cpu", ""), res("MEM_LIMIT", "limits.memory", ""), res("MEM_LIMIT_MI", "limits.memory", "1Mi"),
					res("MEM_REQ_MI", "requests.memory", "1Mi"), res("EPH_LIMIT_GI", "limits.ephemeral-storage", "1Gi"),
					res("EPH_REQ", "requests.ephemeral-storage", "")},
			},
			want: []string{"CPU_LIMIT=2", "CPU_LIMIT_M=1500", "CPU_REQ=1", "MEM_LIMIT=134217728", "MEM_LIMIT_MI=128",
				"MEM_REQ_MI=64", "EPH_LIMIT_GI=100", "EPH_REQ=0"},
		},
		{
			name: "resourceFieldRef without limits gives the node's allocatable",
			pod:  noLinks,
			c:    corev1.Container{Env: []corev1.EnvVar{res("CPU", "limits.cpu", ""), res("MEM", "limits.memory", "1Gi")}},
			want: []string{"CPU=4", "MEM=8"},
		},
		{
			name: "configMapKeyRef and secretKeyRef",
			pod:  noLinks,
			c: corev1.Container{Env: []corev1.EnvVar{cmKey("MODE", "cfg", "mode", false), secretKey("USER", "creds", "user", false),
				{Name: "URL", Value: "db://$(USER)@host?mode=$(MODE)"}}},
			want: []string{"MODE=fast", "USER=admin", "URL=db://admin@host?mode=fast"},
		},
		{
			name: "missing ConfigMap",
			pod:  noLinks,
			c:    corev1.Container{Env: []corev1.EnvVar{cmKey("X", "nope", "k", false)}},
			err:  `configmap "nope" not found`,
		},
		{
			name: "missing ConfigMap key",
			pod:  noLinks,
			c:    corev1.Container{Env: []corev1.EnvVar{cmKey("X", "cfg", "k", false)}},
			err:  "couldn't find key k in ConfigMap ns/cfg",
		},
		{
			name: "missing Secret",
			pod:  noLinks,
			c:    corev1.Container{Env: []corev1.EnvVar{secretKey("X", "nope", "k", false)}},
			err:  `secret "nope" not found`,
		},
		{
			name: "missing Secret key",
			pod:  noLinks,
			c:    corev1.Container{Env: []corev1.EnvVar{secretKey("X", "creds", "k", false)}},
			err:  "couldn't find key k in Secret ns/creds",
		},
		{
			name: "optional references to missing objects and keys define nothing",
			pod:  noLinks,
			c: corev1.Container{Env: []corev1.EnvVar{cmKey("A", "nope", "k", true), cmKey("B", "cfg", "k", true),
				secretKey("C", "nope", "k", true), secretKey("D", "creds", "k", true), {Name: "E", Value: "$(A)"}},
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr.To(true)}},
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr.To(true)}},
				}},
			want: []string{"E=$(A)"},
		},
		{
			name: "envFrom with prefixes, invalid keys skipped, env overrides",
			pod:  noLinks,
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
					{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}},
				},
				Env: []corev1.EnvVar{{Name: "level", Value: "9"}},
			},
			want:     []string{"1ok=y", "level=9", "mode=slow", "DB_pass=s3cr3t", "DB_user=admin"},
			warnings: []string{"Keys [bad=key] from the EnvFrom configMap ns/cfg were skipped since they are considered invalid environment variable names."},
		},
		{
			name: "envFrom of a missing ConfigMap",
			pod:  noLinks,
			c:    corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}}}},
			err:  `configmap "x" not found`,
		},
		{
			name: "service links of the namespace, and the container's own variable wins",
			c:    corev1.Container{Env: []corev1.EnvVar{{Name: "MY_DB_SERVICE_PORT", Value: "mine"}}},
			want: []string{"MY_DB_SERVICE_PORT=mine"},
			services: []string{"MY_DB_SERVICE_PORT=10.43.0.7:ignored",
				"MY_DB_PORT=tcp://10.43.0.7:5432",
				"MY_DB_PORT_5432_TCP=tcp://10.43.0.7:5432", "MY_DB_PORT_5432_TCP_ADDR=10.43.0.7", "MY_DB_PORT_5432_TCP_PORT=5432", "MY_DB_PORT_5432_TCP_PROTO=tcp",
				"MY_DB_PORT_9187_UDP=udp://10.43.0.7:9187", "MY_DB_PORT_9187_UDP_ADDR=10.43.0.7", "MY_DB_PORT_9187_UDP_PORT=9187", "MY_DB_PORT_9187_UDP_PROTO=udp",
				"MY_DB_SERVICE_HOST=10.43.0.7", "MY_DB_SERVICE_PORT_METRICS=9187"},
		},
		{
			name: "services not read yet",
			pod:  noLinks,
			src:  func(s *envSources) { s.servicesSynced = false },
			err:  "services have not yet been read at least once, cannot construct envvars",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := envTestPod()
			if tc.pod != nil {
				tc.pod(pod)
			}
			s := src
			if tc.src != nil {
				tc.src(&s)
			}
			c := tc.c
			c.Name = "app"
			pod.Spec.Containers = []corev1.Container{c}
			got, err := makeEnvironment(pod, &pod.Spec.Containers[0], s)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kvs []string
			for _, e := range got.env {
				kvs = append(kvs, e.Name+"="+e.Value)
			}
			want := expectedEnv(tc.want, append(append([]string(nil), tc.services...), kubernetesEnv...))
			if diff := cmp.Diff(want, kvs); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.warnings, got.warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// expectedEnv is the container's own variables in order, then the service variables sorted,
// but for those the container defines.
func expectedEnv(own, services []string) []string {
	defined := map[string]bool{}
	for _, kv := range own {
		defined[envName(kv)] = true
	}
	var tail []string
	for _, kv := range services {
		if !defined[envName(kv)] {
			tail = append(tail, kv)
		}
	}
	sort.Slice(tail, func(i, j int) bool { return envName(tail[i]) < envName(tail[j]) })
	return append(append([]string(nil), own...), tail...)
}

func envName(kv string) string {
	n, _, _ := strings.Cut(kv, "=")
	return n
}

func TestResolveContainerExpandsCommandAndArgs(t *testing.T) {
	pod := envTestPod()
	pod.Spec.EnableServiceLinks = ptr.To(false)
	pod.Spec.Containers = []corev1.Container{{
		Name:    "app",
		Command: []string{"/bin/app", "--name=$(NAME)", "$$(NAME)", "$(MISSING)"},
		Args:    []string{"$(GREETING) world", "$(KUBERNETES_SERVICE_PORT)"},
		Env: []corev1.EnvVar{{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "GREETING", Value: "hello $(NAME)"}},
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}, Optional: ptr.To(true)}}},
	}}
	src := envSources{
		configMap:      func(ns, name string) (*corev1.ConfigMap, error) { return nil, notFound("configmap", name) },
		servicesSynced: true,
		services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.1", Ports: []corev1.ServicePort{{Name: "https", Port: 443}}}}},
	}
	orig := pod.Spec.Containers[0].DeepCopy()
	c, _, err := resolveContainer(pod, &pod.Spec.Containers[0], src)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/bin/app", "--name=web", "$(NAME)", "$(MISSING)"}, c.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"hello web world", "443"}, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if c.EnvFrom != nil || c.Env[0].ValueFrom != nil || c.Env[0].Value != "web" {
		t.Errorf("env not resolved to literals: %+v %+v", c.Env, c.EnvFrom)
	}
	if diff := cmp.Diff(orig, &pod.Spec.Containers[0]); diff != "" {
		t.Errorf("the pod's container was changed:\n%s", diff)
	}
}
