package t4

import "syscall"

// threadCPU returns the CPU time the calling OS thread has used, in ns.
// Benchmarks lock their goroutine to its thread and report CPU time per op
// beside wall time: on a shared machine wall time also counts time spent
// waiting for a core.
func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
