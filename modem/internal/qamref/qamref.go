// Package qamref runs csrc/qamref.c, a small harness around Debian's
// libspandsp V.29/V.27ter/V.17 transmitters and receivers, so that tests
// and benchmarks can measure faxkit's modems against spandsp's in the
// same run and cross-connect them in both directions. The C file is
// compiled on first use against libspandsp-dev; tests skip without it,
// and fail under CI=true (internal/peertest). spandsp is only ever linked
// into this test harness.
package qamref

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
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
		// The binary is cached under the user cache directory, keyed by
		// the source and flags, so that test runs neither rebuild it nor
		// leave copies behind.
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "csrc", "qamref.c")
		code, err := os.ReadFile(src)
		if err != nil {
			build.err = err
			return
		}
		h := sha256.New()
		h.Write(code)
		h.Write([]byte(strings.Join(flags, " ")))
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		dir = filepath.Join(dir, "faxkit-qamref")
		exe := filepath.Join(dir, fmt.Sprintf("qamref-%x", h.Sum(nil)[:8]))
		if _, err := os.Stat(exe); err == nil {
			build.exe = exe
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			build.err = err
			return
		}
		tmp := fmt.Sprintf("%s.%d", exe, os.Getpid())
		args := append([]string{"-O2", "-Wall", "-o", tmp, src}, flags...)
		args = append(args, "-lm")
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			build.err = fmt.Errorf("building qamref: %v\n%s", err, out)
			return
		}
		// Rename is atomic: concurrent test processes each build and
		// one copy wins.
		if err := os.Rename(tmp, exe); err != nil {
			build.err = err
			return
		}
		build.exe = exe
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.exe
}

func run(t testing.TB, stdin []byte, args ...string) ([]byte, string) {
	t.Helper()
	cmd := exec.Command(Exe(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("qamref %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes(), errb.String()
}

// Tx returns spandsp's transmission of bits (0/1 bytes) by modem ("v29",
// "v27ter", "v17") at rate and level dBm0, training included, to the end of
// its shutdown.
func Tx(t testing.TB, modem string, rate int, level float64, bits []byte) []int16 {
	t.Helper()
	return tx(t, modem, rate, level, bits, "notep")
}

// TxTEP is Tx with the optional talker echo protection tone first.
func TxTEP(t testing.TB, modem string, rate int, level float64, bits []byte) []int16 {
	t.Helper()
	return tx(t, modem, rate, level, bits, "tep")
}

// TxShort returns spandsp's V.17 transmission of 1440 ones with the long
// training, 1600 samples of silence, then bits with the short training,
// as T.30 sends TCF and then a page.
func TxShort(t testing.TB, rate int, level float64, bits []byte) []int16 {
	t.Helper()
	return tx(t, "v17", rate, level, bits, "notep", "short")
}

func tx(t testing.TB, modem string, rate int, level float64, bits []byte, opts ...string) []int16 {
	t.Helper()
	args := append([]string{"tx", modem, strconv.Itoa(rate), strconv.FormatFloat(level, 'f', 2, 64)}, opts...)
	out, _ := run(t, bits, args...)
	s := make([]int16, len(out)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return s
}

// Rx returns the bits spandsp's receiver delivers for audio, and its
// status changes as text.
func Rx(t testing.TB, modem string, rate int, audio []int16) ([]byte, string) {
	t.Helper()
	return run(t, pcm(audio), "rx", modem, strconv.Itoa(rate))
}

// BenchRx returns spandsp's receiver CPU time per 160-sample block over
// audio, repeated reps times.
func BenchRx(t testing.TB, modem string, rate int, audio []int16, reps int) float64 {
	t.Helper()
	out, _ := run(t, pcm(audio), "bench-rx", modem, strconv.Itoa(rate), strconv.Itoa(reps))
	return parse(t, out)
}

// BenchTx returns spandsp's transmitter CPU time per 160-sample block.
func BenchTx(t testing.TB, modem string, rate int, blocks int) float64 {
	t.Helper()
	out, _ := run(t, nil, "bench-tx", modem, strconv.Itoa(rate), strconv.Itoa(blocks))
	return parse(t, out)
}

func parse(t testing.TB, out []byte) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("qamref: %v", fmt.Errorf("bad bench output %q: %w", out, err))
	}
	return v
}

func pcm(a []int16) []byte {
	b := make([]byte, 2*len(a))
	for i, v := range a {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

// G711 returns spandsp's G.711 tables: the µ-law and A-law code of every
// linear value from -32768 up, and the linear value of every code.
func G711(t testing.TB) (ulaw, alaw []byte, ulin, alin []int16) {
	t.Helper()
	out, _ := run(t, nil, "g711", "-", "-")
	if len(out) != 2*65536+4*256 {
		t.Fatalf("qamref g711: %d bytes", len(out))
	}
	ulaw, alaw = out[:65536], out[65536:131072]
	lin := out[131072:]
	ulin, alin = make([]int16, 256), make([]int16, 256)
	for i := range 256 {
		ulin[i] = int16(binary.LittleEndian.Uint16(lin[2*i:]))
		alin[i] = int16(binary.LittleEndian.Uint16(lin[512+2*i:]))
	}
	return
}
