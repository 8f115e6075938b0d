//go:build tools

// Package kube pins the Kubernetes components gen's integration tests run:
// kube-apiserver from k8s.io/kubernetes and etcd from go.etcd.io/etcd. It is a
// module of its own so the main module never depends on k8s.io/kubernetes.
// scripts/kube-tools.sh builds the binaries from here.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
