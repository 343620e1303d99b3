// Package priority is the Priority admission plugin, as upstream's: a created pod gets
// spec.priority and spec.preemptionPolicy from its PriorityClass, or from the cluster's
// globalDefault class when it names none (priority 0 and PreemptLowerPriority when there is no
// default). A pod naming a class that does not exist is refused ("no PriorityClass with name x
// was found"), and so is one whose own priority or preemptionPolicy disagrees with its class.
// It also refuses a second globalDefault PriorityClass.
package priority

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// Plugin is the Priority admission plugin.
type Plugin struct {
	// Classes is the priorityclasses store.
	Classes *registry.Store
}

func (p *Plugin) classes(ctx context.Context) ([]*schedulingv1.PriorityClass, error) {
	l, err := p.Classes.List(ctx, "", storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	out := make([]*schedulingv1.PriorityClass, 0, len(l.Items))
	for _, o := range l.Items {
		out = append(out, o.(*schedulingv1.PriorityClass))
	}
	return out, nil
}

// defaultClass is the oldest globalDefault class, or nil.
func defaultClass(classes []*schedulingv1.PriorityClass) *schedulingv1.PriorityClass {
	var out *schedulingv1.PriorityClass
	for _, c := range classes {
		if c.GlobalDefault && (out == nil || c.CreationTimestamp.Before(&out.CreationTimestamp)) {
			out = c
		}
	}
	return out
}

// Admit resolves a created pod's priority.
func (p *Plugin) Admit(ctx context.Context, a *registry.AdmissionAttributes) error {
	pod, ok := a.Object.(*corev1.Pod)
	if !ok || a.Operation != registry.OperationCreate || a.Subresource != "" {
		return nil
	}
	classes, err := p.classes(ctx)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("list priority classes: %w", err))
	}
	forbid := func(err error) error { return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, err) }
	return Resolve(pod, classes, forbid)
}

// Resolve sets pod's priority from classes; forbid wraps refusals.
func Resolve(pod *corev1.Pod, classes []*schedulingv1.PriorityClass, forbid func(error) error) error {
	var priority int32
	policy := corev1.PreemptLowerPriority
	preemption := &policy
	if pod.Spec.PriorityClassName == "" {
		if pc := defaultClass(classes); pc != nil {
			pod.Spec.PriorityClassName = pc.Name
			priority, preemption = pc.Value, pc.PreemptionPolicy
		}
	} else {
		var pc *schedulingv1.PriorityClass
		for _, c := range classes {
			if c.Name == pod.Spec.PriorityClassName {
				pc = c
			}
		}
		if pc == nil {
			return forbid(fmt.Errorf("no PriorityClass with name %v was found", pod.Spec.PriorityClassName))
		}
		priority, preemption = pc.Value, pc.PreemptionPolicy
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return forbid(fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, priority))
	}
	pod.Spec.Priority = &priority
	if preemption != nil {
		if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != *preemption {
			return forbid(fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, *preemption))
		}
		pp := *preemption
		pod.Spec.PreemptionPolicy = &pp
	}
	return nil
}

// Validate refuses a second globalDefault PriorityClass.
func (p *Plugin) Validate(ctx context.Context, a *registry.AdmissionAttributes) error {
	pc, ok := a.Object.(*schedulingv1.PriorityClass)
	if !ok || !pc.GlobalDefault || a.Subresource != "" {
		return nil
	}
	classes, err := p.classes(ctx)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("list priority classes: %w", err))
	}
	if d := defaultClass(classes); d != nil && d.Name != pc.Name {
		return apierrors.NewForbidden(a.Resource.GroupResource(), pc.Name,
			fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", d.Name))
	}
	return nil
}
