package integration

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-project/skiff/internal/csr"
	"github.com/skiff-project/skiff/internal/testserver"
)

// TestNodeCredentials follows a node joining: with the join token it requests a client
// certificate, which the approver and signer issue; with it, the node is system:node:<name>,
// limited to its own objects by the node authorizer. Other signers wait for a human.
func TestNodeCredentials(t *testing.T) {
	s := testserver.Start(t, testserver.Options{DisableScheduler: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	joiner := kubernetes.NewForConfigOrDie(&rest.Config{Host: s.URL, BearerToken: s.Token.String(), TLSClientConfig: rest.TLSClientConfig{CAData: s.CAPEM}})

	// The join token reads no Secrets.
	if _, err := joiner.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("the join token lists secrets")
	}
	cert, key, err := csr.Obtain(ctx, joiner, "", csr.NodeClient("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	node := kubernetes.NewForConfigOrDie(&rest.Config{Host: s.URL, TLSClientConfig: rest.TLSClientConfig{CAData: s.CAPEM, CertData: cert, KeyData: key}})
	who, err := node.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := who.Status.UserInfo; u.Username != "system:node:node-a" || u.Groups[0] != "system:nodes" {
		t.Fatalf("node user %+v", u)
	}
	if _, err := node.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("node registers itself: %v", err)
	}
	if _, err := s.Client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unused"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = node.CoreV1().Secrets("default").Get(ctx, "unused", metav1.GetOptions{})
	wantForbidden(t, err, `no relationship found between node 'node-a' and this object`)

	// The node renews its own certificate.
	if _, _, err := csr.Obtain(ctx, node, "", csr.NodeClient("node-a")); err != nil {
		t.Fatalf("renewal: %v", err)
	}
	// A request for another signer from the join token is never approved by itself...
	client := csr.Request{SignerName: certificatesv1.KubeAPIServerClientSignerName, CommonName: "mallory", Organization: []string{"system:masters"},
		Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}
	short, stop := context.WithTimeout(ctx, 2*time.Second)
	_, _, err = csr.Obtain(short, joiner, "mallory", client)
	stop()
	if err == nil {
		t.Fatal("a client certificate for system:masters was issued to the join token")
	}
	// ...and a human approving it gets it issued.
	req, err := s.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, "mallory", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Status.Certificate) != 0 || len(req.Status.Conditions) != 0 {
		t.Fatalf("unapproved request has status %+v", req.Status)
	}
	req.Status.Conditions = append(req.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test"})
	if _, err := s.Client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, "mallory", req, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		cur, err := s.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, "mallory", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(cur.Status.Certificate) == 0 {
			return errString("not issued yet")
		}
		return nil
	})
	// A kubelet client request with the wrong organization fails validation once approved.
	bad := csr.NodeClient("node-b")
	bad.Organization = []string{"system:masters"}
	short, stop = context.WithTimeout(ctx, 2*time.Second)
	_, _, err = csr.Obtain(short, joiner, "bad-node", bad)
	stop()
	if err == nil {
		t.Fatal("a node certificate with organization system:masters was issued")
	}
	req, _ = s.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, "bad-node", metav1.GetOptions{})
	req.Status.Conditions = append(req.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test"})
	if _, err := s.Client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, "bad-node", req, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		cur, err := s.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, "bad-node", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range cur.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed && c.Reason == "SignerValidationFailure" {
				return nil
			}
		}
		return errString("no Failed condition yet")
	})
}
