package feed

import (
	"sync"
	"testing"
)

func TestSubscribeGetsLastAtOnceThenLatest(t *testing.T) {
	var f Feed[int]
	empty := f.Subscribe()
	defer empty.Close()
	select {
	case v := <-empty.C():
		t.Fatalf("got %d before any Publish", v)
	default:
	}
	f.Publish(1)
	sub := f.Subscribe()
	if v := <-sub.C(); v != 1 {
		t.Fatalf("at subscribe: got %d, want 1", v)
	}
	for v := 2; v <= 5; v++ { // a reader that does not read
		f.Publish(v)
	}
	if v := <-sub.C(); v != 5 {
		t.Fatalf("slow reader: got %d, want the latest 5", v)
	}
	if v, ok := f.Last(); v != 5 || !ok {
		t.Fatalf("Last = %d, %v", v, ok)
	}
	sub.Close()
	f.Publish(6)
	select {
	case v := <-sub.C():
		t.Fatalf("got %d after Close", v)
	default:
	}
}

// TestConcurrentPublishEndsWithLatest: readers racing writers never block a
// Publish and always end up with the last value.
func TestConcurrentPublishEndsWithLatest(t *testing.T) {
	var f Feed[int]
	subs := []*Subscription[int]{f.Subscribe(), f.Subscribe()}
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range s.C() {
				if v == 1000 {
					return
				}
			}
		}()
	}
	for v := 1; v <= 1000; v++ {
		f.Publish(v)
	}
	wg.Wait()
}
