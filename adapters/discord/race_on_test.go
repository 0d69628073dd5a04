//go:build race

package discord

// raceEnabled scales the heaviest tests down under the race detector.
const raceEnabled = true
