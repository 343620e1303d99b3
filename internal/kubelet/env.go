package kubelet

import (
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
)

// envSources is what resolving a container's environment reads: the API objects it names
// and the node's and the pod's facts.
type envSources struct {
	configMap func(namespace, name string) (*corev1.ConfigMap, error)
	secret    func(namespace, name string) (*corev1.Secret, error)
	// services lists every Service; servicesSynced is false until the list was read once.
	services       []*corev1.Service
	servicesSynced bool
	hostIPs        []string
	podIPs         []string
	// allocatable is the node's, the value of a resource limit the container does not set.
	allocatable corev1.ResourceList
}

// envResult is a resolved environment.
type envResult struct {
	env []corev1.EnvVar
	// warnings are upstream's InvalidEnvironmentVariableNames events: keys of an envFrom
	// source that were skipped.
	warnings []string
}

// orderedEnv keeps variables in the order they were first defined, with their last values.
type orderedEnv struct {
	names  []string
	values map[string]string
}

func (e *orderedEnv) set(name, value string) {
	if _, ok := e.values[name]; !ok {
		e.names = append(e.names, name)
	}
	e.values[name] = value
}

// makeEnvironment resolves c's env and envFrom to literal values, as upstream's kubelet does
// (makeEnvironmentVariables): the Service variables of the pod's namespace (when
// enableServiceLinks is not false) and of the kubernetes Service, then envFrom in order, then
// env in order, each value expanding $(VAR) references to variables defined before it or to
// Service variables. Service variables come last, except those the container defines itself.
// A missing ConfigMap, Secret or key is an error unless the reference is optional; its message
// is upstream's.
func makeEnvironment(pod *corev1.Pod, c *corev1.Container, src envSources) (envResult, error) {
	var res envResult
	if !src.servicesSynced {
		return res, errors.New("services have not yet been read at least once, cannot construct envvars")
	}
	serviceEnv := serviceEnvironment(pod.Namespace, pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks, src.services)
	env := &orderedEnv{values: map[string]string{}}
	configMaps := map[string]*corev1.ConfigMap{}
	secrets := map[string]*corev1.Secret{}
	getConfigMap := func(name string) (*corev1.ConfigMap, error) {
		if cm, ok := configMaps[name]; ok {
			return cm, nil
		}
		cm, err := src.configMap(pod.Namespace, name)
		if err != nil {
			return nil, err
		}
		configMaps[name] = cm
		return cm, nil
	}
	getSecret := func(name string) (*corev1.Secret, error) {
		if s, ok := secrets[name]; ok {
			return s, nil
		}
		s, err := src.secret(pod.Namespace, name)
		if err != nil {
			return nil, err
		}
		secrets[name] = s
		return s, nil
	}

	for _, from := range c.EnvFrom {
		var (
			data map[string]string
			what string
			name string
		)
		switch {
		case from.ConfigMapRef != nil:
			name, what = from.ConfigMapRef.Name, "configMap"
			cm, err := getConfigMap(name)
			if err != nil {
				if apierrors.IsNotFound(err) && from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return res, err
			}
			data = cm.Data
		case from.SecretRef != nil:
			name, what = from.SecretRef.Name, "secret"
			s, err := getSecret(name)
			if err != nil {
				if apierrors.IsNotFound(err) && from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return res, err
			}
			data = make(map[string]string, len(s.Data))
			for k, v := range s.Data {
				data[k] = string(v)
			}
		default:
			continue
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var invalid []string
		for _, k := range keys {
			v := data[k]
			k = from.Prefix + k
			if !validEnvName(k) {
				invalid = append(invalid, k)
				continue
			}
			env.set(k, v)
		}
		if len(invalid) > 0 {
			res.warnings = append(res.warnings, fmt.Sprintf("Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
				strings.Join(invalid, ", "), what, pod.Namespace, name))
		}
	}

	for _, e := range c.Env {
		if e.ValueFrom == nil {
			// A literal, or "" (a variable set to the empty string).
			env.set(e.Name, expand(e.Value, mapLookup(env.values, serviceEnv)))
			continue
		}
		v, skip, err := envValueFrom(pod, c, e.ValueFrom, src, getConfigMap, getSecret)
		if err != nil {
			return res, err
		}
		if !skip {
			env.set(e.Name, v)
		}
	}

	for _, n := range env.names {
		res.env = append(res.env, corev1.EnvVar{Name: n, Value: env.values[n]})
	}
	names := make([]string, 0, len(serviceEnv))
	for n := range serviceEnv {
		if _, ok := env.values[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		res.env = append(res.env, corev1.EnvVar{Name: n, Value: serviceEnv[n]})
	}
	return res, nil
}

// envValueFrom resolves one valueFrom; skip is true for an optional reference to something
// missing, which defines no variable.
func envValueFrom(pod *corev1.Pod, c *corev1.Container, from *corev1.EnvVarSource, src envSources,
	getConfigMap func(string) (*corev1.ConfigMap, error), getSecret func(string) (*corev1.Secret, error)) (value string, skip bool, err error) {
	switch {
	case from.FieldRef != nil:
		v, err := podFieldValue(pod, from.FieldRef.FieldPath, src.hostIPs, src.podIPs)
		return v, false, err
	case from.ResourceFieldRef != nil:
		target := c
		if n := from.ResourceFieldRef.ContainerName; n != "" && n != c.Name {
			if target = findContainer(pod, n); target == nil {
				return "", false, fmt.Errorf("container %s not found", n)
			}
		}
		v, err := containerResourceValue(from.ResourceFieldRef, target, src.allocatable)
		return v, false, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		cm, err := getConfigMap(ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return "", true, nil
			}
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, pod.Namespace, ref.Name)
		}
		return v, false, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		s, err := getSecret(ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return "", true, nil
			}
			return "", false, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), false, nil
	case from.FileKeyRef != nil:
		return "", false, errors.New("fileKeyRef environment variables are not supported")
	}
	return "", true, nil
}

// validEnvName reports whether name may be an environment variable's name: printable ASCII
// without '=' (the API's relaxed rule).
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 32 || name[i] > 126 || name[i] == '=' {
			return false
		}
	}
	return true
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// podFieldValue is the value of a downward API field path of pod (upstream's
// podFieldSelectorRuntimeValue and fieldpath.ExtractFieldPathAsString).
func podFieldValue(pod *corev1.Pod, path string, hostIPs, podIPs []string) (string, error) {
	first := func(ips []string) string {
		if len(ips) == 0 {
			return ""
		}
		return ips[0]
	}
	switch path {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		if len(hostIPs) == 0 {
			return "", errors.New("the node has no IP address")
		}
		return first(hostIPs), nil
	case "status.hostIPs":
		if len(hostIPs) == 0 {
			return "", errors.New("the node has no IP address")
		}
		return strings.Join(hostIPs, ","), nil
	case "status.podIP":
		return first(podIPs), nil
	case "status.podIPs":
		return strings.Join(podIPs, ","), nil
	}
	return metadataFieldValue(pod, path)
}

// metadataFieldValue is fieldpath.ExtractFieldPathAsString over a pod's metadata: name,
// namespace, uid, labels and annotations (as sorted key="value" lines), and one label or
// annotation by key.
func metadataFieldValue(pod *corev1.Pod, path string) (string, error) {
	if p, key, ok := subscript(path); ok {
		switch p {
		case "metadata.annotations":
			return pod.Annotations[key], nil
		case "metadata.labels":
			return pod.Labels[key], nil
		}
		return "", fmt.Errorf("fieldPath %q does not support subscript", p)
	}
	switch path {
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", path)
}

// subscript splits "metadata.labels['key']" into its path and key.
func subscript(fieldPath string) (path, key string, ok bool) {
	open := strings.Index(fieldPath, "['")
	if open < 0 || !strings.HasSuffix(fieldPath, "']") || open+2 > len(fieldPath)-2 {
		return "", "", false
	}
	return fieldPath[:open], fieldPath[open+2 : len(fieldPath)-2], true
}

// formatMap renders m as sorted key="value" lines, as the downward API does.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%v=%q", k, m[k])
	}
	return b.String()
}

// containerResourceValue is a resourceFieldRef's value for c: its limit (the node's allocatable
// when it has none) or its request, divided by the divisor and rounded up.
func containerResourceValue(fs *corev1.ResourceFieldSelector, c *corev1.Container, allocatable corev1.ResourceList) (string, error) {
	divisor := fs.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	kind, name, ok := strings.Cut(fs.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported container resource : %v", fs.Resource)
	}
	rn := corev1.ResourceName(name)
	var q resource.Quantity
	switch kind {
	case "limits":
		var have bool
		q, have = c.Resources.Limits[rn]
		if !have {
			q = allocatable[rn]
		}
	case "requests":
		q = c.Resources.Requests[rn]
	}
	switch {
	case rn == corev1.ResourceCPU:
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	case rn == corev1.ResourceMemory || rn == corev1.ResourceEphemeralStorage || strings.HasPrefix(name, corev1.ResourceHugePagesPrefix):
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
	}
	return "", fmt.Errorf("unsupported container resource : %v", fs.Resource)
}

// serviceEnvironment is the Service variables of a container in namespace: those of the
// kubernetes Service in default always, and of every Service of the namespace with a cluster
// IP when links are enabled (upstream's getServiceEnvVarMap and envvars.FromServices).
func serviceEnvironment(namespace string, links bool, services []*corev1.Service) map[string]string {
	chosen := map[string]*corev1.Service{}
	for _, s := range services {
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		switch {
		case s.Namespace == "default" && s.Name == "kubernetes":
			if _, ok := chosen[s.Name]; !ok {
				chosen[s.Name] = s
			}
		case s.Namespace == namespace && links:
			chosen[s.Name] = s
		}
	}
	out := map[string]string{}
	for _, s := range chosen {
		prefix := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		ip := s.Spec.ClusterIP
		out[prefix+"_SERVICE_HOST"] = ip
		out[prefix+"_SERVICE_PORT"] = strconv.Itoa(int(s.Spec.Ports[0].Port))
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				out[prefix+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = strconv.Itoa(int(p.Port))
			}
		}
		for i, p := range s.Spec.Ports {
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			url := proto + "://" + net.JoinHostPort(ip, strconv.Itoa(int(p.Port)))
			if i == 0 {
				out[prefix+"_PORT"] = url
			}
			pp := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.Port, strings.ToUpper(proto))
			out[pp] = url
			out[pp+"_PROTO"] = proto
			out[pp+"_PORT"] = strconv.Itoa(int(p.Port))
			out[pp+"_ADDR"] = ip
		}
	}
	return out
}

// resolveContainer returns a copy of c whose env holds literal values (envFrom folded in) and
// whose command and args have their $(VAR) references expanded against that environment.
func resolveContainer(pod *corev1.Pod, c *corev1.Container, src envSources) (*corev1.Container, envResult, error) {
	res, err := makeEnvironment(pod, c, src)
	if err != nil {
		return nil, res, err
	}
	out := c.DeepCopy()
	out.Env, out.EnvFrom = res.env, nil
	vars := make(map[string]string, len(res.env))
	for _, e := range res.env {
		vars[e.Name] = e.Value
	}
	out.Command = expandAll(c.Command, mapLookup(vars))
	out.Args = expandAll(c.Args, mapLookup(vars))
	return out, res, nil
}
