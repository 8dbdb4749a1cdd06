//go:build !linux

package t4

func threadCPU() int64 { return 0 }
