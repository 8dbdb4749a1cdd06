package sdp_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/faxkit/faxkit/sdp"
	"github.com/faxkit/faxkit/t38"
)

func ExampleAnswer() {
	reinvite := "v=0\r\no=- 1 2 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=image 4002 udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n" +
		"a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxDatagram:1500\r\na=T38FaxUdpEC:t38UDPFEC\r\n"
	offer, err := sdp.Parse([]byte(reinvite))
	if err != nil {
		fmt.Println(err)
		return
	}
	local := sdp.Local{SessionID: 42, Addr: netip.MustParseAddr("192.0.2.1"), AudioPort: 5000, T38Port: 5002,
		T38: sdp.T38Params{Version: 3, MaxBitRate: 14400, MaxDatagram: 1400, EC: t38.ECRedundancy}}
	answer, neg, err := sdp.Answer(local, offer, nil, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("send UDPTL to", neg.T38.Remote, "datagrams up to", neg.T38.Params.MaxDatagram)
	fmt.Print(strings.ReplaceAll(string(answer.Marshal()), "\r\n", "\n"))
	// Output:
	// send UDPTL to 192.0.2.10:4002 datagrams up to 400
	// v=0
	// o=faxkit 42 42 IN IP4 192.0.2.1
	// s=faxkit
	// c=IN IP4 192.0.2.1
	// t=0 0
	// m=image 5002 udptl t38
	// a=T38FaxVersion:0
	// a=T38MaxBitRate:14400
	// a=T38FaxRateManagement:transferredTCF
	// a=T38FaxMaxDatagram:400
	// a=T38FaxUdpEC:t38UDPRedundancy
	// a=sendrecv
}

func ExampleOffer() {
	local := sdp.Local{SessionID: 7, Addr: netip.MustParseAddr("192.0.2.1"), AudioPort: 5000, T38Port: 5002}
	initial := sdp.Offer(local, sdp.KindAudio, nil)
	reinvite := sdp.Offer(local, sdp.KindT38, initial) // the switch to T.38
	fmt.Println(initial.Origin.Version, reinvite.Origin.Version, reinvite.Media[0].Type, reinvite.Media[0].Port)
	// Output: 7 8 image 5002
}
