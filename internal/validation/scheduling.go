package validation

import (
	"fmt"
	"strings"

	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	systemPriorityClassPrefix    = "system-"
	highestUserDefinablePriority = int32(1000000000)
	systemCriticalPriority       = 2 * highestUserDefinablePriority
)

// systemPriorityClasses are the priority classes reserved for the system.
var systemPriorityClasses = []struct {
	name  string
	value int32
}{
	{"system-node-critical", systemCriticalPriority + 1000},
	{"system-cluster-critical", systemCriticalPriority},
}

// knownSystemPriorityClass reports whether name, value and globalDefault
// describe one of the system priority classes, and why not.
func knownSystemPriorityClass(name string, value int32, globalDefault bool) error {
	for _, spc := range systemPriorityClasses {
		if spc.name == name {
			if spc.value != value {
				return fmt.Errorf("value of %v PriorityClass must be %v", spc.name, spc.value)
			}
			if globalDefault {
				return fmt.Errorf("globalDefault of %v PriorityClass must be %v", spc.name, false)
			}
			return nil
		}
	}
	return fmt.Errorf("%v is not a known system priority class", name)
}

// validatePriorityClass validates a priority class's value and policy.
func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var allErrs field.ErrorList
	if strings.HasPrefix(pc.Name, systemPriorityClassPrefix) {
		if err := knownSystemPriorityClass(pc.Name, pc.Value, pc.GlobalDefault); err != nil {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("metadata", "name"), "priority class names with '"+systemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > highestUserDefinablePriority {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", highestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		allErrs = append(allErrs, preemptionPolicy(pc.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
	}
	return allErrs
}

// validatePriorityClassUpdate validates an update; value and preemption
// policy are immutable.
func validatePriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	var allErrs field.ErrorList
	if pc.Value != old.Value {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(allErrs, immutable(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}
