//go:build race

package faxkit_test

// raceEnabled: the race detector is on. It slows faxkit's real-time audio
// calls several times over, so under it the audio tests run a smaller set
// of calls on a slower clock (see audioSpeedup and TestAudioSpandsp).
const raceEnabled = true
