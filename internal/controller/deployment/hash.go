package deployment

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/dump"
)

// ComputeHash is the pod-template-hash of template, as upstream computes it (so that
// ReplicaSet and pod names match a Kubernetes cluster's): FNV-32a over the template printed
// by the deep printer k8s.io/utils/dump.ForHash, then the collision count's 8 little-endian
// bytes (4 meaningful), the sum in decimal, made safe by rand.SafeEncodeString.
func ComputeHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(*template))
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		h.Write(b)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// ReplicaSetName is "<deployment>-<hash>", the deployment's name cut to keep it a valid name.
func ReplicaSetName(deployment, hash string) string {
	max := validation.DNS1123SubdomainMaxLength - 1 - len(hash)
	if len(deployment) > max && max > 0 {
		deployment = deployment[:max]
	}
	return deployment + "-" + hash
}
