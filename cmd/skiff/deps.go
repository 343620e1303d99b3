package main

import (
	_ "github.com/spf13/cobra"
	_ "go.etcd.io/etcd/client/v3"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/runtime/serializer"
	_ "k8s.io/apimachinery/pkg/util/managedfields"
	_ "k8s.io/apimachinery/pkg/util/strategicpatch"
	_ "k8s.io/client-go/applyconfigurations"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/kubernetes/scheme"
	_ "k8s.io/client-go/informers"
	_ "k8s.io/kube-openapi/pkg/spec3"
	_ "k8s.io/component-helpers/scheduling/corev1"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "k8s.io/api/apidiscovery/v2"
	_ "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	_ "golang.org/x/crypto/nacl/secretbox"
	_ "gopkg.in/evanphx/json-patch.v4"
)

func main() {}
