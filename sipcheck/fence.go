package sipcheck

import "time"

// Fence stops every bind-mode registration at once: no trunk of this
// prober sends a binding REGISTER after Fence returned. Each bound trunk's
// refresh timer is stopped and its registration check under way is
// cancelled (Fence waits for that check, which sends nothing more once
// cancelled); pings and query-mode checks go on. It may be called from any
// goroutine and never waits for Run, which may be busy stopping trunks;
// calling it again does no harm. The bindings are removed (Expires: 0)
// afterwards, when Run follows the fenced ownership and restarts the
// trunks. The prober binds nothing until Run receives an ownership that is
// not fenced after the last Fence; without Options.Ownership it stays
// fenced.
func (p *Prober) Fence() {
	p.mu.Lock()
	p.fenced = true
	p.fenceSeq++
	var ts []*trunk
	for _, t := range p.trunks {
		if t.bind {
			ts = append(ts, t)
		}
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.stopRefresh()
	}
	for _, t := range ts {
		t.regWG.Wait() // the cancelled check, if one was under way, has ended
	}
	p.log.Warn("probe fenced: bind-mode registrations stopped", "trunks", len(ts))
}

// unfence lifts the prober's fence when no Fence came after seq (the
// fence count when Run received an ownership that is not fenced). Run's
// goroutine only.
func (p *Prober) unfence(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fenceSeq == seq {
		p.fenced = false
	}
}

// fenceState returns whether the prober is fenced and how many Fence calls
// came so far.
func (p *Prober) fenceState() (fenced bool, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fenced, p.fenceSeq
}

// stopRefresh fences the trunk's registration: its timer is stopped, the
// check under way is cancelled and none runs again (the trunk restarts to
// register again). Its pings go on.
func (t *trunk) stopRefresh() {
	t.mu.Lock()
	t.regFenced = true
	if t.regTimer != nil {
		t.regTimer.Stop()
	}
	t.reg.nextCheck = time.Time{}
	t.mu.Unlock()
	t.regCancel()
}

// refreshStopped reports whether stopRefresh ran.
func (t *trunk) refreshStopped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.regFenced
}
