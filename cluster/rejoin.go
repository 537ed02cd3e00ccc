package cluster

import (
	"slices"
	"time"
)

// tryJoin contacts the seeds one by one, stopping early if Close has
// begun, and returns those that did not answer. Memberlist's Join takes
// no context: one seed that does not answer holds it for up to
// Timing.TCPTimeout.
func (m *Membership) tryJoin(seeds []string) (unanswered []string) {
	for i, seed := range seeds {
		select {
		case <-m.done:
			return append(unanswered, seeds[i:]...)
		default:
		}
		if _, err := m.ml.Join([]string{seed}); err != nil {
			m.log.Debug("cluster: seed did not answer", "seed", seed, "err", err)
			unanswered = append(unanswered, seed)
		}
	}
	return unanswered
}

// rejoinLoop contacts again, every interval until Leave or Close, the
// seeds that have never answered, and all of them while this node sees no
// other member. Memberlist itself never retries a seed. Retrying only
// while alone is not enough: nodes started together with different seeds
// (b joining a, c joining b) form separate clusters when b tries a before
// a listens and c then joins b. Retrying every seed until it has answered
// once merges the clusters whenever the seed lists connect all nodes; a
// seed that never comes back costs one failed connection per interval.
func (m *Membership) rejoinLoop(interval time.Duration, pending []string) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
		}
		if m.left.Load() {
			return
		}
		targets := pending
		if m.ml.NumMembers() <= 1 {
			targets = m.join
		}
		if len(targets) == 0 {
			continue
		}
		unanswered := m.tryJoin(targets)
		pending = slices.DeleteFunc(pending, func(s string) bool {
			if slices.Contains(unanswered, s) {
				return false
			}
			m.log.Info("cluster: seed answered", "seed", s)
			return true
		})
	}
}
