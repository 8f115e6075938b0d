// Command etcd is the etcd server gen's integration tests start beside
// kube-apiserver. It only hands its arguments to etcd's own entry point, so
// the binary is built at the version this module pins.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
