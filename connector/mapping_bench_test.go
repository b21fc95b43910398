package connector

import "testing"

// BenchmarkMessage maps one outbox row to its Ably message, with and
// without user headers.
// Run: go test -run '^$' -bench Message -count 10 ./connector/ | benchstat -
func BenchmarkMessage(b *testing.B) {
	data := []byte(`{"i":987654,"status":"shipped","amount":1234,"note":"lorem ipsum dolor sit amet consectetur"}`)
	for _, c := range []struct {
		name    string
		headers []byte
	}{{"no-headers", nil}, {"headers", []byte(`{"x-bench":"1","x-ably-version":"1"}`)}} {
		row := Row{SequenceID: 987654, MutationID: "m-987654", Channel: "orders:42", Name: "order.updated", Data: data, Headers: c.headers}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, w := Message(row)
				if m.ID == "" || len(w) != 0 {
					b.Fatalf("mapping: %v", w)
				}
			}
		})
	}
}
