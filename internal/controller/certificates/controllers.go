package certificates

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
	"github.com/skiff-project/skiff/internal/pki"
)

// Controller names, as upstream's.
const (
	ApproverName = "csrapproving"
	SignerName   = "csrsigning"
)

// Approver is the approving controller.
type Approver struct {
	client kubernetes.Interface
	csrs   certlisters.CertificateSigningRequestLister
	nodes  corelisters.NodeLister
	queue  keyqueue.Queue
	synced []cache.InformerSynced
	log    *slog.Logger
}

// NewApprover returns the approver, registering its informers on f.
func NewApprover(client kubernetes.Interface, f informers.SharedInformerFactory, log *slog.Logger) (*Approver, error) {
	inf := f.Certificates().V1().CertificateSigningRequests()
	nodes := f.Core().V1().Nodes()
	a := &Approver{client: client, csrs: inf.Lister(), nodes: nodes.Lister(), queue: keyqueue.New(ApproverName), log: log,
		synced: []cache.InformerSynced{inf.Informer().HasSynced, nodes.Informer().HasSynced}}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(a.queue, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(a.queue, obj) },
	})
	return a, err
}

// Run runs workers until ctx ends.
func (a *Approver) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, ApproverName, a.queue, workers, a.log, a.sync, a.synced...)
}

func (a *Approver) sync(ctx context.Context, key string) error {
	csr, err := a.csrs.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !Pending(csr) {
		return nil
	}
	req, err := ParseRequest(csr)
	if err != nil {
		return nil // the signer reports malformed requests once approved; nothing to approve
	}
	var message string
	switch csr.Spec.SignerName {
	case KubeletClientSigner:
		if ValidateKubeletClient(req, csr.Spec.Usages) != nil {
			return nil
		}
		sub, msg := "nodeclient", "Auto approving kubelet client certificate after SubjectAccessReview."
		if csr.Spec.Username == req.Subject.CommonName {
			sub, msg = "selfnodeclient", "Auto approving self kubelet client certificate after SubjectAccessReview."
		}
		ok, err := a.authorized(ctx, csr, sub)
		if err != nil || !ok {
			return err
		}
		message = msg
	case KubeletServingSigner:
		if ValidateKubeletServing(req, csr.Spec.Usages) != nil || csr.Spec.Username != req.Subject.CommonName {
			return nil
		}
		node, err := a.nodes.Get(strings.TrimPrefix(req.Subject.CommonName, nodeUserPrefix))
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("serving certificate %s: node not registered yet", csr.Name)
		}
		if err != nil {
			return err
		}
		if err := ServingNamesBelong(req, node); err != nil {
			a.log.Info("not approving serving certificate", "csr", csr.Name, "reason", err)
			return nil
		}
		message = "Auto approving kubelet serving certificate: the node requested it for its own addresses."
	default:
		return nil
	}
	next := csr.DeepCopy()
	next.Status.Conditions = append(next.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved", Message: message,
		LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(),
	})
	_, err = a.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, next.Name, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// authorized asks whether the requester may create certificatesigningrequests/subresource.
func (a *Approver) authorized(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, subresource string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: csr.Spec.Username, UID: csr.Spec.UID, Groups: csr.Spec.Groups, Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: subresource, Verb: "create"},
	}}
	out, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return out.Status.Allowed, nil
}

// Signer is the signing controller.
type Signer struct {
	client kubernetes.Interface
	ca     *pki.CA
	csrs   certlisters.CertificateSigningRequestLister
	queue  keyqueue.Queue
	synced []cache.InformerSynced
	log    *slog.Logger
}

// NewSigner returns the signer issuing with ca, registering its informers on f.
func NewSigner(client kubernetes.Interface, ca *pki.CA, f informers.SharedInformerFactory, log *slog.Logger) (*Signer, error) {
	inf := f.Certificates().V1().CertificateSigningRequests()
	s := &Signer{client: client, ca: ca, csrs: inf.Lister(), queue: keyqueue.New(SignerName), log: log,
		synced: []cache.InformerSynced{inf.Informer().HasSynced}}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(s.queue, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(s.queue, obj) },
	})
	return s, err
}

// Run runs workers until ctx ends.
func (s *Signer) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, SignerName, s.queue, workers, s.log, s.sync, s.synced...)
}

func (s *Signer) sync(ctx context.Context, key string) error {
	csr, err := s.csrs.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !ReadyToSign(csr) || !Serves(csr.Spec.SignerName) {
		return nil
	}
	next := csr.DeepCopy()
	req, err := ParseRequest(csr)
	var spec pki.LeafSpec
	var cert []byte
	if err == nil {
		var validity = DefaultValidity
		if spec, validity, err = SignSpec(csr, req); err == nil {
			cert, err = s.ca.SignRequest(req, spec, validity)
		}
	}
	if err != nil {
		next.Status.Conditions = append(next.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue, Reason: "SignerValidationFailure",
			Message: err.Error(), LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(),
		})
	} else {
		next.Status.Certificate = cert
	}
	_, err = s.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
