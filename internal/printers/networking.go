package printers

import (
	"fmt"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

func init() {
	networking := func(kind string) schema.GroupKind {
		return schema.GroupKind{Group: networkingv1.GroupName, Kind: kind}
	}
	register(Printer{Columns: ingressColumns(), Cells: cellsOf(ingressCells)}, networking("Ingress"))
	register(Printer{Columns: ingressClassColumns(), Cells: cellsOf(ingressClassCells)}, networking("IngressClass"))
	register(Printer{Columns: networkPolicyColumns(), Cells: cellsOf(networkPolicyCells)}, networking("NetworkPolicy"))
	register(Printer{Columns: serviceCIDRColumns(), Cells: cellsOf(serviceCIDRCells)}, networking("ServiceCIDR"))
	register(Printer{Columns: ipAddressColumns(), Cells: cellsOf(ipAddressCells)}, networking("IPAddress"))
}

// Ingress

func ingressColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
		{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
		{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
		{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
		ageColumn(),
	}
}

func ingressCells(ing *networkingv1.Ingress, now time.Time) ([]interface{}, error) {
	class := "<none>"
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	ports := "80"
	if len(ing.Spec.TLS) != 0 {
		ports = "80, 443"
	}
	return []interface{}{
		ing.Name,
		class,
		ingressHosts(ing.Spec.Rules),
		ingressAddress(ing.Status.LoadBalancer.Ingress),
		ports,
		age(ing.CreationTimestamp, now),
	}, nil
}

// ingressHosts lists the hosts of the first three rules that have one, with
// " + N more..." counting all rules past the third; "*" when none has a host.
func ingressHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var list []string
	more := false
	for _, rule := range rules {
		if len(list) == max {
			more = true
		}
		if !more && rule.Host != "" {
			list = append(list, rule.Host)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, len(rules)-max)
	}
	return ret
}

// ingressAddress returns the sorted, distinct IPs (or else hostnames) of the
// ingress's load balancer, comma-separated; the server renders tables wide,
// so the list is never clipped.
func ingressAddress(ingress []networkingv1.IngressLoadBalancerIngress) string {
	result := sets.New[string]()
	for _, in := range ingress {
		if in.IP != "" {
			result.Insert(in.IP)
		} else if in.Hostname != "" {
			result.Insert(in.Hostname)
		}
	}
	return strings.Join(sets.List(result), ",")
}

// IngressClass

func ingressClassColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Controller", Type: "string", Description: "Controller that is responsible for handling this class"},
		{Name: "Parameters", Type: "string", Description: "A reference to a resource with additional parameters"},
		ageColumn(),
	}
}

// ingressClassCells shows PARAMETERS as kind[.apiGroup]/name, or "<none>".
func ingressClassCells(ic *networkingv1.IngressClass, now time.Time) ([]interface{}, error) {
	parameters := "<none>"
	if p := ic.Spec.Parameters; p != nil {
		parameters = p.Kind
		if p.APIGroup != nil {
			parameters += "." + *p.APIGroup
		}
		parameters += "/" + p.Name
	}
	return []interface{}{ic.Name, ic.Spec.Controller, parameters, age(ic.CreationTimestamp, now)}, nil
}

// NetworkPolicy

func networkPolicyColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Pod-Selector", Type: "string", Description: networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
		ageColumn(),
	}
}

func networkPolicyCells(np *networkingv1.NetworkPolicy, now time.Time) ([]interface{}, error) {
	return []interface{}{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), age(np.CreationTimestamp, now)}, nil
}

// ServiceCIDR

func serviceCIDRColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "CIDRs", Type: "string", Description: networkingv1beta1.ServiceCIDRSpec{}.SwaggerDoc()["cidrs"]},
		ageColumn(),
	}
}

func serviceCIDRCells(sc *networkingv1.ServiceCIDR, now time.Time) ([]interface{}, error) {
	return []interface{}{sc.Name, strings.Join(sc.Spec.CIDRs, ","), age(sc.CreationTimestamp, now)}, nil
}

// IPAddress

// ipAddressColumns has no AGE column: upstream's printer computes an age
// cell beyond its two columns, which kubectl never shows, so it is dropped.
func ipAddressColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "ParentRef", Type: "string", Description: networkingv1beta1.IPAddressSpec{}.SwaggerDoc()["parentRef"]},
	}
}

// ipAddressCells shows PARENTREF as resource.group[/namespace]/name in lower
// case, or "<none>".
func ipAddressCells(ip *networkingv1.IPAddress, _ time.Time) ([]interface{}, error) {
	parent := "<none>"
	if ref := ip.Spec.ParentRef; ref != nil {
		parent = strings.ToLower(schema.GroupResource{Group: ref.Group, Resource: ref.Resource}.String())
		if ref.Namespace != "" {
			parent += "/" + ref.Namespace
		}
		parent += "/" + ref.Name
	}
	return []interface{}{ip.Name, parent}, nil
}
