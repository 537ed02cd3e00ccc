package persistence

// The descriptors name a state and give what the backend needs to store
// it. Codecs are needed only by Snapshot and Restore (and by registering
// a state that has restored entries); a missing one is reported then.

// ValueDescriptor describes a ValueState.
type ValueDescriptor[V any] struct {
	Name  string   // unique within the backend; required
	Codec Codec[V] // encodes values in snapshots
	TTL   TTLConfig
}

// ListDescriptor describes a ListState.
type ListDescriptor[V any] struct {
	Name  string   // unique within the backend; required
	Codec Codec[V] // encodes elements in snapshots
	TTL   TTLConfig
}

// MapDescriptor describes a MapState.
type MapDescriptor[UK comparable, UV any] struct {
	Name       string    // unique within the backend; required
	KeyCodec   Codec[UK] // encodes user keys in snapshots
	ValueCodec Codec[UV] // encodes user values in snapshots
	TTL        TTLConfig
}

// ReducingDescriptor describes a ReducingState.
type ReducingDescriptor[V any] struct {
	Name  string   // unique within the backend; required
	Codec Codec[V] // encodes the reduced value in snapshots
	// Reduce combines the stored value a with an added value b; required.
	Reduce func(a, b V) V
	TTL    TTLConfig
}

// AggregatingDescriptor describes an AggregatingState, which folds inputs
// of type In into an accumulator of type Acc and reads as an Out.
type AggregatingDescriptor[In, Acc, Out any] struct {
	Name     string     // unique within the backend; required
	AccCodec Codec[Acc] // encodes the accumulator in snapshots
	// Create returns an empty accumulator; required.
	Create func() Acc
	// Add folds an input into the accumulator and returns it; required.
	Add func(Acc, In) Acc
	// Result computes the output from the accumulator; required.
	Result func(Acc) Out
	TTL    TTLConfig
}

func (d *ValueDescriptor[V]) validate() error {
	return validateCommon(d.Name, "ValueDescriptor", d.TTL)
}

func (d *ListDescriptor[V]) validate() error {
	return validateCommon(d.Name, "ListDescriptor", d.TTL)
}

func (d *MapDescriptor[UK, UV]) validate() error {
	return validateCommon(d.Name, "MapDescriptor", d.TTL)
}

func (d *ReducingDescriptor[V]) validate() error {
	if err := validateCommon(d.Name, "ReducingDescriptor", d.TTL); err != nil {
		return err
	}
	if d.Reduce == nil {
		return configErr(d.Name, "ReducingDescriptor.Reduce is nil")
	}
	return nil
}

func (d *AggregatingDescriptor[In, Acc, Out]) validate() error {
	if err := validateCommon(d.Name, "AggregatingDescriptor", d.TTL); err != nil {
		return err
	}
	switch {
	case d.Create == nil:
		return configErr(d.Name, "AggregatingDescriptor.Create is nil")
	case d.Add == nil:
		return configErr(d.Name, "AggregatingDescriptor.Add is nil")
	case d.Result == nil:
		return configErr(d.Name, "AggregatingDescriptor.Result is nil")
	}
	return nil
}

func validateCommon(name, desc string, ttl TTLConfig) error {
	if name == "" {
		return configErr(name, "%s.Name is empty", desc)
	}
	return ttl.validate(name, desc)
}
