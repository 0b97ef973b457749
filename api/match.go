package api

import (
	"context"
	"slices"
)

// matching returns the positions of the providers that match fl, in the
// order of keys. The result is cached per view under key (the filter's
// text and the order), so that paging through one query costs the page,
// not a scan of every provider. The scan stops with ctx's error when the
// client goes away; a cut-short scan is not cached.
func (v *view) matching(ctx context.Context, key string, fl filter, keys []orderKey) ([]int32, error) {
	return v.memo(v.matches, maxCachedQueries, key, func() ([]int32, error) {
		match := fl.bind(v)
		perm := v.order(keys)
		m := make([]int32, 0, len(v.entries))
		for k := range v.entries {
			if k%cancelCheckEvery == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			i := int32(k)
			if perm != nil {
				i = perm[k]
			}
			if match == nil || match(int(i)) {
				m = append(m, i)
			}
		}
		return slices.Clip(m), nil
	})
}

// cancelCheckEvery is how many providers a filter scan matches between
// two looks at the request's context.
const cancelCheckEvery = 64
