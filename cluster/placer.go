package cluster

import "github.com/troupe-dev/troupe/actors"

// placer places one job run's slots on the task managers of the live
// members, for its master (actors.Placer). The first attempt takes the
// slots the service reserved when it admitted the job; a later attempt
// (a restart) gives them back and is placed again over the members alive
// then, so a restart after a node's loss runs on the survivors.
type placer struct {
	svc   *jobService
	run   string
	first []NodeMeta // reserved at admission; used once
}

var _ actors.Placer = (*placer)(nil)

// Place is called by the job's master before each deploy, on the
// master's goroutine; it takes the service's lock.
func (p *placer) Place(run string, attempt, slots int) ([]actors.Slot, error) {
	s := p.svc
	s.mu.Lock()
	defer s.mu.Unlock()
	nodes := p.first
	p.first = nil
	if nodes == nil || len(nodes) != slots {
		s.slots.release(p.run)
		var err error
		if nodes, err = s.slots.place(p.run, slots, s.liveMembers()); err != nil {
			return nil, err
		}
	}
	out := make([]actors.Slot, len(nodes))
	for i, m := range nodes {
		out[i] = actors.Slot{Node: m.Name, TaskManager: actors.TaskManagerPID(m.ActorAddr)}
	}
	return out, nil
}

// Release is called once an attempt's agents are gone. The slots stay
// reserved for the run until it ends (the service frees them then) or is
// placed again, so that a restart finds them.
func (p *placer) Release(string, int) {}
