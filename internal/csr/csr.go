// Package csr obtains certificates through the API's CertificateSigningRequests, as a kubelet
// does: it generates a key, posts a request for a signer, waits for the request to be approved
// and issued, and returns the key and certificate. Nodes use it with the join token for their
// first client certificate, and with their own certificate to renew it and to get a serving one.
package csr

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Request describes the certificate wanted.
type Request struct {
	SignerName   string
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	Usages       []certificatesv1.KeyUsage
	// Expiration, if set, asks for that lifetime (spec.expirationSeconds).
	Expiration time.Duration
}

// NodeClient is the request of node's client certificate.
func NodeClient(node string) Request {
	return Request{SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName, CommonName: "system:node:" + node,
		Organization: []string{"system:nodes"},
		Usages:       []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}}
}

// NodeServing is the request of node's serving certificate for its names and addresses.
func NodeServing(node string, dnsNames []string, ips []net.IP) Request {
	return Request{SignerName: certificatesv1.KubeletServingSignerName, CommonName: "system:node:" + node,
		Organization: []string{"system:nodes"}, DNSNames: dnsNames, IPs: ips,
		Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}}
}

// Obtain posts r under name (GenerateName when empty) and waits until it is issued, denied or
// failed, or ctx ends. It returns the PEM certificate and key.
func Obtain(ctx context.Context, client kubernetes.Interface, name string, r Request) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: r.CommonName, Organization: r.Organization}, DNSNames: r.DNSNames, IPAddresses: r.IPs,
	}, key)
	if err != nil {
		return nil, nil, err
	}
	obj := &certificatesv1.CertificateSigningRequest{
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: r.SignerName,
			Usages:     r.Usages,
		},
	}
	if name == "" {
		obj.GenerateName = "csr-"
	} else {
		obj.Name = name
	}
	if r.Expiration > 0 {
		s := int32(r.Expiration / time.Second)
		obj.Spec.ExpirationSeconds = &s
	}
	created, err := client.CertificatesV1().CertificateSigningRequests().Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate signing request: %w", err)
	}
	cert, err := wait(ctx, client, created)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// wait watches the request until its certificate appears or it is denied or failed.
func wait(ctx context.Context, client kubernetes.Interface, csr *certificatesv1.CertificateSigningRequest) ([]byte, error) {
	for {
		if cert, done, err := outcome(csr); done {
			return cert, err
		}
		w, err := client.CertificatesV1().CertificateSigningRequests().Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", csr.Name).String(), ResourceVersion: csr.ResourceVersion})
		if err != nil {
			return nil, fmt.Errorf("watch certificate signing request %s: %w", csr.Name, err)
		}
		for ev := range w.ResultChan() {
			switch ev.Type {
			case watch.Deleted:
				w.Stop()
				return nil, fmt.Errorf("certificate signing request %s was deleted", csr.Name)
			case watch.Error:
				// Start again from a fresh read.
				w.Stop()
			case watch.Added, watch.Modified:
				if c, ok := ev.Object.(*certificatesv1.CertificateSigningRequest); ok {
					csr = c
					if cert, done, err := outcome(csr); done {
						w.Stop()
						return cert, err
					}
				}
			}
		}
		w.Stop()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("certificate signing request %s not issued: %w", csr.Name, err)
		}
		cur, err := client.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("certificate signing request %s was deleted", csr.Name)
		}
		if err != nil {
			return nil, err
		}
		csr = cur
	}
}

func outcome(csr *certificatesv1.CertificateSigningRequest) (cert []byte, done bool, err error) {
	for _, c := range csr.Status.Conditions {
		if c.Status != "" && c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case certificatesv1.CertificateDenied:
			return nil, true, fmt.Errorf("certificate signing request %s denied: %s %s", csr.Name, c.Reason, c.Message)
		case certificatesv1.CertificateFailed:
			return nil, true, fmt.Errorf("certificate signing request %s failed: %s %s", csr.Name, c.Reason, c.Message)
		}
	}
	if len(csr.Status.Certificate) > 0 {
		return csr.Status.Certificate, true, nil
	}
	return nil, false, nil
}
