package t30_test

import (
	"fmt"
	"time"

	"github.com/faxkit/faxkit/t30"
)

func ExampleParseFrame() {
	// a DIS as libspandsp sends it
	f, err := t30.ParseFrame([]byte{0xFF, 0x13, 0x80, 0x04, 0xEE, 0xF8, 0xC4, 0x80, 0x91, 0x80, 0x80, 0x80, 0x18})
	if err != nil {
		panic(err)
	}
	d, _ := t30.ParseDIS(f)
	fmt.Println(f.FCF, d.Modems, d.ECM, d.MMR, d.Length)
	// Output: DIS V.17+V.29+V.27ter true true unlimited
}

func ExampleChooseMode() {
	remote := t30.DefaultCapabilities()
	remote.MMR = false
	local := t30.DefaultCapabilities()
	m, err := t30.ChooseMode(local, remote.DIS(), t30.PageFormat{Resolution: t30.ResFine})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Speed, m.Compression, m.ECM, m.ECMFrameSize, m.Resolution)
	// Output: V.17/14400 MR true 256 fine
}

func ExampleSession() {
	// An answering receiver driven by hand: start it, then feed events.
	s, _ := t30.NewSession(t30.Config{LocalIdent: "+1 555 0100"})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, a := range s.Start(now) {
		fmt.Println(a)
	}
	for _, a := range s.Handle(now.Add(3*time.Second), t30.Event{Kind: t30.EventSendDone}) {
		fmt.Println(a)
	}
	// the DIS is out: T4 (4.5 s when answering automatically) runs
	for _, a := range s.Handle(now.Add(4*time.Second), t30.Event{Kind: t30.EventSendDone}) {
		fmt.Println(a)
	}
	d, _ := s.Deadline()
	fmt.Println("repeat DIS at", d.Sub(now))
	// Output:
	// send CED
	// send CSI DIS
	// receive @none
	// repeat DIS at 8.5s
}
