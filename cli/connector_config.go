package cli

import (
	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/connector/postgres"
)

// connectorTuning maps livesync.yaml's connector section onto connector
// options; the caller sets the database, the endpoint and the event bus.
func connectorTuning(cfg *config.Config) postgres.Options {
	c := cfg.Connector
	return postgres.Options{
		Names:                    names(cfg),
		PollInterval:             c.PollInterval,
		PollFixedRate:            c.PollFixedRate,
		SafetyPoll:               c.SafetyPoll,
		Debounce:                 c.Debounce,
		HeartbeatTimeout:         c.HeartbeatTimeout,
		LockTTL:                  c.LockTTL,
		LazyFence:                c.LazyFence,
		BatchSize:                c.BatchSize,
		RetryMin:                 c.Retry.Min,
		RetryMax:                 c.Retry.Max,
		CompletionFlush:          c.CompletionFlush,
		StatementTimeout:         c.StatementTimeout,
		LockTimeout:              c.LockTimeout,
		IdleInTransactionTimeout: c.IdleInTransactionTimeout,
		PermanentCodes:           append([]int(nil), c.PermanentCodes...),
		RetainProcessed:          c.RetainProcessed,
		PublishMode:              c.PublishMode,
		HealthAddr:               c.HealthAddr,
		Nodes:                    c.Nodes,
	}
}
