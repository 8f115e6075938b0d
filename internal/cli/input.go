package cli

import (
	"fmt"
	"io"
	"os"
)

// Caps on what gen reads from files and stdin named on the command line.
// A value past its cap is an error that names the flag, never a read that
// grows until memory runs out (--values /dev/zero, an endless stdin).
const (
	// maxValueSize caps --values, --secret KEY=@FILE and KEY=-, and the
	// token files of init: 1 MiB, the most a Kubernetes Secret may hold;
	// HelmRelease values are stored in one object too, and etcd refuses
	// a request over 1.5 MiB by default.
	maxValueSize = 1 << 20
	// maxManifestSize caps promote -f: a whole app's manifests.
	maxManifestSize = 16 << 20
)

// tooLargeError is an input past its cap.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("larger than %s, the most gen reads there", sizeText(e.limit))
}

// readCapped reads r to its end, refusing more than limit bytes with a
// *tooLargeError.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &tooLargeError{limit}
	}
	return data, nil
}

// readFileCapped is readCapped for a file; errors name the file.
func readFileCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readCapped(f, limit)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkPortFlag refuses --port 0 given explicitly: 0 stands for "not
// set" (the default port) inside gen, so it would silently become 80.
// Other ports out of range are refused by the options' validation.
func checkPortFlag(port optionalInt) error {
	if port.set && port.v == 0 {
		return usageErrorf("--port 0: want a port from 1 to 65535 (leave --port out for the default)")
	}
	return nil
}
