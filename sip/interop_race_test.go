//go:build race

package sip_test

// interopRace is true under the race detector, which slows faxkit several
// times: the interop tests then run T.30 slower, fewer at once, and only
// their core cases (FAXKIT_SIP_FULL=1 runs them all).
const interopRace = true
