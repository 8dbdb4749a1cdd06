//go:build !race

package faxkit_test

// raceEnabled: see audio_race_test.go.
const raceEnabled = false
