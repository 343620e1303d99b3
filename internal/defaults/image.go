package defaults

import (
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// This file replaces upstream's pkg/util/parsers.ParseImageName, which wraps the docker
// reference grammar (github.com/distribution/reference). Only the tag matters for
// defaulting: upstream ignores parse errors, so an unparsable image yields no tag and
// therefore IfNotPresent.

// imageReference is the anchored docker reference grammar: name, optional tag, optional digest.
var imageReference = func() *regexp.Regexp {
	const (
		alphanumeric  = `[a-z0-9]+`
		separator     = `(?:[._]|__|[-]+)`
		pathComponent = alphanumeric + `(?:` + separator + alphanumeric + `)*`
		domainLabel   = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		host          = `(?:` + domainLabel + `(?:\.` + domainLabel + `)*|\[[a-fA-F0-9:]+\])`
		domainAndPort = host + `(?::[0-9]+)?`
		name          = `(?:` + domainAndPort + `/)?` + pathComponent + `(?:/` + pathComponent + `)*`
		tag           = `[\w][\w.-]{0,127}`
		digest        = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^(` + name + `)(?::(` + tag + `))?(?:@(` + digest + `))?$`)
}()

// identifier matches a bare 64-hex image ID, which the docker grammar rejects as a name.
var identifier = regexp.MustCompile(`^[a-f0-9]{64}$`)

// digestLengths are the hex lengths of the digest algorithms the reference library knows.
var digestLengths = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

// imageTag returns the tag upstream's ParseImageName would report: the explicit tag,
// "latest" when neither tag nor digest is given, and "" when the reference does not parse.
func imageTag(image string) string {
	if identifier.MatchString(image) {
		return ""
	}
	m := imageReference.FindStringSubmatch(image)
	if m == nil || len(m[1]) > 255 {
		return ""
	}
	// A first path component with uppercase letters or a dot, colon or "localhost" is a
	// registry host, which the grammar above already allows; anything else must be lowercase.
	tag, digest := m[2], m[3]
	if digest != "" {
		algorithm, hex, _ := strings.Cut(digest, ":")
		if n, ok := digestLengths[algorithm]; !ok || len(hex) != n {
			return ""
		}
	}
	if tag == "" && digest == "" {
		return "latest"
	}
	return tag
}

// pullPolicyForImage is upstream's imagePullPolicy default: Always for the "latest" tag
// (explicit or implied), IfNotPresent otherwise.
func pullPolicyForImage(image string) corev1.PullPolicy {
	if imageTag(image) == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}
