package e2e

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/skiff-project/skiff/test/cluster"
)

// TestMeasureServiceThroughput measures what a ClusterIP costs: wrk (Debian's package, installed
// if missing) runs on node a against one skiffhost pod on node b, first by its pod IP, then by a
// ClusterIP Service in front of it, in the same run. Run with SKIFF_MEASURE=1 as root; the
// numbers go to BENCHMARKS.md.
func TestMeasureServiceThroughput(t *testing.T) {
	if os.Getenv("SKIFF_MEASURE") == "" {
		t.Skip("set SKIFF_MEASURE=1 to measure")
	}
	if isolate(t) {
		return
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		if out, err := exec.Command("apt-get", "install", "-y", "wrk").CombinedOutput(); err != nil {
			t.Skipf("wrk: %v\n%s", err, out)
		}
	}
	imgs, err := cluster.TestImages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.New(t, cluster.Options{Binary: skiffBin, Images: imgs})
	a, b := c.Nodes[0], c.Nodes[1]
	pod := nodePod("target", b.Name, cluster.SkiffhostImage, 0, "serve", "--port", "8080")
	running := runPods(t, c, pod)
	c.MustKubectl("expose", "pod", "target", "--port=80", "--target-port=8080")
	clusterIP := c.MustKubectl("get", "svc", "target", "-o", "jsonpath={.spec.clusterIP}")
	direct := "http://" + running["target"].Status.PodIP + ":8080/hostname"
	viaService := "http://" + clusterIP + "/hostname"
	c.Eventually(20*time.Second, func() string {
		if out, err := a.Exec("wrk", "-t1", "-c1", "-d1s", viaService); err != nil {
			return err.Error() + out
		}
		return ""
	})
	summary := regexp.MustCompile(`(?s)Latency Distribution.*?50%\s+(\S+).*?99%\s+(\S+).*?Requests/sec:\s+(\S+)`)
	// Kept-alive connections: the translation is made once per connection. (A connection per
	// request, wrk -H "Connection: close", measures the node's ephemeral ports running out in
	// TIME_WAIT here, whatever the target, so it is not reported.)
	for _, mode := range []struct {
		name string
		args []string
	}{{"keep-alive", nil}} {
		for _, target := range []struct{ name, url string }{{"pod IP", direct}, {"ClusterIP", viaService}, {"pod IP", direct}, {"ClusterIP", viaService}} {
			out, err := a.Exec("wrk", append(append([]string{"-t2", "-c32", "-d10s", "--latency"}, mode.args...), target.url)...)
			if err != nil {
				t.Fatalf("wrk %s: %v\n%s", target.url, err, out)
			}
			m := summary.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("wrk output:\n%s", out)
			}
			t.Logf("%s, %-9s: %s requests/s, latency p50 %s, p99 %s", mode.name, target.name, m[3], m[1], m[2])
		}
	}
}
