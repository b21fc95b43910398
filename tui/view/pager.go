package view

import (
	"context"

	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// pager pages outbox rows by keyset for a virtual table: page i starts after
// starts[i]; at most maxPages pages are cached, so a 10M-row outbox costs
// 8 bytes per page of start keys plus the cached pages, never all rows.
type pager struct {
	src      model.Source
	env      *env
	filter   monitor.Filter
	text     string
	pageSize int
	maxPages int

	starts  []int64
	pages   map[int][]monitor.Row
	loading map[int]bool
	end     bool // the last page in starts is known to be the last
	lastLen int  // rows on that last page when end
	loaded  bool // page 0 arrived at least once
	gen     int
	err     error
	changed func()
}

// newPager returns a pager over rows matching filter.
func newPager(src model.Source, e *env, filter monitor.Filter, changed func()) *pager {
	p := &pager{src: src, env: e, filter: filter, pageSize: 100, maxPages: 20, changed: changed}
	p.reset()
	return p
}

// reset forgets everything (new filter text).
func (p *pager) reset() {
	p.starts = []int64{0}
	p.pages = map[int][]monitor.Row{}
	p.loading = map[int]bool{}
	p.end, p.lastLen, p.loaded = false, 0, false
	p.gen++
}

// setText changes the text filter and reloads from the start.
func (p *pager) setText(text string) {
	p.text = text
	p.reset()
	p.fetch(0)
}

// count returns the rows the table shows: every row of known pages, and
// while the end is unknown one more page whose rows load on demand.
func (p *pager) count() int {
	if !p.loaded {
		return 0
	}
	if p.end {
		return (len(p.starts)-1)*p.pageSize + p.lastLen
	}
	return len(p.starts) * p.pageSize
}

// row returns row i, fetching its page when needed; ok is false while the
// page loads.
func (p *pager) row(i int) (monitor.Row, bool) {
	pg, off := i/p.pageSize, i%p.pageSize
	rows, ok := p.pages[pg]
	if !ok {
		p.fetch(pg)
		rows, ok = p.pages[pg]
		if !ok {
			return monitor.Row{}, false
		}
	}
	if off >= len(rows) {
		return monitor.Row{}, false
	}
	return rows[off], true
}

// refresh refetches the pages holding rows first..last (the ones on
// screen) and forgets the other cached pages: they reload when shown.
func (p *pager) refresh(first, last int) {
	p.gen++
	p.loading = map[int]bool{}
	lo, hi := max(first, 0)/p.pageSize, max(last, 0)/p.pageSize
	for pg := range p.pages {
		if pg < lo || pg > hi {
			delete(p.pages, pg)
		}
	}
	if len(p.pages) == 0 {
		p.fetch(min(lo, len(p.starts)-1))
		return
	}
	for pg := range p.pages {
		p.fetch(pg)
	}
}

// fetch loads page pg in the background unless it is loading or its start
// is unknown.
func (p *pager) fetch(pg int) {
	if pg >= len(p.starts) || p.loading[pg] {
		return
	}
	p.loading[pg] = true
	gen := p.gen
	params := monitor.OutboxListParams{After: p.starts[pg], Limit: p.pageSize, Filter: p.filter, Text: p.text}
	p.env.async(func() {
		rows, err := p.src.OutboxList(context.Background(), params)
		p.env.post(func() { p.arrived(gen, pg, params.After, rows, err) })
	})
}

// arrived stores a fetched page (on the UI goroutine).
func (p *pager) arrived(gen, pg int, after int64, rows []monitor.Row, err error) {
	if gen != p.gen || pg >= len(p.starts) || p.starts[pg] != after {
		return
	}
	delete(p.loading, pg)
	p.err = err
	if err != nil {
		return
	}
	p.loaded = true
	p.pages[pg] = rows
	if len(rows) < p.pageSize {
		p.end, p.lastLen = true, len(rows)
		p.truncate(pg + 1)
	} else {
		next := rows[len(rows)-1].SequenceID
		if pg+1 < len(p.starts) && p.starts[pg+1] != next {
			p.truncate(pg + 1)
		}
		if pg+1 == len(p.starts) {
			p.starts = append(p.starts, next)
			p.end = false
		}
	}
	p.evict(pg)
	if p.changed != nil {
		p.changed()
	}
}

// truncate forgets pages from n on.
func (p *pager) truncate(n int) {
	if n < len(p.starts) {
		p.starts = p.starts[:n]
	}
	for pg := range p.pages {
		if pg >= n {
			delete(p.pages, pg)
		}
	}
}

// evict drops the cached pages farthest from pg beyond maxPages.
func (p *pager) evict(pg int) {
	for len(p.pages) > p.maxPages {
		far, dist := -1, -1
		for k := range p.pages {
			if d := abs(k - pg); d > dist {
				far, dist = k, d
			}
		}
		delete(p.pages, far)
	}
}

// abs is |x|.
func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
