package printers

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

func init() {
	register(Printer{Columns: certificateSigningRequestColumns(), Cells: cellsOf(certificateSigningRequestCells)},
		schema.GroupKind{Group: certificatesv1.GroupName, Kind: "CertificateSigningRequest"})
}

func certificateSigningRequestColumns() []metav1.TableColumnDefinition {
	spec := certificatesv1beta1.CertificateSigningRequestSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		ageColumn(),
		{Name: "SignerName", Type: "string", Description: spec["signerName"]},
		{Name: "Requestor", Type: "string", Description: spec["request"]},
		{Name: "RequestedDuration", Type: "string", Description: spec["expirationSeconds"]},
		{Name: "Condition", Type: "string", Description: certificatesv1beta1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]},
	}
}

func certificateSigningRequestCells(csr *certificatesv1.CertificateSigningRequest, now time.Time) ([]interface{}, error) {
	requestedDuration := "<none>"
	if s := csr.Spec.ExpirationSeconds; s != nil {
		requestedDuration = duration.HumanDuration(time.Duration(*s) * time.Second)
	}
	return []interface{}{
		csr.Name, age(csr.CreationTimestamp, now), orNone(csr.Spec.SignerName), csr.Spec.Username,
		requestedDuration, csrCondition(csr),
	}, nil
}

// csrCondition returns the CONDITION cell: Denied, Approved or Pending (in
// that precedence), then ",Failed" if it failed and ",Issued" once it
// carries a certificate.
func csrCondition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	status := "Pending"
	if denied {
		status = "Denied"
	} else if approved {
		status = "Approved"
	}
	if failed {
		status += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		status += ",Issued"
	}
	return status
}
