// Package faultmatrix injects one fault at a time into a running sync,
// for once and watch mode, at each kind of destination: EIO on read,
// write, fsync, rename and readdir and ENOSPC on a faultfs mount; 5xx
// SlowDown, connection resets, stalls, a MinIO restart and an agent
// restart on S3. After each fault clears, the run (or the next one)
// converges, nothing partial is visible under a final name, and the
// manifest claims nothing the destination lacks. It holds only tests.
package faultmatrix
