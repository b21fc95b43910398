package ablylocal

import (
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// activeWindow is how long a channel without attachments stays active
// after its last publish or attach.
const activeWindow = 2 * time.Minute

// occupancyMetrics is ChannelDetails.status.occupancy.metrics.
type occupancyMetrics struct {
	Connections         int `json:"connections" msgpack:"connections"`
	PresenceConnections int `json:"presenceConnections" msgpack:"presenceConnections"`
	PresenceMembers     int `json:"presenceMembers" msgpack:"presenceMembers"`
	PresenceSubscribers int `json:"presenceSubscribers" msgpack:"presenceSubscribers"`
	Publishers          int `json:"publishers" msgpack:"publishers"`
	Subscribers         int `json:"subscribers" msgpack:"subscribers"`
}

// channelDetails is the ChannelDetails object (GET /channels/{name}).
type channelDetails struct {
	ChannelID string `json:"channelId" msgpack:"channelId"`
	Status    struct {
		IsActive  bool `json:"isActive" msgpack:"isActive"`
		Occupancy struct {
			Metrics occupancyMetrics `json:"metrics" msgpack:"metrics"`
		} `json:"occupancy" msgpack:"occupancy"`
	} `json:"status" msgpack:"status"`
}

// details computes a channel's ChannelDetails; ch may be nil.
func (s *Server) details(name string, ch *channel) channelDetails {
	var d channelDetails
	d.ChannelID = name
	if ch == nil {
		return d
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	m := &d.Status.Occupancy.Metrics
	for _, modes := range ch.attached {
		m.Connections++
		if modes&flagPublish != 0 {
			m.Publishers++
		}
		if modes&flagSubscribe != 0 {
			m.Subscribers++
		}
		if modes&flagPresence != 0 {
			m.PresenceConnections++
		}
		if modes&flagPresenceSubscribe != 0 {
			m.PresenceSubscribers++
		}
	}
	m.PresenceMembers = len(ch.members)
	d.Status.IsActive = len(ch.attached) > 0 || s.now().Sub(ch.lastActive) < activeWindow
	return d
}

// channelStatus handles GET /channels/{name}.
func (q *restReq) channelStatus(name string) {
	if e := validateChannelName(name); e != nil {
		q.fail(e)
		return
	}
	if !q.ident.Capability.Allows(name, "channel-metadata") {
		q.fail(newErr(40160, 401, "status of channel "+strconv.Quote(name)+" denied: the capability lacks \"channel-metadata\" for it"))
		return
	}
	q.reply(http.StatusOK, q.s.details(name, q.s.lookupChannel(name)), "")
}

// listChannels handles GET /channels?prefix=&limit=&by=id|value.
func (q *restReq) listChannels() {
	v := q.r.URL.Query()
	limit := 100
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			q.fail(newErr(40003, 400, "invalid limit "+strconv.Quote(l)+": use 1 to 1000"))
			return
		}
		limit = n
	}
	by := v.Get("by")
	if by != "" && by != "id" && by != "value" {
		q.fail(newErr(40003, 400, "invalid by "+strconv.Quote(by)+": use id or value"))
		return
	}
	after := ""
	if c := v.Get("cursor"); c != "" {
		b, err := hex.DecodeString(c)
		if err != nil {
			q.fail(newErr(40003, 400, "invalid cursor "+strconv.Quote(c)))
			return
		}
		after = string(b)
	}
	prefix := v.Get("prefix")
	q.s.mu.Lock()
	all := make(map[string]*channel, len(q.s.channels))
	for n, ch := range q.s.channels {
		if strings.HasPrefix(n, prefix) && (after == "" || n > after) && q.ident.Capability.Allows(n, "channel-metadata") {
			all[n] = ch
		}
	}
	q.s.mu.Unlock()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	var ids []string
	var vals []channelDetails
	more := false
	for _, n := range names {
		d := q.s.details(n, all[n])
		if !d.Status.IsActive {
			continue
		}
		if len(ids) == limit {
			more = true
			break
		}
		ids = append(ids, n)
		vals = append(vals, d)
	}
	next := ""
	if more {
		next = hex.EncodeToString([]byte(ids[len(ids)-1]))
	}
	links := pageLinks("channels", v, next)
	if by == "id" {
		if ids == nil {
			ids = []string{}
		}
		q.reply(http.StatusOK, ids, links)
		return
	}
	if vals == nil {
		vals = []channelDetails{}
	}
	q.reply(http.StatusOK, vals, links)
}
