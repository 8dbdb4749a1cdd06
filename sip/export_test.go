package sip

// SetAckWritten has f run after each ACK of a 2xx to our INVITE is
// written, until the returned function restores the default.
func SetAckWritten(f func()) (restore func()) {
	ackWritten.Store(&f)
	return func() { ackWritten.Store(nil) }
}
