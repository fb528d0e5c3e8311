package logfwd

import "sync"

// queue hands formatted lines from the journal reader to the stdout writer. It is bounded in
// bytes: when stdout blocks, push blocks, the reader stops reading and the journal (not this
// process) holds what was not written yet. One item larger than the bound is still accepted
// when the queue is empty, so nothing is ever dropped.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []item
	bytes  int
	limit  int
	closed bool
	// waiters count goroutines in cond.Wait, so push only wakes when someone sleeps: a
	// broadcast per entry would cost more than the entry.
	waiters int
}

// item is one entry's output (possibly empty when filtered out) and its cursor.
type item struct {
	data   []byte
	cursor string
}

func newQueue(limit int) *queue {
	q := &queue{limit: limit}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push appends an item, waiting while the queue is full. It returns false once the queue is
// closed (the writer is gone): the item is not queued.
func (q *queue) push(it item) bool {
	q.mu.Lock()
	for !q.closed && len(q.items) > 0 && (q.bytes+len(it.data) > q.limit || len(q.items) >= 4096) {
		q.waiters++
		q.cond.Wait()
		q.waiters--
	}
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, it)
	q.bytes += len(it.data)
	wake := q.waiters > 0
	q.mu.Unlock()
	if wake {
		q.cond.Broadcast()
	}
	return true
}

// close wakes the writer (it gets what is queued and then ok=false) and a waiting push.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// popAll waits for items and moves all of them into dst (reused); ok is false once the
// queue is closed and empty.
func (q *queue) popAll(dst []item) ([]item, bool) {
	q.mu.Lock()
	for len(q.items) == 0 && !q.closed {
		q.waiters++
		q.cond.Wait()
		q.waiters--
	}
	if len(q.items) == 0 {
		q.mu.Unlock()
		return dst[:0], false
	}
	dst = append(dst[:0], q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.bytes = 0
	wake := q.waiters > 0
	q.mu.Unlock()
	if wake {
		q.cond.Broadcast()
	}
	return dst, true
}
