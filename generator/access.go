package generator

import "fmt"

// validateAccess checks the options of --expose access.
func (o *AddAppOptions) validateAccess() error {
	return fmt.Errorf("--expose access is not available yet")
}

// exposeAccess writes the app's Chute.
func (g *appGen) exposeAccess() error { return nil }
