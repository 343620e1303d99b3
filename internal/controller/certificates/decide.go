// Package certificates holds the CertificateSigningRequest controllers: an approver that signs
// off node certificates, and a signer that issues approved requests with the cluster CA.
//
// The approver (upstream's csrapproving controller, plus a serving-certificate rule):
//   - approves kubernetes.io/kube-apiserver-client-kubelet requests that are node client
//     certificates (CN system:node:<name>, O system:nodes, client usages, no names) when a
//     SubjectAccessReview says the requester may create certificatesigningrequests/nodeclient
//     (a new node with the join token) or, for its own name, .../selfnodeclient (renewal);
//   - approves kubernetes.io/kubelet-serving requests made by the node they name, whose IP
//     addresses and DNS names are all among that Node's status.addresses (or its name), so that
//     a node cannot obtain a serving certificate for an address it does not have.
//
// The signer issues approved requests for kubernetes.io/kube-apiserver-client-kubelet,
// kubernetes.io/kubelet-serving and kubernetes.io/kube-apiserver-client, after checking that
// each request fits its signer (a request that does not gets the Failed condition with reason
// SignerValidationFailure, as upstream). Certificates last spec.expirationSeconds (at least 10
// minutes) or one year, and never past the CA.
package certificates

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/pki"
)

// Signer names.
const (
	KubeletClientSigner  = certificatesv1.KubeAPIServerClientKubeletSignerName
	KubeletServingSigner = certificatesv1.KubeletServingSignerName
	ClientSigner         = certificatesv1.KubeAPIServerClientSignerName
)

const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
	// DefaultValidity is how long certificates last without spec.expirationSeconds (upstream's
	// --cluster-signing-duration).
	DefaultValidity = 365 * 24 * time.Hour
	minValidity     = 10 * time.Minute
)

// ParseRequest decodes the PEM certificate request of a CSR.
func ParseRequest(csr *certificatesv1.CertificateSigningRequest) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}

// Approved and Denied report the CSR's approval conditions; Failed its failure.
func condition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t && (c.Status == "" || c.Status == corev1.ConditionTrue) {
			return true
		}
	}
	return false
}

// Pending reports whether csr is neither approved nor denied.
func Pending(csr *certificatesv1.CertificateSigningRequest) bool {
	return !condition(csr, certificatesv1.CertificateApproved) && !condition(csr, certificatesv1.CertificateDenied)
}

// ReadyToSign reports whether csr is approved, not failed, and not yet issued.
func ReadyToSign(csr *certificatesv1.CertificateSigningRequest) bool {
	return condition(csr, certificatesv1.CertificateApproved) && !condition(csr, certificatesv1.CertificateDenied) &&
		!condition(csr, certificatesv1.CertificateFailed) && len(csr.Status.Certificate) == 0
}

func usageSet(us []certificatesv1.KeyUsage) map[certificatesv1.KeyUsage]bool {
	out := map[certificatesv1.KeyUsage]bool{}
	for _, u := range us {
		out[u] = true
	}
	return out
}

// onlyUsages checks that us holds required and nothing outside required+optional.
func onlyUsages(us []certificatesv1.KeyUsage, required, optional []certificatesv1.KeyUsage) error {
	set := usageSet(us)
	for _, r := range required {
		if !set[r] {
			return fmt.Errorf("usages must include %q", r)
		}
	}
	for u := range set {
		if !slices.Contains(required, u) && !slices.Contains(optional, u) {
			return fmt.Errorf("usage %q is not allowed", u)
		}
	}
	return nil
}

// ValidateKubeletClient checks a kube-apiserver-client-kubelet request: CN system:node:<name>,
// O exactly system:nodes, no subject alternative names, client usages.
func ValidateKubeletClient(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{nodesGroup}) {
		return fmt.Errorf("subject organization must be [%q]", nodesGroup)
	}
	if !strings.HasPrefix(req.Subject.CommonName, nodeUserPrefix) || len(req.Subject.CommonName) == len(nodeUserPrefix) {
		return fmt.Errorf("subject common name must begin with %q", nodeUserPrefix)
	}
	if len(req.DNSNames) > 0 || len(req.EmailAddresses) > 0 || len(req.IPAddresses) > 0 || len(req.URIs) > 0 {
		return errors.New("subject alternative names are not allowed")
	}
	return onlyUsages(usages, []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		[]certificatesv1.KeyUsage{certificatesv1.UsageKeyEncipherment})
}

// ValidateKubeletServing checks a kubelet-serving request: CN system:node:<name>, O exactly
// system:nodes, at least one DNS name or IP address and no other names, server usages.
func ValidateKubeletServing(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{nodesGroup}) {
		return fmt.Errorf("subject organization must be [%q]", nodesGroup)
	}
	if !strings.HasPrefix(req.Subject.CommonName, nodeUserPrefix) || len(req.Subject.CommonName) == len(nodeUserPrefix) {
		return fmt.Errorf("subject common name must begin with %q", nodeUserPrefix)
	}
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 {
		return errors.New("at least one DNS name or IP address is required")
	}
	if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		return errors.New("email and URI subject alternative names are not allowed")
	}
	return onlyUsages(usages, []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		[]certificatesv1.KeyUsage{certificatesv1.UsageKeyEncipherment})
}

// ValidateClient checks a kube-apiserver-client request: a common name, client usages.
func ValidateClient(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if req.Subject.CommonName == "" {
		return errors.New("subject common name is required")
	}
	return onlyUsages(usages, []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth},
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment})
}

// SignSpec checks csr against its signer and returns what to issue and for how long.
func SignSpec(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) (pki.LeafSpec, time.Duration, error) {
	spec := pki.LeafSpec{CommonName: req.Subject.CommonName, Organization: req.Subject.Organization}
	var err error
	switch csr.Spec.SignerName {
	case KubeletClientSigner:
		err = ValidateKubeletClient(req, csr.Spec.Usages)
		spec.Client = true
	case KubeletServingSigner:
		err = ValidateKubeletServing(req, csr.Spec.Usages)
		spec.Server, spec.DNSNames, spec.IPs = true, req.DNSNames, req.IPAddresses
	case ClientSigner:
		err = ValidateClient(req, csr.Spec.Usages)
		spec.Client = true
	default:
		return spec, 0, fmt.Errorf("signer %q is not served here", csr.Spec.SignerName)
	}
	if err != nil {
		return spec, 0, err
	}
	validity := DefaultValidity
	if s := csr.Spec.ExpirationSeconds; s != nil {
		validity = max(time.Duration(*s)*time.Second, minValidity)
	}
	return spec, validity, nil
}

// Serves reports whether the signer controller issues certificates for signer.
func Serves(signer string) bool {
	return signer == KubeletClientSigner || signer == KubeletServingSigner || signer == ClientSigner
}

// ServingNamesBelong checks that every name of a serving request is the node's: its name, or one
// of its status addresses.
func ServingNamesBelong(req *x509.CertificateRequest, node *corev1.Node) error {
	known := map[string]bool{node.Name: true}
	for _, a := range node.Status.Addresses {
		known[a.Address] = true
	}
	for _, d := range req.DNSNames {
		if !known[d] {
			return fmt.Errorf("DNS name %q is not an address of node %s", d, node.Name)
		}
	}
	for _, ip := range req.IPAddresses {
		if !known[ip.String()] && !knownIP(known, ip) {
			return fmt.Errorf("IP address %s is not an address of node %s", ip, node.Name)
		}
	}
	return nil
}

func knownIP(known map[string]bool, ip net.IP) bool {
	for k := range known {
		if p := net.ParseIP(k); p != nil && p.Equal(ip) {
			return true
		}
	}
	return false
}
