// Package audit writes the API server's audit log: one JSON line per request in the
// audit.k8s.io/v1 Event shape, at the level an audit Policy (Kubernetes' format) chooses —
// Metadata for every request by default — to a file rotated by age, count and size.
package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// Levels of detail, as upstream's.
const (
	LevelNone            = "None"
	LevelMetadata        = "Metadata"
	LevelRequest         = "Request"
	LevelRequestResponse = "RequestResponse"
)

// Event is one audit record, in the audit.k8s.io/v1 Event shape.
type Event struct {
	Kind                     string            `json:"kind"`
	APIVersion               string            `json:"apiVersion"`
	Level                    string            `json:"level"`
	AuditID                  types.UID         `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     UserInfo          `json:"user"`
	ImpersonatedUser         *UserInfo         `json:"impersonatedUser,omitempty"`
	SourceIPs                []string          `json:"sourceIPs,omitempty"`
	UserAgent                string            `json:"userAgent,omitempty"`
	ObjectRef                *ObjectReference  `json:"objectRef,omitempty"`
	ResponseStatus           *metav1.Status    `json:"responseStatus,omitempty"`
	RequestReceivedTimestamp metav1.MicroTime  `json:"requestReceivedTimestamp"`
	StageTimestamp           metav1.MicroTime  `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

// UserInfo is the caller of an audited request.
type UserInfo struct {
	Username string   `json:"username,omitempty"`
	UID      string   `json:"uid,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

// ObjectReference names the object a request addressed.
type ObjectReference struct {
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	APIVersion  string `json:"apiVersion,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

// Policy is an audit policy in Kubernetes' audit.k8s.io/v1 format.
type Policy struct {
	Rules      []Rule   `json:"rules"`
	OmitStages []string `json:"omitStages,omitempty"`
}

// Rule is one rule of a Policy: the first matching rule sets the level.
type Rule struct {
	Level           string           `json:"level"`
	Users           []string         `json:"users,omitempty"`
	UserGroups      []string         `json:"userGroups,omitempty"`
	Verbs           []string         `json:"verbs,omitempty"`
	Resources       []GroupResources `json:"resources,omitempty"`
	Namespaces      []string         `json:"namespaces,omitempty"`
	NonResourceURLs []string         `json:"nonResourceURLs,omitempty"`
	OmitStages      []string         `json:"omitStages,omitempty"`
}

// GroupResources selects resources of one API group.
type GroupResources struct {
	Group         string   `json:"group"`
	Resources     []string `json:"resources,omitempty"`
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// DefaultPolicy records every request at Metadata level.
var DefaultPolicy = Policy{Rules: []Rule{{Level: LevelMetadata}}}

// LoadPolicy reads a policy file (YAML or JSON, kind Policy).
func LoadPolicy(path string) (Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, err
	}
	var p struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Policy     `json:",inline"`
	}
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return Policy{}, fmt.Errorf("audit policy %s: %w", path, err)
	}
	if p.Kind != "Policy" || !strings.HasPrefix(p.APIVersion, "audit.k8s.io/") {
		return Policy{}, fmt.Errorf("audit policy %s: kind %q apiVersion %q, want Policy audit.k8s.io/v1", path, p.Kind, p.APIVersion)
	}
	for i, r := range p.Rules {
		switch r.Level {
		case LevelNone, LevelMetadata, LevelRequest, LevelRequestResponse:
		default:
			return Policy{}, fmt.Errorf("audit policy %s: rules[%d].level: unknown level %q", path, i, r.Level)
		}
	}
	return p.Policy, nil
}

// Attributes describe a request for policy matching.
type Attributes struct {
	User            UserInfo
	Verb            string
	Namespace       string
	Group, Resource string
	Subresource     string
	Name            string
	Path            string
	IsResource      bool
}

func match(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v || x == "*" {
			return true
		}
	}
	return false
}

// LevelFor returns the level and omitted stages of the first rule matching a, or None.
func (p Policy) LevelFor(a Attributes) (string, []string) {
	for _, r := range p.Rules {
		if !match(r.Users, a.User.Username) || !match(r.Verbs, a.Verb) {
			continue
		}
		if len(r.UserGroups) > 0 {
			ok := false
			for _, g := range a.User.Groups {
				ok = ok || match(r.UserGroups, g)
			}
			if !ok {
				continue
			}
		}
		if a.IsResource {
			if len(r.NonResourceURLs) > 0 || !match(r.Namespaces, a.Namespace) || !matchResources(r.Resources, a) {
				continue
			}
		} else {
			if len(r.Resources) > 0 || len(r.Namespaces) > 0 || !matchURL(r.NonResourceURLs, a.Path) {
				continue
			}
		}
		return r.Level, append(append([]string(nil), p.OmitStages...), r.OmitStages...)
	}
	return LevelNone, nil
}

func matchResources(rs []GroupResources, a Attributes) bool {
	if len(rs) == 0 {
		return true
	}
	full := a.Resource
	if a.Subresource != "" {
		full += "/" + a.Subresource
	}
	for _, gr := range rs {
		if gr.Group != a.Group {
			continue
		}
		if len(gr.Resources) > 0 && !match(gr.Resources, full) && !match(gr.Resources, a.Resource+"/*") && !match(gr.Resources, "*/"+a.Subresource) {
			continue
		}
		if len(gr.ResourceNames) > 0 && !match(gr.ResourceNames, a.Name) {
			continue
		}
		return true
	}
	return false
}

func matchURL(patterns []string, path string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == path || p == "*" || strings.HasSuffix(p, "*") && strings.HasPrefix(path, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

// LogOptions configure the audit log file.
type LogOptions struct {
	Path       string
	MaxAgeDays int
	MaxBackups int
	MaxSizeMB  int
}

// Log writes audit events as JSON lines.
type Log struct {
	Policy Policy
	mu     sync.Mutex
	w      io.WriteCloser
}

// Open opens the log file (mode 0600), rotated as o says.
func Open(o LogOptions, p Policy) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(o.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", o.Path, err)
	}
	f.Close()
	return &Log{Policy: p, w: &lumberjack.Logger{Filename: o.Path, MaxAge: o.MaxAgeDays, MaxBackups: o.MaxBackups, MaxSize: o.MaxSizeMB}}, nil
}

// Write records one event.
func (l *Log) Write(e *Event) {
	e.Kind, e.APIVersion = "Event", "audit.k8s.io/v1"
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	b = append(b, '\n')
	l.mu.Lock()
	_, _ = l.w.Write(b)
	l.mu.Unlock()
}

// Close closes the file.
func (l *Log) Close() error { return l.w.Close() }

// Now returns a timestamp for an event.
func Now() metav1.MicroTime { return metav1.NewMicroTime(time.Now()) }
