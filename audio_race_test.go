//go:build race

package faxkit_test

// raceEnabled: the race detector is on. It slows faxkit's modems below
// real time on a loaded machine (a race run of the audio calls saw 1148
// packets late at a load of 30 on 2 cores), so the real-time audio calls
// skip under it (skipRealTime); scripts/test.sh runs them without it.
const raceEnabled = true
