package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/connector"
)

// publishParams say what the publish ceiling sends.
type publishParams struct {
	pool              *pgxpool.Pool // only to read the backlog rows' shape
	ablyAddr, ablyKey string
	rows, channels    int
	connections       int
	endpointPID       int
	progress          func(done int64)
}

// publishCeiling sends the backlog's rows (backlogRowsSQL as Postgres
// returns them, not inserted) through the connector's own Publisher (its
// connection spread, one unacknowledged publish per channel, as the
// connector keeps a channel in order) from this process to the sandbox's
// endpoint: the publishing half of the drain, no database while it runs.
// Next to the raw database ceiling it shows which half a drain is closer to.
func publishCeiling(ctx context.Context, p publishParams) (PublishCeiling, error) {
	res := PublishCeiling{Rows: p.rows, Connections: p.connections}
	pub, err := connector.NewPublisher(connector.PublisherOptions{
		ClientOptions: ablylocal.ClientOptions(p.ablyAddr, p.ablyKey), Connections: p.connections})
	if err != nil {
		return res, fmt.Errorf("publish ceiling: %w", err)
	}
	defer pub.Close()
	upCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = pub.AwaitConnected(upCtx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, fmt.Errorf("publish ceiling: the endpoint's connections did not come up in 15 s (state %s)", pub.ConnState())
	}
	// Each channel gets its share of the rows in order, as a channel's
	// worker publishes its queue: the next only after the ACK.
	rows, err := backlogRows(ctx, p.pool, "pub-", p.rows, p.channels)
	if err != nil {
		return res, fmt.Errorf("publish ceiling: %w", err)
	}
	byChannel := map[string][]connector.Row{}
	for _, r := range rows {
		byChannel[r.Channel] = append(byChannel[r.Channel], r)
	}
	var (
		mu    sync.Mutex
		done  int64
		first error
		wg    sync.WaitGroup
	)
	cpu0, ep0 := cpuSeconds(os.Getpid()), cpuSeconds(p.endpointPID)
	start := time.Now()
	for _, q := range byChannel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acked := make(chan error, 1)
			for _, r := range q {
				msg, _ := connector.Message(r)
				pub.Publish(ctx, r.Channel, msg, func(err error) { acked <- err })
				err := <-acked
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("publish ceiling: row %d on %s: %w", r.SequenceID, r.Channel, err)
				}
				done++
				n, failed := done, first != nil
				mu.Unlock()
				if failed {
					return
				}
				if n%1000 == 0 && p.progress != nil {
					p.progress(n)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if first != nil {
		return res, first
	}
	res.Seconds = round(took.Seconds(), 3)
	res.RowsPerSec = round(float64(p.rows)/took.Seconds(), 1)
	res.PublisherCPUSeconds = round(cpuSeconds(os.Getpid())-cpu0, 2)
	res.EndpointCPUSeconds = round(cpuSeconds(p.endpointPID)-ep0, 2)
	return res, nil
}
