package validation

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var allValidUsages = sets.New("signing", "digital signature", "content commitment", "key encipherment", "key agreement",
	"data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth", "client auth",
	"code signing", "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping",
	"ocsp signing", "microsoft sgc", "netscape sgc")

// parseCSR decodes a PEM certificate request as upstream does.
func parseCSR(pemBytes []byte) error {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	_, err := x509.ParseCertificateRequest(block.Bytes)
	return err
}

// validateCSR validates a certificate signing request's spec.
func validateCSR(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	var allErrs field.ErrorList
	specPath := field.NewPath("spec")
	if err := parseCSR(csr.Spec.Request); err != nil {
		allErrs = append(allErrs, field.Invalid(specPath.Child("request"), csr.Spec.Request, fmt.Sprintf("%v", err)))
	}
	if len(csr.Spec.Usages) == 0 {
		allErrs = append(allErrs, field.Required(specPath.Child("usages"), ""))
	}
	for i, u := range csr.Spec.Usages {
		if !allValidUsages.Has(string(u)) {
			allErrs = append(allErrs, field.NotSupported(specPath.Child("usages").Index(i), u, sets.List(allValidUsages)))
		}
	}
	seen := map[certificatesv1.KeyUsage]bool{}
	for i, u := range csr.Spec.Usages {
		if seen[u] {
			allErrs = append(allErrs, field.Duplicate(specPath.Child("usages").Index(i), u))
		}
		seen[u] = true
	}
	sp := specPath.Child("signerName")
	if csr.Spec.SignerName == "kubernetes.io/legacy-unknown" {
		allErrs = append(allErrs, field.Invalid(sp, csr.Spec.SignerName, "the legacy signerName is not allowed via this API version"))
	} else {
		allErrs = append(allErrs, signerName(sp, csr.Spec.SignerName)...)
	}
	if csr.Spec.ExpirationSeconds != nil && *csr.Spec.ExpirationSeconds < 600 {
		allErrs = append(allErrs, field.Invalid(specPath.Child("expirationSeconds"), *csr.Spec.ExpirationSeconds, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	return allErrs
}

// signerName validates a signer name of the form example.com/signer-name.
func signerName(fldPath *field.Path, name string) field.ErrorList {
	if len(name) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	segments := strings.Split(name, "/")
	if len(segments) != 2 {
		return field.ErrorList{field.Invalid(fldPath, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var allErrs field.ErrorList
	if len(segments[0]) > validation.DNS1123SubdomainMaxLength {
		allErrs = append(allErrs, field.TooLong(fldPath, segments[0], validation.DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(segments[0], ".")
	for _, l := range labels {
		if errs := validation.IsDNS1123Label(l); len(errs) > 0 {
			for _, e := range errs {
				allErrs = append(allErrs, field.Invalid(fldPath, segments[0], fmt.Sprintf("validating label %q: %s", l, e)))
			}
			break
		}
	}
	if len(labels) < 2 {
		allErrs = append(allErrs, field.Invalid(fldPath, segments[0], "should be a domain with at least two segments separated by dots"))
	}
	for _, l := range strings.Split(segments[1], ".") {
		if errs := validation.IsDNS1123Subdomain(l); len(errs) > 0 {
			for _, e := range errs {
				allErrs = append(allErrs, field.Invalid(fldPath, segments[1], fmt.Sprintf("validating component %q: %s", l, e)))
			}
			break
		}
	}
	if max := validation.DNS1123SubdomainMaxLength - validation.DNS1123LabelMaxLength - 1; len(segments[1]) > max {
		allErrs = append(allErrs, field.TooLong(fldPath, segments[1], max))
	}
	return allErrs
}

// validateCSRUpdate validates an update (the registry keeps the spec).
func validateCSRUpdate(csr, _ *certificatesv1.CertificateSigningRequest) field.ErrorList {
	return validateCSR(csr)
}
