package persistence

import "testing"

// FuzzUnmarshalChannelState: any input either fails with an error or
// decodes to a state whose encoding decodes to the same state; nothing
// panics or allocates beyond the input's size.
func FuzzUnmarshalChannelState(f *testing.F) {
	f.Add(sampleChannelState().MarshalBinary())
	f.Add((&ChannelState{}).MarshalBinary())
	f.Add([]byte(channelStateMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := UnmarshalChannelState(b)
		if err != nil {
			return
		}
		again, err := UnmarshalChannelState(cs.MarshalBinary())
		if err != nil || !sameChannelState(again, cs) {
			t.Fatalf("re-encoded channel state does not round-trip: %v", err)
		}
	})
}
