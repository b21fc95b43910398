package ablylocal

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
)

// BenchmarkFanout publishes b.N messages from one ably-go client to 10
// ably-go subscribers on one channel and reports delivered messages per
// second (goal ≥ 20,000).
func BenchmarkFanout(b *testing.B) {
	for _, binary := range []bool{true, false} {
		b.Run(map[bool]string{true: "msgpack", false: "json"}[binary], func(b *testing.B) {
			s := startServer(b, Options{})
			const subs = 10
			name := "bench"
			var delivered atomic.Int64
			done := make(chan struct{})
			want := int64(0)
			for i := 0; i < subs; i++ {
				c, _ := newRealtime(b, clientOpts(s, binary)...)
				_, err := c.Channels.Get(name).SubscribeAll(ctxT(b), func(*ably.Message) {
					if delivered.Add(1) == atomic.LoadInt64(&want) {
						close(done)
					}
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			pub, _ := newRealtime(b, clientOpts(s, binary)...)
			ch := pub.Channels.Get(name)
			atomic.StoreInt64(&want, int64(b.N*subs))
			window := make(chan struct{}, 256) // publishes in flight
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				window <- struct{}{}
				err := ch.PublishAsync("tick", fmt.Sprint(`{"seq":`, i, `}`), func(err error) {
					<-window
					if err != nil {
						b.Error(err)
					}
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				b.Fatalf("delivered %d of %d", delivered.Load(), b.N*subs)
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(delivered.Load())/el.Seconds(), "delivered/s")
		})
	}
}
