package controller_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/controller/serviceaccount"
)

// TestServiceAccountControllers checks that every namespace gets, and keeps, its default
// ServiceAccount and its kube-root-ca.crt ConfigMap with the cluster CA.
func TestServiceAccountControllers(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"serviceaccount", "root-ca-certificate-publisher"}})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sa-controllers"}}
	if _, err := cl.c.CoreV1().Namespaces().Create(cl.ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ca := string(cl.s.CAPEM)
	published := func() (bool, error) {
		cm, err := cl.c.CoreV1().ConfigMaps(ns.Name).Get(cl.ctx, serviceaccount.RootCAName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return cm.Data[serviceaccount.RootCAKey] == ca, nil
	}
	hasDefault := func() (bool, error) {
		_, err := cl.c.CoreV1().ServiceAccounts(ns.Name).Get(cl.ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}
	for _, existing := range []string{"default", "kube-system", ns.Name} {
		cl.poll(10*time.Second, "default ServiceAccount in "+existing, func() (bool, error) {
			_, err := cl.c.CoreV1().ServiceAccounts(existing).Get(cl.ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		})
	}
	cl.poll(10*time.Second, "kube-root-ca.crt in "+ns.Name, published)

	// Deleted or changed, they come back.
	if err := cl.c.CoreV1().ServiceAccounts(ns.Name).Delete(cl.ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := cl.c.CoreV1().ConfigMaps(ns.Name).Get(cl.ctx, serviceaccount.RootCAName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data[serviceaccount.RootCAKey] = "tampered"
	if _, err := cl.c.CoreV1().ConfigMaps(ns.Name).Update(cl.ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(10*time.Second, "default ServiceAccount recreated", hasDefault)
	cl.poll(10*time.Second, "kube-root-ca.crt restored", published)
	if err := cl.c.CoreV1().ConfigMaps(ns.Name).Delete(cl.ctx, serviceaccount.RootCAName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(10*time.Second, "kube-root-ca.crt recreated", published)
}
