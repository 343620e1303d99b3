package printers

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	admission := func(kind string) schema.GroupKind {
		return schema.GroupKind{Group: admissionregistrationv1.GroupName, Kind: kind}
	}
	register(Printer{Columns: webhookConfigurationColumns(), Cells: cellsOf(validatingWebhookConfigurationCells)}, admission("ValidatingWebhookConfiguration"))
	register(Printer{Columns: webhookConfigurationColumns(), Cells: cellsOf(mutatingWebhookConfigurationCells)}, admission("MutatingWebhookConfiguration"))
	register(Printer{Columns: validatingAdmissionPolicyColumns(), Cells: cellsOf(validatingAdmissionPolicyCells)}, admission("ValidatingAdmissionPolicy"))
	register(Printer{Columns: validatingAdmissionPolicyBindingColumns(), Cells: cellsOf(validatingAdmissionPolicyBindingCells)}, admission("ValidatingAdmissionPolicyBinding"))
}

// webhookConfigurationColumns are the columns of both webhook configuration kinds.
func webhookConfigurationColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Webhooks", Type: "integer", Description: "Webhooks indicates the number of webhooks registered in this configuration"},
		ageColumn(),
	}
}

func validatingWebhookConfigurationCells(c *admissionregistrationv1.ValidatingWebhookConfiguration, now time.Time) ([]interface{}, error) {
	return []interface{}{c.Name, int64(len(c.Webhooks)), age(c.CreationTimestamp, now)}, nil
}

func mutatingWebhookConfigurationCells(c *admissionregistrationv1.MutatingWebhookConfiguration, now time.Time) ([]interface{}, error) {
	return []interface{}{c.Name, int64(len(c.Webhooks)), age(c.CreationTimestamp, now)}, nil
}

func validatingAdmissionPolicyColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Validations", Type: "integer", Description: "Validations indicates the number of validation rules defined in this configuration"},
		{Name: "ParamKind", Type: "string", Description: "ParamKind specifies the kind of resources used to parameterize this policy"},
		ageColumn(),
	}
}

// validatingAdmissionPolicyCells shows PARAMKIND as apiVersion/kind, or "<unset>".
func validatingAdmissionPolicyCells(p *admissionregistrationv1.ValidatingAdmissionPolicy, now time.Time) ([]interface{}, error) {
	paramKind := "<unset>"
	if pk := p.Spec.ParamKind; pk != nil {
		paramKind = pk.APIVersion + "/" + pk.Kind
	}
	return []interface{}{p.Name, int64(len(p.Spec.Validations)), paramKind, age(p.CreationTimestamp, now)}, nil
}

func validatingAdmissionPolicyBindingColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "PolicyName", Type: "string", Description: "PolicyName indicates the policy definition which the policy binding binded to"},
		{Name: "ParamRef", Type: "string", Description: "ParamRef indicates the param resource which sets the configuration param"},
		ageColumn(),
	}
}

// validatingAdmissionPolicyBindingCells shows PARAMREF as namespace/name
// ("*/name" without a namespace), else the selector, else "<unset>".
func validatingAdmissionPolicyBindingCells(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, now time.Time) ([]interface{}, error) {
	param := "<unset>"
	if pr := b.Spec.ParamRef; pr != nil {
		switch {
		case pr.Name != "" && pr.Namespace != "":
			param = pr.Namespace + "/" + pr.Name
		case pr.Name != "":
			// Whether the param is cluster-scoped is not known here.
			param = "*/" + pr.Name
		case pr.Selector != nil:
			param = pr.Selector.String()
		}
	}
	return []interface{}{b.Name, b.Spec.PolicyName, param, age(b.CreationTimestamp, now)}, nil
}
