package openapi

// requiredOverrides corrects the run-time rule for "required" where it
// disagrees with upstream. Upstream's openapi-gen marks a field required unless
// its comment carries +optional (or it has omitempty and no +required); the
// markers are not visible at run time, so isRequired falls back to "the json
// tag lacks omitempty". This table lists, per schema name and json field name,
// the fields of the stable (GA) k8s.io/api and apimachinery types of v0.37.2 where that rule is wrong: true means upstream requires the
// field although it has omitempty (+required), false means upstream does not
// require it although it lacks omitempty (+optional). Alpha and beta groups are
// not covered. Types whose generated definitions ship with their library
// (apiextensions) take required from those instead (see generatedSchema).
var requiredOverrides = map[string]map[string]bool{
	"io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding":     {"spec": true},
	"io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec": {"policyName": true, "validationActions": true},
	"io.k8s.api.apps.v1.ControllerRevision":                                    {"revision": false},
	"io.k8s.api.apps.v1.DaemonSet":                                             {"spec": true},
	"io.k8s.api.apps.v1.DaemonSetCondition":                                    {"type": false, "status": false},
	"io.k8s.api.apps.v1.Deployment":                                            {"spec": true},
	"io.k8s.api.apps.v1.DeploymentCondition":                                   {"type": false, "status": false},
	"io.k8s.api.apps.v1.ReplicaSet":                                            {"spec": true},
	"io.k8s.api.apps.v1.ReplicaSetCondition":                                   {"type": false, "status": false},
	"io.k8s.api.apps.v1.StatefulSet":                                           {"spec": true},
	"io.k8s.api.apps.v1.StatefulSetCondition":                                  {"type": false, "status": false},
	"io.k8s.api.apps.v1.StatefulSetOrdinals":                                   {"start": false},
	"io.k8s.api.apps.v1.StatefulSetSpec":                                       {"serviceName": false},
	"io.k8s.api.apps.v1.StatefulSetStatus":                                     {"availableReplicas": false},
	"io.k8s.api.authentication.v1.TokenRequest":                                {"spec": false},
	"io.k8s.api.authentication.v1.TokenRequestSpec":                            {"audiences": false, "expirationSeconds": false, "boundObjectRef": false},
	"io.k8s.api.authentication.v1.TokenRequestStatus":                          {"token": false, "expirationTimestamp": false},
	"io.k8s.api.authentication.v1.TokenReviewSpec":                             {"token": true},
	"io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler":                        {"spec": true},
	"io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler":                        {"spec": true},
	"io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus":                  {"currentMetrics": false},
	"io.k8s.api.batch.v1.CronJob":                                              {"spec": true},
	"io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern":               {"status": false},
	"io.k8s.api.core.v1.AzureFilePersistentVolumeSource":                       {"secretNamespace": false},
	"io.k8s.api.core.v1.ContainerImage":                                        {"names": false},
	"io.k8s.api.core.v1.ContainerRestartRule":                                  {"action": true},
	"io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes":                       {"operator": true},
	"io.k8s.api.core.v1.Event":                                                 {"reportingComponent": false, "reportingInstance": false},
	"io.k8s.api.core.v1.GRPCAction":                                            {"service": false},
	"io.k8s.api.core.v1.ImageVolumeStatus":                                     {"imageRef": true},
	"io.k8s.api.core.v1.NodeRuntimeHandler":                                    {"name": false},
	"io.k8s.api.core.v1.PodCertificateProjection":                              {"signerName": true, "keyType": true},
	"io.k8s.api.core.v1.ProjectedVolumeSource":                                 {"sources": false},
	"io.k8s.api.core.v1.TypedLocalObjectReference":                             {"apiGroup": false},
	"io.k8s.api.core.v1.TypedObjectReference":                                  {"apiGroup": false},
	"io.k8s.api.discovery.v1.EndpointSlice":                                    {"endpoints": false, "ports": false},
	"io.k8s.api.flowcontrol.v1.FlowSchema":                                     {"spec": true},
	"io.k8s.api.flowcontrol.v1.FlowSchemaCondition":                            {"type": true},
	"io.k8s.api.flowcontrol.v1.FlowSchemaSpec":                                 {"matchingPrecedence": false},
	"io.k8s.api.flowcontrol.v1.LimitedPriorityLevelConfiguration":              {"nominalConcurrencyShares": false, "limitResponse": true},
	"io.k8s.api.flowcontrol.v1.PriorityLevelConfiguration":                     {"spec": true},
	"io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationCondition":            {"type": true},
	"io.k8s.api.flowcontrol.v1.QueuingConfiguration":                           {"queues": false, "handSize": false, "queueLengthLimit": false},
	"io.k8s.api.flowcontrol.v1.ResourcePolicyRule":                             {"namespaces": false},
	"io.k8s.api.networking.v1.IPAddress":                                       {"spec": true},
	"io.k8s.api.networking.v1.IPAddressSpec":                                   {"parentRef": true},
	"io.k8s.api.networking.v1.IngressClassParametersReference":                 {"scope": false},
	"io.k8s.api.networking.v1.NetworkPolicySpec":                               {"podSelector": false},
	"io.k8s.api.networking.v1.ParentReference":                                 {"resource": true, "name": true},
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus":                           {"disruptionsAllowed": false, "currentHealthy": false, "desiredHealthy": false, "expectedPods": false},
	"io.k8s.api.rbac.v1.ClusterRole":                                           {"rules": false},
	"io.k8s.api.rbac.v1.Role":                                                  {"rules": false},
	"io.k8s.api.rbac.v1.RoleRef":                                               {"apiGroup": false},
	"io.k8s.api.resource.v1.AllocatedDeviceStatus":                             {"conditions": false},
	"io.k8s.api.resource.v1.CapacityRequestPolicy":                             {"default": false},
	"io.k8s.api.resource.v1.CapacityRequestPolicyRange":                        {"min": true},
	"io.k8s.api.resource.v1.CounterSet":                                        {"counters": true},
	"io.k8s.api.resource.v1.DeviceClaim":                                       {"requests": false},
	"io.k8s.api.resource.v1.DeviceClass":                                       {"spec": false},
	"io.k8s.api.resource.v1.DeviceCounterConsumption":                          {"counters": true},
	"io.k8s.api.resource.v1.DeviceTaintRuleSpec":                               {"taint": true},
	"io.k8s.api.resource.v1.ResourceClaim":                                     {"spec": false},
	"io.k8s.api.resource.v1.ResourceClaimSpec":                                 {"devices": false},
	"io.k8s.api.resource.v1.ResourceClaimTemplate":                             {"spec": false},
	"io.k8s.api.resource.v1.ResourceClaimTemplateSpec":                         {"spec": false},
	"io.k8s.api.scheduling.v1.PriorityClass":                                   {"value": false},
	"io.k8s.api.storage.v1.CSINodeDriver":                                      {"topologyKeys": false},
}

// isRequired reports whether upstream lists the json field name of the schema
// named schemaName in its "required" set, given whether the field's json tag
// has omitempty.
func isRequired(schemaName, field string, omitEmpty bool) bool {
	if v, ok := requiredOverrides[schemaName][field]; ok {
		return v
	}
	return !omitEmpty
}
