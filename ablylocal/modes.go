package ablylocal

import (
	"sort"
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// Channel mode bits beyond the four core modes (§2.3).
const (
	flagAnnotationPublish   int64 = 1 << 21
	flagAnnotationSubscribe int64 = 1 << 22
	flagObjectSubscribe     int64 = 1 << 24
	flagObjectPublish       int64 = 1 << 25
)

// modeNames maps the names of the `modes` channel param (and of the SDKs'
// ChannelMode values, lower-cased) to their flag bits.
var modeNames = map[string]int64{
	"presence":             flagPresence,
	"publish":              flagPublish,
	"subscribe":            flagSubscribe,
	"presence_subscribe":   flagPresenceSubscribe,
	"annotation_publish":   flagAnnotationPublish,
	"annotation_subscribe": flagAnnotationSubscribe,
	"object_subscribe":     flagObjectSubscribe,
	"object_publish":       flagObjectPublish,
}

// opModes maps capability operations to the channel modes they permit.
var opModes = map[string]int64{
	"subscribe":            flagSubscribe | flagPresenceSubscribe,
	"publish":              flagPublish,
	"presence":             flagPresence,
	"annotation-publish":   flagAnnotationPublish,
	"annotation-subscribe": flagAnnotationSubscribe,
	"object-subscribe":     flagObjectSubscribe,
	"object-publish":       flagObjectPublish,
}

// allowedModes returns the channel modes a capability permits on a channel.
func allowedModes(capab auth.Capability, channel string) int64 {
	var m int64
	for op := range capab.Ops(channel) {
		m |= opModes[op]
	}
	return m
}

// parseModesParam parses the `modes` channel param: a comma-separated list
// of mode names ("subscribe,presence_subscribe").
func parseModesParam(v string) (int64, *errorInfo) {
	var m int64
	for _, name := range strings.Split(v, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		bit, ok := modeNames[name]
		if !ok {
			names := make([]string, 0, len(modeNames))
			for n := range modeNames {
				names = append(names, n)
			}
			sort.Strings(names)
			return 0, newErr(40000, 400, "invalid channel param modes="+strconv.Quote(v)+": unknown mode "+strconv.Quote(name)+" (use a comma-separated list of "+strings.Join(names, ", ")+")")
		}
		m |= bit
	}
	return m, nil
}

// attachModes works out an ATTACH's effective modes (§3.1): the requested
// modes (flag bits, else the `modes` param, else the four core defaults)
// intersected with what the capability permits. It also returns the params
// ATTACHED echoes: only those the endpoint recognised and applied (rewind,
// modes); delta and anything unknown are left out.
func attachModes(f *inFrame, capab auth.Capability, name string) (int64, map[string]string, *errorInfo) {
	echo := map[string]string{}
	requested := f.Flags & modeMask
	if v, ok := f.Params["modes"]; ok {
		m, err := parseModesParam(v)
		if err != nil {
			return 0, nil, err
		}
		if requested == 0 {
			requested = m
		}
		echo["modes"] = v
	}
	if requested == 0 {
		requested = defaultModes
	}
	if rw, ok := f.Params["rewind"]; ok {
		echo["rewind"] = rw
	}
	if len(echo) == 0 {
		echo = nil
	}
	return requested & allowedModes(capab, name), echo, nil
}

// modeError is the error for an operation the attachment's modes do not
// include although the capability allows it: 40165, as Ably documents
// ("channel mode not requested when attaching").
func modeError(op, mode, channel string) *errorInfo {
	return newErr(40165, 401, "unable to "+op+" on channel "+strconv.Quote(channel)+": the client did not request the "+mode+" channel mode when it attached; attach with that mode (or with the default modes)")
}
