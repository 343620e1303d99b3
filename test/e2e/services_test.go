package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/test/cluster"
)

// webDeployment is skiffhost serving on 8080, spread over the nodes one by one.
const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: DoNotSchedule
        labelSelector:
          matchLabels: {app: web}
      containers:
      - name: web
        image: ` + cluster.SkiffhostImage + `
        args: [serve, --port, "8080"]
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ` + cluster.BusyboxImage + `
    command: [sh, -c, "sleep 3600"]
`

// balance asks url n times from the client pod and counts the answers (hostnames).
func balance(c *cluster.Cluster, url string, n int) (map[string]int, error) {
	script := fmt.Sprintf("for i in $(seq %d); do wget -qO- %s; echo; done", n, url)
	out, errOut, code := c.Kubectl("exec", "client", "--", "sh", "-c", script)
	if code != 0 {
		return nil, fmt.Errorf("exit %d: %s", code, errOut)
	}
	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			got[line]++
		}
	}
	return got, nil
}

// podsOnNodes returns the web pods' names by node.
func webPodsByNode(t *testing.T, c *cluster.Cluster) map[string][]string {
	t.Helper()
	out := c.MustKubectl("get", "pods", "-l", "app=web", "-o", `jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{"\n"}{end}`)
	by := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			by[f[1]] = append(by[f[1]], f[0])
		}
	}
	return by
}

// TestMultiNodeServices: a Service's ClusterIP balances over the ready pods of both nodes; a
// NodePort answers on every node's address; `kubectl expose --type=LoadBalancer` gives an
// EXTERNAL-IP that answers from the machine; scaling changes what the VIP balances over; an
// agent restarted keeps the Service working.
func TestMultiNodeServices(t *testing.T) {
	if isolate(t) {
		return
	}
	ctx := context.Background()
	imgs, err := cluster.TestImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := imgs[cluster.BusyboxImage]; !ok {
		t.Skip("needs the busybox image")
	}
	c := cluster.New(t, cluster.Options{Binary: skiffBin, Images: imgs, BeforeAgents: func(c *cluster.Cluster) []string {
		// The machines' resolver, in a namespace of its own: the agents forward names outside
		// the cluster domain to it.
		ip := c.StartResolver(map[string]string{"outside.example": "198.51.100.7"})
		conf := filepath.Join(c.Dir, "resolv.conf")
		if err := os.WriteFile(conf, []byte("nameserver "+ip+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{"--resolv-conf", conf}
	}})
	a, b := c.Nodes[0], c.Nodes[1]
	c.Apply(webDeployment)
	c.MustKubectl("rollout", "status", "deploy/web", "--timeout=90s")
	c.MustKubectl("wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
	byNode := webPodsByNode(t, c)
	if len(byNode[a.Name]) != 2 || len(byNode[b.Name]) != 2 {
		t.Fatalf("web pods by node: %v", byNode)
	}

	// ClusterIP: 100 requests from a pod reach the pods of both nodes.
	mustContain(t, "expose", c.MustKubectl("expose", "deployment", "web", "--port=80", "--target-port=8080"), "service/web exposed")
	clusterIP := c.MustKubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
	var counts map[string]int
	c.Eventually(30*time.Second, func() string {
		counts, err = balance(c, "http://"+clusterIP+"/hostname", 100)
		if err != nil {
			return err.Error()
		}
		if len(counts) != 4 {
			return fmt.Sprintf("100 requests to the ClusterIP reached %v", counts)
		}
		return ""
	})
	t.Logf("100 requests to ClusterIP %s: %v", clusterIP, counts)

	// Cluster DNS: a pod resolves a Service by its short and its namespaced names, a headless
	// Service to its pods' IPs, and a name outside the cluster through the node's resolver.
	c.Apply(`apiVersion: v1
kind: Service
metadata:
  name: web-headless
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Pod
metadata:
  name: lookup
spec:
  restartPolicy: Never
  containers:
  - {name: kubernetes, image: ` + cluster.SkiffhostImage + `, args: [dns-lookup, kubernetes.default]}
  - {name: web, image: ` + cluster.SkiffhostImage + `, args: [dns-lookup, web]}
  - {name: headless, image: ` + cluster.SkiffhostImage + `, args: [dns-lookup, web-headless.default.svc.cluster.local]}
  - {name: outside, image: ` + cluster.SkiffhostImage + `, args: [dns-lookup, outside.example]}
`)
	c.Eventually(60*time.Second, func() string {
		if phase := c.MustKubectl("get", "pod", "lookup", "-o", "jsonpath={.status.phase}"); phase != "Succeeded" {
			desc, _, _ := c.Kubectl("describe", "pod", "lookup")
			return "lookup pod " + phase + "\n" + desc
		}
		return ""
	})
	podIPs := strings.Fields(c.MustKubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.podIP}"))
	sort.Strings(podIPs)
	for name, want := range map[string]string{"kubernetes": "10.43.0.1", "web": clusterIP, "headless": strings.Join(podIPs, " "), "outside": "198.51.100.7"} {
		got := strings.Fields(c.MustKubectl("logs", "lookup", "-c", name))
		sort.Strings(got)
		if strings.Join(got, " ") != want {
			t.Errorf("dns-lookup in a pod (%s): %v, want %s", name, got, want)
		}
	}

	// By the Service's DNS name, from a pod on each node.
	for _, n := range c.Nodes {
		pod := byNode[n.Name][0]
		if out, err := podGet(c, pod, "http://web/hostname"); err != nil || !strings.HasPrefix(out, "web-") {
			t.Errorf("from %s on %s, http://web/hostname: %q %v", pod, n.Name, out, err)
		}
	}

	// NodePort: every node's address answers, from the machine.
	c.MustKubectl("expose", "deployment", "web", "--name=web-np", "--type=NodePort", "--port=80", "--target-port=8080")
	nodePort := c.MustKubectl("get", "svc", "web-np", "-o", "jsonpath={.spec.ports[0].nodePort}")
	machine := &http.Client{Timeout: 3 * time.Second}
	for _, n := range c.Nodes {
		url := "http://" + net.JoinHostPort(n.IP, nodePort) + "/hostname"
		c.Eventually(20*time.Second, func() string {
			if _, err := httpGet(machine, url); err != nil {
				return "NodePort: " + err.Error()
			}
			return ""
		})
	}

	// LoadBalancer: the built-in service load balancer gives the nodes' addresses, which
	// answer on the Service's port from the machine.
	c.MustKubectl("expose", "deployment", "web", "--name=web-lb", "--type=LoadBalancer", "--port=80", "--target-port=8080")
	var external string
	c.Eventually(30*time.Second, func() string {
		out := c.MustKubectl("get", "svc", "web-lb")
		m := regexp.MustCompile(`web-lb\s+LoadBalancer\s+\S+\s+(\S+)\s+80:\d+/TCP`).FindStringSubmatch(out)
		if m == nil || m[1] == "<pending>" {
			return "get svc web-lb:\n" + out
		}
		external = m[1]
		return ""
	})
	ips := strings.Split(external, ",")
	sort.Strings(ips)
	want := []string{a.IP, b.IP}
	sort.Strings(want)
	if strings.Join(ips, ",") != strings.Join(want, ",") {
		t.Errorf("EXTERNAL-IP %q, want the nodes' addresses %v", external, want)
	}
	for _, ip := range ips {
		c.Eventually(20*time.Second, func() string {
			if got, err := httpGet(machine, "http://"+ip+"/hostname"); err != nil || !strings.HasPrefix(got, "web-") {
				return fmt.Sprintf("LoadBalancer address %s: %q %v", ip, got, err)
			}
			return ""
		})
	}

	// Scaling down: once the EndpointSlice says one endpoint, the VIP balances over it alone.
	c.MustKubectl("scale", "deploy/web", "--replicas=1")
	var written time.Time
	c.Eventually(60*time.Second, func() string {
		slices, err := c.Client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil {
			return err.Error()
		}
		n := 0
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					n++
				}
			}
		}
		if n != 1 {
			return "ready endpoints: " + strconv.Itoa(n)
		}
		written = time.Now()
		return ""
	})
	c.Eventually(20*time.Second, func() string {
		counts, err := balance(c, "http://"+clusterIP+"/hostname", 20)
		if err != nil {
			return err.Error()
		}
		if len(counts) != 1 {
			return fmt.Sprintf("after scaling to 1, 20 requests reached %v", counts)
		}
		return ""
	})
	t.Logf("the VIP balanced over the one endpoint left %v after the EndpointSlice was seen with it", time.Since(written).Round(time.Millisecond))

	// An agent killed and restarted keeps the Service working from the other node's pod.
	c.MustKubectl("scale", "deploy/web", "--replicas=4")
	c.MustKubectl("rollout", "status", "deploy/web", "--timeout=90s")
	c.RestartAgent(b.Name)
	c.Eventually(30*time.Second, func() string {
		counts, err := balance(c, "http://"+clusterIP+"/hostname", 40)
		if err != nil {
			return err.Error()
		}
		if len(counts) != 4 {
			return fmt.Sprintf("after the agent restart, 40 requests reached %v", counts)
		}
		return ""
	})
}
