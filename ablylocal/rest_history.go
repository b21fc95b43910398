package ablylocal

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// historyQuery is a parsed history request (§5.4).
type historyQuery struct {
	start, end int64 // inclusive ms bounds; end 0 = none
	limit      int
	forwards   bool
	until      uint64 // untilAttach bound (fromSerial); 0 = none
	hasUntil   bool
	cursor     uint64
	hasCursor  bool
}

// parseHistoryQuery validates the history query parameters.
func (s *Server) parseHistoryQuery(v url.Values) (historyQuery, *errorInfo) {
	h := historyQuery{limit: 100}
	intParam := func(name string) (int64, bool, *errorInfo) {
		raw := v.Get(name)
		if raw == "" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			return 0, false, newErr(40003, 400, "invalid "+name+" "+strconv.Quote(raw)+": expected a non-negative integer")
		}
		return n, true, nil
	}
	var err *errorInfo
	if h.start, _, err = intParam("start"); err != nil {
		return h, err
	}
	if h.end, _, err = intParam("end"); err != nil {
		return h, err
	}
	if h.end != 0 && h.start > h.end {
		return h, newErr(40003, 400, "start "+v.Get("start")+" is after end "+v.Get("end"))
	}
	if n, ok, err := intParam("limit"); err != nil {
		return h, err
	} else if ok {
		if n < 1 || n > 1000 {
			return h, newErr(40003, 400, "invalid limit "+v.Get("limit")+": use 1 to 1000")
		}
		h.limit = int(n)
	}
	switch v.Get("direction") {
	case "", "backwards":
	case "forwards":
		h.forwards = true
	default:
		return h, newErr(40003, 400, "invalid direction "+strconv.Quote(v.Get("direction"))+": use backwards or forwards")
	}
	if fs := firstNonEmpty(v.Get("fromSerial"), v.Get("from_serial")); fs != "" {
		seq, ok := s.parseSerial(fs)
		if !ok {
			return h, newErr(40003, 400, "invalid fromSerial "+strconv.Quote(fs)+": not a serial issued by this endpoint (it may have restarted); re-attach the channel")
		}
		h.until, h.hasUntil = seq, true
	}
	if c := v.Get("cursor"); c != "" {
		n, perr := strconv.ParseUint(strings.TrimPrefix(c, "c"), 10, 64)
		if perr != nil || !strings.HasPrefix(c, "c") {
			return h, newErr(40003, 400, "invalid cursor "+strconv.Quote(c))
		}
		h.cursor, h.hasCursor = n, true
	}
	return h, nil
}

// selectHistory returns one page and the cursor of the next page.
func (ch *channel) selectHistory(h historyQuery) ([]*message, uint64, bool) {
	match := func(m *message) bool {
		if h.hasUntil && m.seq > h.until {
			return false
		}
		if h.start != 0 && m.Timestamp < h.start {
			return false
		}
		if h.end != 0 && m.Timestamp > h.end {
			return false
		}
		return true
	}
	var page []*message
	if h.forwards {
		for _, m := range ch.history {
			if (h.hasCursor && m.seq < h.cursor) || !match(m) {
				continue
			}
			if len(page) == h.limit {
				return page, m.seq, true
			}
			page = append(page, m)
		}
		return page, 0, false
	}
	for i := len(ch.history) - 1; i >= 0; i-- {
		m := ch.history[i]
		if (h.hasCursor && m.seq > h.cursor) || !match(m) {
			continue
		}
		if len(page) == h.limit {
			return page, m.seq, true
		}
		page = append(page, m)
	}
	return page, 0, false
}

// history handles GET /channels/{name}/messages and /history.
func (q *restReq) history(name, last string) {
	if e := validateChannelName(name); e != nil {
		q.fail(e)
		return
	}
	if !q.ident.Capability.Allows(name, "history") {
		q.fail(newErr(40160, 401, "history of channel "+strconv.Quote(name)+" denied: the capability lacks \"history\" for it"))
		return
	}
	v := q.r.URL.Query()
	h, err := q.s.parseHistoryQuery(v)
	if err != nil {
		q.fail(err)
		return
	}
	var page []*message
	var next uint64
	var more bool
	if ch := q.s.lookupChannel(name); ch != nil {
		ch.mu.Lock()
		ch.prune(q.s.now(), q.s.opts.HistoryLimit, q.s.opts.HistoryTTL)
		page, next, more = ch.selectHistory(h)
		ch.mu.Unlock()
	}
	items := make([]outMessage, len(page))
	for i, m := range page {
		items[i] = wireMessage(m, q.out)
	}
	nextCursor := ""
	if more {
		nextCursor = "c" + strconv.FormatUint(next, 10)
	}
	q.reply(http.StatusOK, items, pageLinks(last, v, nextCursor))
}

// pageLinks builds the Link lines ("./<last>?query") for a paginated
// response: first, current and, when next is not empty, next.
func pageLinks(last string, v url.Values, next string) string {
	keep := url.Values{}
	for k, vals := range v {
		switch k {
		case "cursor", "envelope", "key", "access_token":
			continue
		}
		keep[k] = vals
	}
	link := func(cursor, rel string) string {
		p := url.Values{}
		for k, vals := range keep {
			p[k] = vals
		}
		if cursor != "" {
			p.Set("cursor", cursor)
		}
		return "<./" + last + "?" + p.Encode() + ">; rel=\"" + rel + "\""
	}
	lines := []string{link("", "first"), link(v.Get("cursor"), "current")}
	if next != "" {
		lines = append(lines, link(next, "next"))
	}
	return strings.Join(lines, "\n")
}
