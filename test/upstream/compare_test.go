package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// A knownDifference excuses mismatches that are understood and not fixed yet.
type knownDifference struct {
	// cases is a glob (a trailing * or a * inside) over case names: "defaulted/<manifest>",
	// "invalid/<manifest>" or "tables/<resource>".
	cases string
	// path is a pattern over flattened JSON paths (spec.containers[0].image): it matches the path
	// and everything under it, and * stands for one key or index. Empty matches the whole case.
	path   string
	reason string
}

// A mismatch is one leaf that differs; an absent leaf shows as "<absent>".
type mismatch struct {
	path, upstream, skiff string
}

const absent = "<absent>"

// globMatch reports whether name matches a glob where * stands for any run of characters.
func globMatch(glob, name string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(glob), `\*`, `.*`) + "$"
	return regexp.MustCompile(re).MatchString(name)
}

// pathMatch reports whether a flattened path is pattern or lies under it.
func pathMatch(pattern, p string) bool {
	if pattern == "" {
		return true
	}
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, `[^.\[\]]+`) + `($|[.\[])`
	return regexp.MustCompile(re).MatchString(p)
}

// explain returns the index of the known difference that excuses m in the named case, or -1.
func explain(known []knownDifference, name string, m mismatch) int {
	for i, k := range known {
		if globMatch(k.cases, name) && pathMatch(k.path, m.path) {
			return i
		}
	}
	return -1
}

var simpleKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// flatten turns a decoded JSON value into leaves keyed by path, each leaf JSON-encoded so that
// "1" and 1 differ. Empty objects and arrays are leaves too, so that their presence counts.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[prefix] = "{}"
			return
		}
		for k, e := range x {
			p := "[" + strconvQuote(k) + "]"
			if simpleKey.MatchString(k) {
				p = k
				if prefix != "" {
					p = "." + k
				}
			}
			flatten(prefix+p, e, out)
		}
	case []any:
		if len(x) == 0 {
			out[prefix] = "[]"
			return
		}
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		out[prefix] = encode(x)
	}
}

func strconvQuote(s string) string { return encode(s) }

// encode writes a JSON leaf without escaping <, > and &, which placeholders use.
func encode(v any) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

// compare returns the leaves that differ between two decoded JSON values, sorted by path.
func compare(upstream, skiff any) []mismatch {
	u, s := map[string]string{}, map[string]string{}
	flatten("", upstream, u)
	flatten("", skiff, s)
	var out []mismatch
	for p, uv := range u {
		sv, ok := s[p]
		if !ok {
			sv = absent
		}
		if uv != sv {
			out = append(out, mismatch{p, uv, sv})
		}
	}
	for p, sv := range s {
		if _, ok := u[p]; !ok {
			out = append(out, mismatch{p, absent, sv})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// decode parses JSON keeping numbers as written.
func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// timeKeys name fields that hold the time something happened on the server.
var timeKeys = map[string]bool{
	"creationTimestamp":       true,
	"lastTransitionTime":      true,
	"lastPhaseTransitionTime": true,
}

// randomSuffix matches names that carry a random suffix, such as the ServiceAccount admission
// plugin's projected token volume.
var randomSuffix = regexp.MustCompile(`\bkube-api-access-[a-z0-9]{5}\b`)

// certFingerprint matches the credential id that both servers derive from the client
// certificate, which differs between the two.
var certFingerprint = regexp.MustCompile(`\bX509SHA256=[0-9a-f]{64}\b`)

// uuid matches uids inside other values, such as a Job's selector in its Table row.
var uuid = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)

// normalizeObject replaces what legitimately differs between two servers in a stored object:
// its uid (wherever it appears, as in a Job's generated selector), resourceVersion, times, and
// random suffixes; it drops managedFields.
func normalizeObject(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	uid := ""
	if md, ok := obj["metadata"].(map[string]any); ok {
		uid, _ = md["uid"].(string)
		delete(md, "managedFields")
		if _, ok := md["resourceVersion"]; ok {
			md["resourceVersion"] = "<resourceVersion>"
		}
	}
	return scrub(obj, uid)
}

func scrub(v any, uid string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && timeKeys[k] && s != "" {
				x[k] = "<time>"
				continue
			}
			x[k] = scrub(e, uid)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = scrub(e, uid)
		}
		return x
	case string:
		if uid != "" {
			x = strings.ReplaceAll(x, uid, "<uid>")
		}
		x = certFingerprint.ReplaceAllString(x, "X509SHA256=<fingerprint>")
		return randomSuffix.ReplaceAllString(x, "kube-api-access-<random>")
	default:
		return v
	}
}

// normalizeStatus drops a Status's list metadata; everything else (code, reason, message,
// details with its causes) is compared.
func normalizeStatus(v any) any {
	if m, ok := v.(map[string]any); ok {
		delete(m, "metadata")
	}
	return v
}

// timeColumns are the Table columns whose cells depend on the clock.
var timeColumns = map[string]bool{"Age": true, "Last Seen": true, "First Seen": true, "Last Schedule": true, "Duration": true,
	"TimeAdded": true}

// normalizeTable keeps a Table's columns and, for each row, its cells (time-valued ones masked)
// and the name and namespace of the row's object.
func normalizeTable(v any) any {
	t, ok := v.(map[string]any)
	if !ok {
		return v
	}
	delete(t, "metadata")
	var masked []int
	cols, _ := t["columnDefinitions"].([]any)
	for i, c := range cols {
		if cm, ok := c.(map[string]any); ok {
			if name, _ := cm["name"].(string); timeColumns[name] || cm["type"] == "date" {
				masked = append(masked, i)
			}
		}
	}
	rows, _ := t["rows"].([]any)
	for _, r := range rows {
		row, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if cells, ok := row["cells"].([]any); ok {
			for i, c := range cells {
				if s, ok := c.(string); ok {
					cells[i] = uuid.ReplaceAllString(s, "<uid>")
				}
			}
			for _, i := range masked {
				if i < len(cells) {
					cells[i] = "<time>"
				}
			}
		}
		if o, ok := row["object"].(map[string]any); ok {
			md, _ := o["metadata"].(map[string]any)
			row["object"] = map[string]any{"name": md["name"], "namespace": md["namespace"]}
		}
	}
	return t
}
