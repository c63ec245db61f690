package transfer

// Discarder marks a destination that publishes nothing (a dry run): what it
// was sent is not there to verify, so the sender does not try.
type Discarder interface {
	Discards()
}
