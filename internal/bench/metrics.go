package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/connector"
)

// histogram is one Prometheus histogram summed over the connector's nodes:
// cumulative bucket counts by upper bound, sum and count.
type histogram struct {
	name    string // the metric name
	labels  string // its labels except le (`stage="claim_publish"`), "" for none
	buckets map[float64]float64
	sum     float64
	count   float64
}

// histograms maps a histogram's name and labels (histKey) to its value.
type histograms map[string]*histogram

// scrapeHistograms reads every histogram from each node's /metrics (text
// exposition format) and sums them across nodes. Whatever histograms the
// connector exposes are reported, so per-stage histograms added later show
// up without a change here.
func scrapeHistograms(ctx context.Context, addrs []string) (histograms, error) {
	out := histograms{}
	for _, a := range addrs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("reading the connector's /metrics: %w", err)
		}
		err = parseHistograms(resp.Body, out)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseHistograms adds the histograms of a text exposition to into. Each
// label set is its own series (livesync_row_stage_seconds has one per
// stage), summed over nodes.
func parseHistograms(r io.Reader, into histograms) error {
	types := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	get := func(name, labels string) *histogram {
		labels = withoutLabel(labels, "le")
		k := histKey(name, labels)
		h := into[k]
		if h == nil {
			h = &histogram{name: name, labels: labels, buckets: map[float64]float64{}}
			into[k] = h
		}
		return h
	}
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			if f := strings.Fields(rest); len(f) == 2 {
				types[f[0]] = f[1]
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value, ok := splitSample(line)
		if !ok {
			continue
		}
		switch {
		case strings.HasSuffix(name, "_bucket") && types[strings.TrimSuffix(name, "_bucket")] == "histogram":
			le, ok := labelValue(labels, "le")
			if !ok {
				continue
			}
			bound, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			get(strings.TrimSuffix(name, "_bucket"), labels).buckets[bound] += value
		case strings.HasSuffix(name, "_sum") && types[strings.TrimSuffix(name, "_sum")] == "histogram":
			get(strings.TrimSuffix(name, "_sum"), labels).sum += value
		case strings.HasSuffix(name, "_count") && types[strings.TrimSuffix(name, "_count")] == "histogram":
			get(strings.TrimSuffix(name, "_count"), labels).count += value
		}
	}
	return sc.Err()
}

// splitSample splits `name{labels} value` (or `name value`).
func splitSample(line string) (name, labels string, value float64, ok bool) {
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", "", 0, false
		}
		name, labels, rest = line[:i], line[i+1:j], line[j+1:]
	} else {
		sp := strings.IndexByte(line, ' ')
		if sp < 0 {
			return "", "", 0, false
		}
		name, rest = line[:sp], line[sp:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return name, labels, v, err == nil
}

// histKey names one series: name, or name{labels}.
func histKey(name, labels string) string {
	if labels == "" {
		return name
	}
	return name + "{" + labels + "}"
}

// withoutLabel drops key from a label list.
func withoutLabel(labels, key string) string {
	var keep []string
	for _, part := range strings.Split(labels, ",") {
		part = strings.TrimSpace(part)
		if k, _, ok := strings.Cut(part, "="); part == "" || (ok && k == key) {
			continue
		}
		keep = append(keep, part)
	}
	return strings.Join(keep, ",")
}

func labelValue(labels, key string) (string, bool) {
	for _, part := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == key {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// minus returns h − base (the observations between two scrapes).
func (h *histogram) minus(base *histogram) *histogram {
	d := &histogram{name: h.name, labels: h.labels, buckets: map[float64]float64{}, sum: h.sum, count: h.count}
	for b, v := range h.buckets {
		d.buckets[b] = v
	}
	if base != nil {
		d.sum -= base.sum
		d.count -= base.count
		for b, v := range base.buckets {
			d.buckets[b] -= v
		}
	}
	return d
}

// quantile estimates the q-quantile the way PromQL's histogram_quantile
// does: linear interpolation inside the bucket that holds it.
func (h *histogram) quantile(q float64) float64 {
	if h.count <= 0 {
		return 0
	}
	bounds := make([]float64, 0, len(h.buckets))
	for b := range h.buckets {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	rank := q * h.count
	prevBound, prevCount := 0.0, 0.0
	for _, b := range bounds {
		c := h.buckets[b]
		if c >= rank {
			if math.IsInf(b, 1) {
				return prevBound // beyond the last finite bucket: its bound
			}
			if c == prevCount {
				return b
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = b, c
	}
	return prevBound
}

// stages turns the histograms observed during a phase into report rows,
// sorted by name, the row stages in journey order. Values in seconds are
// reported in milliseconds.
func stages(phase string, now, before histograms) []Stage {
	var out []Stage
	for key, h := range now {
		d := h.minus(before[key])
		if d.count <= 0 {
			continue
		}
		scale, unit := 1.0, ""
		if strings.HasSuffix(h.name, "_seconds") {
			scale, unit = 1000, "ms"
		}
		row, _ := labelValue(h.labels, "stage")
		out = append(out, Stage{Phase: phase, Name: h.name, Labels: h.labels, RowStage: row, Unit: unit, Count: int64(d.count),
			Mean: round(d.sum/d.count*scale, 3), P50: round(d.quantile(0.5)*scale, 3),
			P90: round(d.quantile(0.9)*scale, 3), P99: round(d.quantile(0.99)*scale, 3)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		if a, b := stageOrder(out[i].RowStage), stageOrder(out[j].RowStage); a != b {
			return a < b
		}
		return out[i].Labels < out[j].Labels
	})
	return out
}

// stageOrder is a row stage's place in a journey (unknown ones last).
func stageOrder(s string) int {
	for i, st := range connector.Stages {
		if string(st) == s {
			return i
		}
	}
	return len(connector.Stages)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
