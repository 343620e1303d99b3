package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func request(t *testing.T, cn string, org []string, dns []string, ips []net.IP) (*x509.CertificateRequest, []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: org}, DNSNames: dns, IPAddresses: ips}, key)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := x509.ParseCertificateRequest(der)
	return req, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestSignSpec(t *testing.T) {
	client := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	serving := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	tests := []struct {
		name    string
		signer  string
		cn      string
		org     []string
		dns     []string
		usages  []certificatesv1.KeyUsage
		wantErr string
	}{
		{"node client", KubeletClientSigner, "system:node:a", []string{"system:nodes"}, nil, client, ""},
		{"node client with key encipherment", KubeletClientSigner, "system:node:a", []string{"system:nodes"}, nil, append(client, certificatesv1.UsageKeyEncipherment), ""},
		{"node client, wrong organization", KubeletClientSigner, "system:node:a", []string{"system:masters"}, nil, client, "subject organization must be"},
		{"node client, wrong name", KubeletClientSigner, "admin", []string{"system:nodes"}, nil, client, `must begin with "system:node:"`},
		{"node client with a DNS name", KubeletClientSigner, "system:node:a", []string{"system:nodes"}, []string{"a"}, client, "subject alternative names are not allowed"},
		{"node client with server usage", KubeletClientSigner, "system:node:a", []string{"system:nodes"}, nil, serving, `must include "client auth"`},
		{"node serving", KubeletServingSigner, "system:node:a", []string{"system:nodes"}, []string{"a"}, serving, ""},
		{"node serving without names", KubeletServingSigner, "system:node:a", []string{"system:nodes"}, nil, serving, "at least one DNS name or IP address"},
		{"client", ClientSigner, "alice", []string{"devs"}, nil, []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}, ""},
		{"unknown signer", "example.com/x", "alice", nil, nil, client, "not served here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := request(t, tt.cn, tt.org, tt.dns, nil)
			csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: tt.signer, Usages: tt.usages}}
			_, validity, err := SignSpec(csr, req)
			if tt.wantErr == "" {
				if err != nil || validity != DefaultValidity {
					t.Fatalf("err %v validity %s", err, validity)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestServingNamesBelong(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "192.0.2.10"}, {Type: corev1.NodeHostName, Address: "a.example"}}}}
	ok, _ := request(t, "system:node:a", nil, []string{"a", "a.example"}, []net.IP{net.ParseIP("192.0.2.10")})
	if err := ServingNamesBelong(ok, node); err != nil {
		t.Errorf("own names: %v", err)
	}
	bad, _ := request(t, "system:node:a", nil, []string{"a"}, []net.IP{net.ParseIP("192.0.2.99")})
	if err := ServingNamesBelong(bad, node); err == nil || !strings.Contains(err.Error(), "192.0.2.99 is not an address of node a") {
		t.Errorf("foreign IP: %v", err)
	}
}

func TestConditions(t *testing.T) {
	csr := &certificatesv1.CertificateSigningRequest{}
	if !Pending(csr) || ReadyToSign(csr) {
		t.Fatal("new request")
	}
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	if Pending(csr) || !ReadyToSign(csr) {
		t.Fatal("approved request")
	}
	csr.Status.Certificate = []byte("x")
	if ReadyToSign(csr) {
		t.Fatal("issued request")
	}
}
