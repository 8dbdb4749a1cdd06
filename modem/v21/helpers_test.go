package v21

import "fmt"

// fmtSscanf parses a "frame HEX OK" line of the spandsp harness.
func fmtSscanf(line string, hx *string, ok *int) (int, error) {
	return fmt.Sscanf(line, "frame %s %d", hx, ok)
}
