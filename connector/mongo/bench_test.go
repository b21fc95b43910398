package mongo

import (
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/connector"
)

// BenchmarkPublishThroughput measures events/s from the stream seam through
// mapping and the real publisher to the local endpoint (one ACK awaited per
// event, as the connector publishes in stream order). Compare with the
// performance anchor's ≥ 2,000 docs/s goal for a single-node replica set.
func BenchmarkPublishThroughput(b *testing.B) {
	e := newEnv(b)
	c := e.start(b, e.options())
	waitState(b, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	events := make([]bson.Raw, b.N)
	for i := range events {
		events[i] = routed(b, i+1, fmt.Sprintf("bench-%d", i%10))
	}
	b.ResetTimer()
	start := time.Now()
	e.log.add(events...)
	waitState(b, c, "all published", func(s connector.MongoState) bool { return s.Published == int64(b.N) })
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
