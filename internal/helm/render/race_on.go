//go:build race

package render

// raceEnabled: the race detector maps its own shadow memory, which an
// address-space ceiling breaks; race builds rely on the heap watchdog.
const raceEnabled = true
