package ablylocal

import (
	"net/http"
	"sync"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/localdebug"
)

// acceptLog is a bounded ring of localdebug.MessageRecords; the zero value is ready.
type acceptLog struct {
	mu   sync.Mutex
	ring []localdebug.MessageRecord
	next int
}

// record notes a delivery frame's messages with client-chosen ids.
func (l *acceptLog) record(channel string, f *outFrame, delivered int) {
	now := time.Now().UTC() // finer than the message's millisecond timestamp
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range f.msgs {
		if !m.idGiven {
			continue
		}
		r := localdebug.MessageRecord{ID: m.ID, Channel: channel, Accepted: now,
			ConnectionID: f.ConnectionID, Serial: m.Serial, Delivered: delivered}
		if len(l.ring) < localdebug.Size {
			l.ring = append(l.ring, r)
			continue
		}
		l.ring[l.next] = r
		l.next = (l.next + 1) % localdebug.Size
	}
}

// find returns the records of id (on channel when not empty), oldest first.
func (l *acceptLog) find(id, channel string) []localdebug.MessageRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []localdebug.MessageRecord{}
	for k := 0; k < len(l.ring); k++ {
		r := l.ring[(l.next+k)%len(l.ring)]
		if r.ID == id && (channel == "" || r.Channel == channel) {
			out = append(out, r)
		}
	}
	return out
}

// debugMessages serves localdebug.MessagesPath (a route real Ably does not have); segs are the path's segments.
func (q *restReq) debugMessages(segs []string) {
	if q.isToken {
		q.fail(newErr(40160, 401, "the local debug route "+localdebug.MessagesPath+" needs the API key (Basic auth), not a token"))
		return
	}
	if q.r.Method != http.MethodGet || len(segs) != 3 || segs[1] != "messages" || segs[2] == "" {
		q.fail(newErr(40400, 404, "no such debug route: "+q.r.Method+" "+q.r.URL.Path+" (the local endpoint serves GET "+localdebug.MessagesPath+"/{id}?channel=NAME)"))
		return
	}
	q.reply(http.StatusOK, localdebug.MessagesReply{Size: localdebug.Size, Records: q.s.accepted.find(segs[2], q.r.URL.Query().Get("channel"))}, "")
}
