package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// This file replays the second half of hack/record-upstream.sh: the strategic merge patches, the
// server-side apply cases and kubectl explain, in the script's order, after the tables.

// readYAMLMeta reads a manifest's apiVersion, kind, name and namespace (upstream-test if unset).
func readYAMLMeta(t *testing.T, path string) (body []byte, apiVersion, kind, name, namespace string) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if m.Metadata.Namespace == "" {
		m.Metadata.Namespace = "upstream-test"
	}
	return body, m.APIVersion, m.Kind, m.Metadata.Name, m.Metadata.Namespace
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// isStatus reports whether a decoded answer is a Status (a refusal).
func isStatus(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["kind"] == "Status" && m["apiVersion"] == "v1"
}

// normalizeAnswer normalises an answer as the recorded one is: a Status as a Status, anything else
// as an object.
func normalizeAnswer(recorded, v any) any {
	if isStatus(recorded) {
		return normalizeStatus(v)
	}
	return normalizeObject(v)
}

// normalizeApplied is normalizeObject keeping metadata.managedFields, with only each entry's
// time masked.
func normalizeApplied(v any) any {
	obj, ok := v.(map[string]any)
	if !ok || isStatus(v) {
		return normalizeStatus(v)
	}
	md, _ := obj["metadata"].(map[string]any)
	mf := md["managedFields"]
	obj = normalizeObject(obj).(map[string]any)
	if entries, ok := mf.([]any); ok {
		for _, e := range entries {
			if em, ok := e.(map[string]any); ok {
				if _, ok := em["time"]; ok {
					em["time"] = "<time>"
				}
			}
		}
		obj["metadata"].(map[string]any)["managedFields"] = entries
	}
	return obj
}

func decodeAnswer(t *testing.T, code int, b []byte) any {
	t.Helper()
	v, err := decode(b)
	if err != nil {
		t.Fatalf("HTTP %d: %v: %s", code, err, b)
	}
	return v
}

func testPatches(t *testing.T, c *client, ch *checker) {
	files, err := filepath.Glob(filepath.Join(dataDir, "patches", "*.object.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no patch cases: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".object.yaml")
		name := "patches/" + base
		t.Run(base, func(t *testing.T) {
			want := readRecorded(t, filepath.Join(dataDir, "patches", base+".result.json"))
			want = normalizeAnswer(want, want)
			body, av, kind, _, ns := readYAMLMeta(t, f)
			create, _, _, err := c.collection(av, kind, ns)
			if err != nil {
				ch.fail(t, name, "(discovery)", "served", err.Error())
				return
			}
			code, b := c.do(http.MethodPost, create, "application/yaml", body, "application/json")
			if code != http.StatusCreated {
				ch.fail(t, name, "(create)", "HTTP 201", fmt.Sprintf("HTTP %d: %s", code, b))
				return
			}
			var created metav1.PartialObjectMetadata
			if err := json.Unmarshal(b, &created); err != nil {
				t.Fatal(err)
			}
			patch := mustRead(t, filepath.Join(dataDir, "patches", base+".patch.json"))
			code, b = c.do(http.MethodPatch, create+"/"+created.Name, "application/strategic-merge-patch+json", patch, "application/json")
			ch.check(t, name, want, normalizeAnswer(want, decodeAnswer(t, code, b)))
		})
	}
}

func testApply(t *testing.T, c *client, ch *checker) {
	files, err := filepath.Glob(filepath.Join(dataDir, "apply", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no apply cases: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		if strings.HasSuffix(f, ".conflict.yaml") {
			continue
		}
		base := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(base, func(t *testing.T) {
			body, av, kind, objName, ns := readYAMLMeta(t, f)
			coll, _, _, err := c.collection(av, kind, ns)
			if err != nil {
				ch.fail(t, "apply/"+base, "(discovery)", "served", err.Error())
				return
			}
			obj := coll + "/" + objName
			conflict := mustRead(t, filepath.Join(dataDir, "apply", base+".conflict.yaml"))
			update := mustRead(t, filepath.Join(dataDir, "apply", base+".update.json"))
			steps := []struct {
				step, contentType, query string
				body                     []byte
			}{
				{"1-applied", "application/apply-patch+yaml", "fieldManager=test-applier", body},
				{"2-conflict", "application/apply-patch+yaml", "fieldManager=test-other", conflict},
				{"3-forced", "application/apply-patch+yaml", "fieldManager=test-other&force=true", conflict},
				{"4-updated", "application/merge-patch+json", "fieldManager=test-updater", update},
			}
			for _, s := range steps {
				name := "apply/" + base + "." + s.step
				want := normalizeApplied(readRecorded(t, filepath.Join(dataDir, "apply", base+"."+s.step+".json")))
				code, b := c.do(http.MethodPatch, obj+"?"+s.query, s.contentType, s.body, "application/json")
				ch.check(t, name, want, normalizeApplied(decodeAnswer(t, code, b)))
			}
		})
	}
}

func testExplain(t *testing.T, kubeconfig string, ch *checker) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	fields := mustRead(t, filepath.Join(dataDir, "explain", "FIELDS"))
	cache := t.TempDir()
	for _, line := range strings.Split(string(fields), "\n") {
		words := strings.Fields(line)
		if len(words) < 2 || strings.HasPrefix(words[0], "#") {
			continue
		}
		file, args := words[0], words[1:]
		name := "explain/" + file
		t.Run(file, func(t *testing.T) {
			want := string(mustRead(t, filepath.Join(dataDir, "explain", file+".txt")))
			cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig, "--cache-dir", cache, "explain"}, args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				ch.fail(t, name, "(kubectl)", "exit 0", fmt.Sprintf("%v: %s", err, stderr.String()))
				return
			}
			ch.check(t, name, normalizeExplain(want), normalizeExplain(stdout.String()))
		})
	}
}

var (
	enumLine      = regexp.MustCompile(`^\s*(enum|ENUM): `)
	possibleEnums = regexp.MustCompile(`^\s+Possible enum values:$`)
)

// normalizeExplain splits kubectl explain's output into lines, so that mismatches name line
// numbers ("text[12]"), and sets the enum values apart ("enum[0]"): the "enum: A, B" line under a
// field and the "Possible enum values:" paragraph that ends its description, with the blank line
// before it, up to the blank line that ends the field. A known difference can then excuse the
// missing enums alone while every other line is still compared.
func normalizeExplain(s string) any {
	in := strings.Split(s, "\n")
	var text, enums []any
	for i := 0; i < len(in); i++ {
		l := in[i]
		switch {
		case enumLine.MatchString(l):
			enums = append(enums, l)
			continue
		case strings.TrimSpace(l) == "" && l != "" && i+1 < len(in) && possibleEnums.MatchString(in[i+1]):
			// openapi-gen puts a blank line before the paragraph even when the description
			// already ends with one: those blank lines belong to the paragraph too.
			for len(text) > 0 && text[len(text)-1] == l {
				enums = append(enums, text[len(text)-1])
				text = text[:len(text)-1]
			}
			for ; i < len(in) && in[i] != ""; i++ {
				enums = append(enums, in[i])
			}
			i--
			continue
		}
		text = append(text, l)
	}
	out := map[string]any{"text": text}
	if len(enums) > 0 {
		out["enum"] = enums
	}
	return out
}
