// Package connector holds what every LiveSync connector shares: the row →
// Ably message mapping of the Fidelity rules, the publisher that sends one
// message per ProtocolMessage over ably-go realtime connections (each
// channel hashed to one of them, so its order holds; pacing itself to
// Ably's 50 msg/s limits per channel and per connection against real Ably),
// and the typed event stream that monitor and dashboard subscribe to without
// the connector importing them.
//
// The database side lives in connector/postgres; its doc.go has the state
// diagram of node leases, row locks and per-channel ordering.
//
// Event flow (in process, non-blocking fan-out):
//
//	node ──Emit──▶ Bus ──▶ subscriber 1 (buffered chan; full → dropped, counted)
//	                  └──▶ subscriber 2 ...
package connector
