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

// push appends an item, waiting while the queue is full.
func (q *queue) push(it item) {
	q.mu.Lock()
	for !q.closed && len(q.items) > 0 && (q.bytes+len(it.data) > q.limit || len(q.items) >= 4096) {
		q.cond.Wait()
	}
	q.items = append(q.items, it)
	q.bytes += len(it.data)
	q.mu.Unlock()
	q.cond.Broadcast()
}

// close wakes the writer: it gets what is queued and then ok=false.
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
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		q.mu.Unlock()
		return dst[:0], false
	}
	dst = append(dst[:0], q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.bytes = 0
	q.mu.Unlock()
	q.cond.Broadcast()
	return dst, true
}
