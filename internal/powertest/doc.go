// Package powertest cuts the power under a once-mode sync: the manifest
// and an fs destination live on a faultfs mount in power-loss mode, a run
// is stopped after its nth state-changing operation, everything not made
// durable by fsync is dropped, and the test checks what a power cut may
// leave behind. It holds only tests.
package powertest
