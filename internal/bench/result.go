package bench

// Result is the one JSON document `livesync-dev bench --json` prints.
type Result struct {
	// Date is when the run started (UTC, RFC 3339).
	Date string `json:"date"`
	// Machine describes where it ran; load averages show a noisy machine.
	Machine Machine `json:"machine"`
	// Config is what was measured.
	Config Config `json:"config"`
	// Drain is the backlog drain against the raw database ceiling.
	Drain Drain `json:"drain"`
	// Latency is commit → subscriber under a steady single-row load.
	Latency Latency `json:"latency"`
	// Memory is the connector process's memory.
	Memory Memory `json:"memory"`
	// CPU is the CPU time each process used during the drain.
	CPU CPU `json:"cpu"`
	// Stages are the connector's histograms observed per phase.
	Stages []Stage `json:"stages"`
	// Profile lists the profiles written with --profile (absent otherwise).
	Profile *Profile `json:"profile,omitempty"`
}

// Machine describes the host.
type Machine struct {
	// CPUs is the number of logical CPUs.
	CPUs int `json:"cpus"`
	// LoadAvgStart and LoadAvgEnd are the 1-minute load averages.
	LoadAvgStart float64 `json:"loadAvgStart"`
	LoadAvgEnd   float64 `json:"loadAvgEnd"`
}

// Config is the run's parameters.
type Config struct {
	// Rows is the backlog size (--rows).
	Rows int `json:"rows"`
	// Channels is how many channels the backlog spreads over (--channels).
	Channels int `json:"channels"`
	// Nodes is the number of connector nodes (--nodes).
	Nodes int `json:"nodes"`
	// BatchSize is the connector's claim batch, also the ceiling loop's.
	BatchSize int `json:"batchSize"`
	// Backend is the sandbox's Postgres backend (native, compose, embedded).
	Backend string `json:"backend"`
	// Settings are the connector.* keys set with --set (absent: defaults).
	Settings map[string]string `json:"settings,omitempty"`
	// Profiling is true when the connector ran with --pprof (slightly slower).
	Profiling bool `json:"profiling"`
}

// Drain is the backlog drain.
type Drain struct {
	// Rows is the backlog size.
	Rows int `json:"rows"`
	// Seconds runs from starting `connector run` until no row is unprocessed.
	Seconds float64 `json:"seconds"`
	// StartupMs is the part of Seconds until every node had registered.
	StartupMs float64 `json:"startupMs"`
	// RowsPerSec is Rows / Seconds.
	RowsPerSec float64 `json:"rowsPerSec"`
	// CeilingRowsPerSec is the raw claim+delete loop on the same database
	// and backlog size, batch size as the connector, no publishing.
	CeilingRowsPerSec float64 `json:"ceilingRowsPerSec"`
	// CeilingSeconds is how long that loop took.
	CeilingSeconds float64 `json:"ceilingSeconds"`
	// CeilingPostgresCPUSeconds is the CPU Postgres used during that loop
	// (compare cpu.postgresSeconds, the drain's).
	CeilingPostgresCPUSeconds float64 `json:"ceilingPostgresCpuSeconds"`
	// Ratio is RowsPerSec / CeilingRowsPerSec.
	Ratio float64 `json:"ratio"`
	// PublishCeiling is the other half without the database: the same
	// number of rows published through the connector's publisher alone.
	PublishCeiling PublishCeiling `json:"publishCeiling"`
	// CPUBoundRowsPerSec is the most the machine could drain if the drain
	// cost no CPU beyond the two ceilings' own work: Machine.CPUs × Rows /
	// (the publish ceiling's publisher and endpoint CPU + the database
	// ceiling's Postgres CPU), every core busy. The ceilings' database
	// client is left out, so it is an upper bound; 0 when a CPU figure was 0.
	CPUBoundRowsPerSec float64 `json:"cpuBoundRowsPerSec"`
	// CPUBoundRatio is RowsPerSec / CPUBoundRowsPerSec: below 1 by the CPU
	// the drain spends beyond the ceilings' work (locks, order, fencing,
	// completion, scheduling) and by the time its cores stand idle.
	CPUBoundRatio float64 `json:"cpuBoundRatio"`
}

// cpuBound is Drain.CPUBoundRowsPerSec for rows on cpus cores.
func cpuBound(rows, cpus int, d Drain) float64 {
	cpu := d.PublishCeiling.PublisherCPUSeconds + d.PublishCeiling.EndpointCPUSeconds + d.CeilingPostgresCPUSeconds
	if d.PublishCeiling.PublisherCPUSeconds <= 0 || d.PublishCeiling.EndpointCPUSeconds <= 0 || d.CeilingPostgresCPUSeconds <= 0 {
		return 0
	}
	return float64(cpus) * float64(rows) / cpu
}

// PublishCeiling is the backlog's rows published from the bench process
// through the connector's own Publisher to the sandbox's endpoint, one
// unacknowledged publish per channel, no database.
type PublishCeiling struct {
	// Rows published; Connections is the connector's ablyConnections.
	Rows        int `json:"rows"`
	Connections int `json:"connections"`
	// Seconds from the first publish to the last ACK; RowsPerSec = Rows / Seconds.
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rowsPerSec"`
	// PublisherCPUSeconds (the bench process) and EndpointCPUSeconds over it.
	PublisherCPUSeconds float64 `json:"publisherCpuSeconds"`
	EndpointCPUSeconds  float64 `json:"endpointCpuSeconds"`
}

// Latency is commit → ably-go subscriber on the local endpoint.
type Latency struct {
	// Channels the rows were spread over.
	Channels int `json:"channels"`
	// Generators is the number of inserting goroutines (one connection each).
	Generators int `json:"generators"`
	// Rate is the requested rows per second; AchievedRate what was committed.
	Rate         float64 `json:"rate"`
	AchievedRate float64 `json:"achievedRate"`
	// Seconds is the requested duration.
	Seconds float64 `json:"seconds"`
	// Sent rows were committed; Received reached the subscriber.
	Sent     int `json:"sent"`
	Received int `json:"received"`
	// Quantiles of commit → receipt in milliseconds.
	P50Ms float64 `json:"p50Ms"`
	P90Ms float64 `json:"p90Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
	// Split cuts each row's latency at the moment its COMMIT returned to
	// the generator, to tell the database's share from the rest.
	Split LatencySplit `json:"split"`
}

// LatencySplit is commit → receipt cut in two at the generator's COMMIT.
type LatencySplit struct {
	// InsertToCommit runs from data.t (the INSERT's clock_timestamp) until
	// COMMIT returned: the WAL flush and NOTIFY's commit-time queue lock,
	// the database's own share before the connector can see the row.
	InsertToCommit Quantiles `json:"insertToCommit"`
	// CommitToReceipt runs from COMMIT returning to the subscriber's
	// receipt: connector, endpoint and subscriber. It can be slightly
	// negative: the message may arrive before the generator has read the
	// COMMIT reply.
	CommitToReceipt Quantiles `json:"commitToReceipt"`
}

// Quantiles of a latency distribution in milliseconds.
type Quantiles struct {
	P50Ms float64 `json:"p50Ms"`
	P90Ms float64 `json:"p90Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

// Memory is the connector's memory.
type Memory struct {
	// ConnectorPeakRSSMB is the connector process's VmHWM in MiB at the end.
	ConnectorPeakRSSMB float64 `json:"connectorPeakRSSMB"`
	// ConnectorDrainPeakRSSMB is its VmHWM right after the drain.
	ConnectorDrainPeakRSSMB float64 `json:"connectorDrainPeakRSSMB"`
}

// CPU is CPU seconds used during the drain, next to the wall time: far
// below wall × CPUs means the path waits rather than works.
type CPU struct {
	// WallSeconds is the drain's duration.
	WallSeconds float64 `json:"wallSeconds"`
	// ConnectorSeconds is the `connector run` process's CPU time.
	ConnectorSeconds float64 `json:"connectorSeconds"`
	// EndpointSeconds is the background `ably serve` process's CPU time.
	EndpointSeconds float64 `json:"endpointSeconds"`
	// PostgresSeconds covers the postmaster and every backend (0 when unknown).
	PostgresSeconds float64 `json:"postgresSeconds"`
}

// Stage is one connector histogram over one phase ("drain" or "latency").
type Stage struct {
	// Phase is "drain" or "latency".
	Phase string `json:"phase"`
	// Name is the histogram's metric name.
	Name string `json:"name"`
	// Labels are the series' labels except le (`stage="claim_publish"`),
	// absent for an unlabelled histogram.
	Labels string `json:"labels,omitempty"`
	// RowStage is the row journey's stage (connector.Stage) for
	// livesync_row_stage_seconds: commit_notify, notify_claim,
	// claim_publish, publish_ack, ack_complete.
	RowStage string `json:"rowStage,omitempty"`
	// Unit is "ms" for histograms in seconds, "" when unscaled.
	Unit string `json:"unit"`
	// Count is the number of observations in the phase.
	Count int64 `json:"count"`
	// Mean is sum / count; P50, P90 and P99 are estimated from the buckets
	// by linear interpolation, as PromQL's histogram_quantile.
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
}

// Profile lists the profile files written.
type Profile struct {
	// Dir is the --profile folder (absolute).
	Dir string `json:"dir"`
	// Files are the profiles written there.
	Files []string `json:"files"`
}
