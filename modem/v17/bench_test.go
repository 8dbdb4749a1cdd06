package v17

import "testing"

// BenchmarkRx measures the receiver's CPU per 20 ms block beside
// spandsp's over the same audio (modemtest.Modem.BenchmarkRx).
func BenchmarkRx(b *testing.B) { modem.BenchmarkRx(b) }

// BenchmarkTx measures the transmitter's CPU per 20 ms block beside
// spandsp's (modemtest.Modem.BenchmarkTx).
func BenchmarkTx(b *testing.B) { modem.BenchmarkTx(b) }
