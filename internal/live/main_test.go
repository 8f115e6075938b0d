package live_test

import (
	"os"
	"testing"

	"github.com/gen-gitops/gen/internal/live/livetest"
)

// TestMain starts one real kube-apiserver and etcd for the package.
func TestMain(m *testing.M) { os.Exit(livetest.Main(m)) }
