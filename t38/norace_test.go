//go:build !race

package t38

const raceEnabled = false
