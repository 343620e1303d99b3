package upstream

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/skiff-project/skiff/internal/testserver"
)

const dataDir = "../../testdata/upstream"

// Reasons shared by several known differences.
const (
	noCRs = "custom resources are not served yet"
)

// knownDifferences lists what skiff does not do like upstream yet. Each entry excuses the
// mismatches it matches; an entry that excuses nothing fails the test, so the list stays the
// list of what is left.
var knownDifferences = []knownDifference{
	{"defaulted/20-node", "spec.taints[1]", "TaintNodesByCondition admission (not-ready:NoSchedule) waits for a node lifecycle controller to take the taint off"},
	{"defaulted/20-persistentvolume*", "metadata.finalizers", "StorageObjectInUseProtection admission waits for the pv/pvc-protection controllers to take the finalizers off"},
	{"defaulted/80-customresourcedefinition", "status", "no CRD naming and establishing controllers: no conditions or acceptedNames"},
	{"tables/customresourcedefinitions", "rows[0].cells[7]", "no CRD establishing controller: Established is false"},
	{"defaulted/81-widget", "", noCRs},
	{"invalid/widget-bad-type", "", noCRs},
	{"tables/widgets", "", noCRs},
	{"invalid/role-missing-verbs", "message", "validation adds \"verbs must contain at least one value\" to upstream's plain Required value"},
	{"invalid/role-missing-verbs", "details.causes[0].message", "validation adds \"verbs must contain at least one value\" to upstream's plain Required value"},
	{"explain/*", "enum", "the OpenAPI documents carry no enum values for k8s.io/api types (+enum is not visible at run time)"},
	{"tables/ipaddresses", "rows[*].cells[2]", "printers drop the age cell that upstream's IPAddress rows carry beyond their two columns (kubectl never shows it)"},
}

// client replays requests against skiff the way hack/record-upstream.sh sends them upstream.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *client) do(method, path, contentType string, body []byte, accept string) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// collection finds a kind's resource through discovery, as the script does: the path of the
// collection to create it in, and the list path of its Table (all namespaces, label test=upstream).
func (c *client) collection(apiVersion, kind, namespace string) (create, table, resource string, err error) {
	prefix := "/api/" + apiVersion
	if strings.Contains(apiVersion, "/") {
		prefix = "/apis/" + apiVersion
	}
	code, b := c.do(http.MethodGet, prefix, "", nil, "application/json")
	if code != http.StatusOK {
		return "", "", "", fmt.Errorf("discovery of %s: HTTP %d", apiVersion, code)
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(b, &list); err != nil {
		return "", "", "", err
	}
	for _, r := range list.APIResources {
		if r.Kind != kind || strings.Contains(r.Name, "/") {
			continue
		}
		table = prefix + "/" + r.Name + "?labelSelector=test%3Dupstream"
		if r.Namespaced {
			return prefix + "/namespaces/" + namespace + "/" + r.Name, table, r.Name, nil
		}
		return prefix + "/" + r.Name, table, r.Name, nil
	}
	return "", "", "", fmt.Errorf("%s %s is not served", apiVersion, kind)
}

type manifest struct {
	name string // file name without .yaml
	body []byte
	meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
}

func readManifests(t *testing.T, dir string) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []manifest
	for _, f := range files {
		m := manifest{name: strings.TrimSuffix(filepath.Base(f), ".yaml")}
		if m.body, err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(m.body, &m.meta); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if m.meta.Metadata.Namespace == "" {
			m.meta.Metadata.Namespace = "upstream-test"
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	return out
}

func readRecorded(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decode(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// checker compares answers and keeps track of the known differences it used.
type checker struct {
	used map[int]bool
}

// check reports the mismatches between upstream's and skiff's answers that no known difference
// explains.
func (ch *checker) check(t *testing.T, name string, upstream, skiff any) {
	t.Helper()
	var unexplained []mismatch
	for _, m := range compare(upstream, skiff) {
		if i := explain(knownDifferences, name, m); i >= 0 {
			ch.used[i] = true
			continue
		}
		unexplained = append(unexplained, m)
	}
	ch.report(t, name, unexplained)
}

// fail records a whole case as one mismatch, such as a create that upstream accepted and skiff
// did not.
func (ch *checker) fail(t *testing.T, name, what, upstream, skiff string) {
	t.Helper()
	m := mismatch{path: what, upstream: upstream, skiff: skiff}
	if i := explain(knownDifferences, name, m); i >= 0 {
		ch.used[i] = true
		return
	}
	ch.report(t, name, []mismatch{m})
}

func (ch *checker) report(t *testing.T, name string, ms []mismatch) {
	t.Helper()
	if len(ms) == 0 {
		return
	}
	u, s := map[string]string{}, map[string]string{}
	for _, m := range ms {
		u[m.path], s[m.path] = m.upstream, m.skiff
	}
	t.Errorf("%s: skiff differs from upstream in %d place(s) (-upstream +skiff):\n%s", name, len(ms), cmp.Diff(u, s))
}

func TestUpstream(t *testing.T) {
	// Upstream ran without a scheduler or controllers, so skiff runs without its scheduler: the
	// pods must stay as they were created.
	s := testserver.Start(t, testserver.Options{DisableScheduler: true, DisableControllers: true})
	rt, err := rest.TransportFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: s.URL, http: &http.Client{Transport: rt}}
	ch := &checker{used: map[int]bool{}}

	// The set-up the script does: two namespaces, each with the ServiceAccount "default" that
	// upstream's controller-manager would create.
	for _, ns := range []string{"upstream-test", "upstream-limits"} {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, ns)
		if code, b := c.do(http.MethodPost, "/api/v1/namespaces", "application/json", []byte(body), "application/json"); code != http.StatusCreated {
			t.Fatalf("create namespace %s: HTTP %d: %s", ns, code, b)
		}
		body = `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}`
		if code, b := c.do(http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts", "application/json", []byte(body), "application/json"); code != http.StatusCreated {
			t.Fatalf("create serviceaccount %s/default: HTTP %d: %s", ns, code, b)
		}
	}

	tables := map[string]string{} // resource -> list path, as upstream named it
	t.Run("defaulted", func(t *testing.T) {
		for _, m := range readManifests(t, filepath.Join(dataDir, "manifests")) {
			name := "defaulted/" + m.name
			recorded := filepath.Join(dataDir, "defaulted", m.name+".json")
			t.Run(m.name, func(t *testing.T) {
				want := normalizeObject(readRecorded(t, recorded))
				create, table, resource, err := c.collection(m.meta.APIVersion, m.meta.Kind, m.meta.Metadata.Namespace)
				if err != nil {
					ch.fail(t, name, "(discovery)", "served", err.Error())
					return
				}
				tables[resource] = table
				code, b := c.do(http.MethodPost, create, "application/yaml", m.body, "application/json")
				if code != http.StatusCreated {
					ch.fail(t, name, "(create)", "HTTP 201", fmt.Sprintf("HTTP %d: %s", code, b))
					return
				}
				var created metav1.PartialObjectMetadata
				if err := json.Unmarshal(b, &created); err != nil {
					t.Fatal(err)
				}
				code, b = c.do(http.MethodGet, create+"/"+created.Name, "", nil, "application/json")
				if code != http.StatusOK {
					ch.fail(t, name, "(get)", "HTTP 200", fmt.Sprintf("HTTP %d: %s", code, b))
					return
				}
				got, err := decode(b)
				if err != nil {
					t.Fatal(err)
				}
				ch.check(t, name, want, normalizeObject(got))
			})
		}
	})

	t.Run("invalid", func(t *testing.T) {
		for _, m := range readManifests(t, filepath.Join(dataDir, "invalid")) {
			name := "invalid/" + m.name
			recorded := filepath.Join(dataDir, "invalid", m.name+".status.json")
			t.Run(m.name, func(t *testing.T) {
				want := normalizeStatus(readRecorded(t, recorded))
				create, _, _, err := c.collection(m.meta.APIVersion, m.meta.Kind, m.meta.Metadata.Namespace)
				if err != nil {
					ch.fail(t, name, "(discovery)", "served", err.Error())
					return
				}
				code, b := c.do(http.MethodPost, create, "application/yaml", m.body, "application/json")
				if code/100 == 2 {
					ch.fail(t, name, "(create)", fmt.Sprintf("rejected: %v", want.(map[string]any)["message"]), fmt.Sprintf("accepted (HTTP %d)", code))
					return
				}
				got, err := decode(b)
				if err != nil {
					t.Fatalf("HTTP %d: %v: %s", code, err, b)
				}
				ch.check(t, name, want, normalizeStatus(got))
			})
		}
	})

	t.Run("tables", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(dataDir, "tables", "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatal("no recorded tables")
		}
		if len(tables) == 0 {
			t.Skip("the tables list what the defaulted subtests create: run them too")
		}
		for _, f := range files {
			resource := strings.TrimSuffix(filepath.Base(f), ".json")
			name := "tables/" + resource
			t.Run(resource, func(t *testing.T) {
				want := normalizeTable(readRecorded(t, f))
				path := tables[resource]
				if path == "" {
					ch.fail(t, name, "(discovery)", "served", "not served")
					return
				}
				code, b := c.do(http.MethodGet, path, "", nil, "application/json;as=Table;v=v1;g=meta.k8s.io")
				if code != http.StatusOK {
					ch.fail(t, name, "(list)", "HTTP 200", fmt.Sprintf("HTTP %d: %s", code, b))
					return
				}
				got, err := decode(b)
				if err != nil {
					t.Fatal(err)
				}
				ch.check(t, name, want, normalizeTable(got))
			})
		}
	})

	t.Run("patches", func(t *testing.T) { testPatches(t, c, ch) })
	t.Run("apply", func(t *testing.T) { testApply(t, c, ch) })
	t.Run("explain", func(t *testing.T) { testExplain(t, s.AdminKubeconfig, ch) })

	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		return // a partial run cannot tell which known differences are stale
	}
	for i, k := range knownDifferences {
		if !ch.used[i] {
			t.Errorf("known difference no longer seen, remove it: {%q, %q, %q}", k.cases, k.path, k.reason)
		}
	}
}
