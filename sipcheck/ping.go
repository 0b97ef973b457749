package sipcheck

import (
	"context"
)

// pingCheck sends one ping per pingmode to pingsrv or the current target.
func (t *trunk) pingCheck(ctx context.Context) pingOutcome {
	t.mu.Lock()
	tg := t.currentPingTarget()
	t.mu.Unlock()
	if t.sp.pingMode == "rn" {
		a, sentOnly := t.eng.crlf(ctx, tg, t.pingLimit)
		return classifyCRLF(a, sentOnly, tg)
	}
	req := buildOptions(optionsRequest{target: tg, user: t.sp.aorUser, localDomain: t.sp.localDomain,
		domain: t.sp.domain, ourHost: t.eng.advHost, userAgent: t.eng.userAgent})
	return classifyOptions(t.eng.do(ctx, req, tg, t.pingLimit), tg, &t.set.alive)
}
