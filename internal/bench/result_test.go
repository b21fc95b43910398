package bench

import "testing"

// TestCPUBound: the bound is cores × rows over the ceilings' CPU, and 0
// when one of the CPU figures is missing rather than a division by zero.
func TestCPUBound(t *testing.T) {
	d := Drain{CeilingPostgresCPUSeconds: 1.5, PublishCeiling: PublishCeiling{PublisherCPUSeconds: 1.25, EndpointCPUSeconds: 1.25}}
	if got := cpuBound(20000, 2, d); got != 10000 {
		t.Errorf("cpuBound = %v, want 2 × 20000 / 4.0 = 10000", got)
	}
	d.PublishCeiling.EndpointCPUSeconds = 0
	if got := cpuBound(20000, 2, d); got != 0 {
		t.Errorf("cpuBound with no endpoint CPU = %v, want 0", got)
	}
}
