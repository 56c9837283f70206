package scenario

import (
	"testing"

	"github.com/caarlos0/env/v11"
)

// TestSeedingScenariosShareBatchClients: every scenario that seeds runs reads the one
// BENCH_BATCH_CLIENTS, 4 unless it is set.
func TestSeedingScenariosShareBatchClients(t *testing.T) {
	clients := func() []int {
		var p pipelineSettings
		var d dashboardSettings
		var s scaleSettings
		for _, v := range []any{&p, &d, &s} {
			if err := env.Parse(v); err != nil {
				t.Fatal(err)
			}
		}
		return []int{p.Clients, d.Clients, s.Clients}
	}
	for _, c := range clients() {
		if c != 4 {
			t.Errorf("clients %v, want 4 in each by default", clients())
			break
		}
	}
	t.Setenv("BENCH_BATCH_CLIENTS", "7")
	for _, c := range clients() {
		if c != 7 {
			t.Errorf("clients %v, want BENCH_BATCH_CLIENTS (7) in each", clients())
			break
		}
	}
}
