// Package clusterroleaggregation keeps aggregated ClusterRoles up to date, as upstream's
// clusterrole-aggregation controller: the rules of a ClusterRole with an aggregationRule are the
// union, in order and without duplicates, of the rules of every other ClusterRole matched by
// any of its clusterRoleSelectors (sorted by name within each selector). Any ClusterRole change
// re-evaluates every aggregated ClusterRole, since a label change may add or remove a source.
package clusterroleaggregation

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// FieldManager names the controller's writes.
const FieldManager = "clusterrole-aggregation-controller"

// Aggregate returns the rules an aggregated ClusterRole should have, given every ClusterRole;
// ok is false for a role without an aggregationRule. It errors on an invalid selector.
func Aggregate(role *rbacv1.ClusterRole, all []*rbacv1.ClusterRole) (rules []rbacv1.PolicyRule, ok bool, err error) {
	if role.AggregationRule == nil {
		return nil, false, nil
	}
	rules = []rbacv1.PolicyRule{}
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			return nil, true, fmt.Errorf("clusterrole %s: selector %d: %w", role.Name, i, err)
		}
		var matched []*rbacv1.ClusterRole
		for _, r := range all {
			if r.Name != role.Name && sel.Matches(labels.Set(r.Labels)) {
				matched = append(matched, r)
			}
		}
		sort.Slice(matched, func(a, b int) bool { return matched[a].Name < matched[b].Name })
		for _, r := range matched {
			for _, rule := range r.Rules {
				if !hasRule(rules, rule) {
					rules = append(rules, rule)
				}
			}
		}
	}
	return rules, true, nil
}

func hasRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for i := range rules {
		if equality.Semantic.DeepEqual(rules[i], r) {
			return true
		}
	}
	return false
}

// Run aggregates ClusterRoles until ctx ends, watching them through reads and writing through
// client (upstream's controller role may not watch).
func Run(ctx context.Context, reads, client kubernetes.Interface, log *slog.Logger) error {
	factory := informers.NewSharedInformerFactory(reads, 0)
	inf := factory.Rbac().V1().ClusterRoles()
	lister := inf.Lister()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer queue.ShutDown()
	enqueueAll := func() {
		all, err := lister.List(labels.Everything())
		if err != nil {
			return
		}
		for _, r := range all {
			if r.AggregationRule != nil {
				queue.Add(r.Name)
			}
		}
	}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { enqueueAll() },
		UpdateFunc: func(any, any) { enqueueAll() },
		DeleteFunc: func(any) { enqueueAll() },
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return ctx.Err()
	}
	enqueueAll()
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	for {
		key, quit := queue.Get()
		if quit {
			return nil
		}
		if err := sync(ctx, client, lister, key); err != nil {
			log.Warn("aggregating clusterrole", "name", key, "err", err)
			queue.AddRateLimited(key)
		} else {
			queue.Forget(key)
		}
		queue.Done(key)
	}
}

// sync writes the aggregated rules of ClusterRole name if they differ.
func sync(ctx context.Context, client kubernetes.Interface, lister rbaclisters.ClusterRoleLister, name string) error {
	role, err := lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	all, err := lister.List(labels.Everything())
	if err != nil {
		return err
	}
	rules, ok, err := Aggregate(role, all)
	if err != nil || !ok {
		return err
	}
	if equality.Semantic.DeepEqual(rules, role.Rules) {
		return nil
	}
	next := role.DeepCopy()
	next.Rules = rules
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = client.RbacV1().ClusterRoles().Update(c, next, metav1.UpdateOptions{FieldManager: FieldManager})
	return err
}
