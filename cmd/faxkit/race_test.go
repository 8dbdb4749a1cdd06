//go:build race

package main

// raceEnabled: the race detector is on. It slows the audio modems below
// real time, so the real-time audio interop with libspandsp runs only in
// the test script's stage without it.
const raceEnabled = true
