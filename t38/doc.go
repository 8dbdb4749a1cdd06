// Package t38 implements the wire formats of ITU-T T.38 real-time fax over
// IP: IFP packets, UDPTL with redundancy and FEC, and the SDP attributes.
package t38
