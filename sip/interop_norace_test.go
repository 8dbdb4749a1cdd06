//go:build !race

package sip_test

// interopRace: see interop_race_test.go.
const interopRace = false
