// Package fskref runs csrc/fskref.c, faxkit's reference harness on Debian's
// libspandsp, for the modem packages' cross-tests: G.711 tables, the modem
// connect tones, V.21 channel 2 FSK and HDLC, in both directions. The C
// file is compiled on first use with the system C compiler against
// libspandsp-dev; a test that needs it skips when it is absent and fails
// under CI=true (see internal/peertest). spandsp is LGPL: it is linked only
// into this test harness, never into faxkit.
package fskref

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/faxkit/faxkit/internal/peertest"
)

var build struct {
	once sync.Once
	exe  string
	err  error
}

// Exe returns the path of the compiled harness, building it on first use.
func Exe(t testing.TB) string {
	t.Helper()
	flags := peertest.CFlags(t, "spandsp", "apt-get install libspandsp-dev")
	build.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "csrc", "fskref.c")
		dir, err := os.MkdirTemp("", "faxkit-fskref-")
		if err != nil {
			build.err = err
			return
		}
		exe := filepath.Join(dir, "fskref")
		args := append([]string{"-O2", "-Wall", "-o", exe, src}, flags...)
		args = append(args, "-lm")
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			build.err = fmt.Errorf("building fskref: %v\n%s", err, out)
			return
		}
		build.exe = exe
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.exe
}

// Run runs the harness with args and stdin and returns its stdout.
func Run(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(Exe(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fskref %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// Samples converts the harness's native-endian 16-bit PCM to samples.
func Samples(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.NativeEndian.Uint16(b[2*i:]))
	}
	return s
}

// PCM converts samples to the harness's native-endian 16-bit PCM.
func PCM(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, x := range s {
		binary.NativeEndian.PutUint16(b[2*i:], uint16(x))
	}
	return b
}

// Itoa and Ftoa format harness arguments.
func Itoa(n int) string { return strconv.Itoa(n) }

// Ftoa formats a float harness argument.
func Ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
