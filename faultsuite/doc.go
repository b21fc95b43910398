// Package faultsuite breaks a real sandbox on purpose and checks LiveSync's
// promises hold: the livesync-dev binary runs `sandbox up` (Postgres and
// the local Ably endpoint as their own processes) and one or two
// `connector run` processes, an application writer inserts rows at a
// steady rate over a few channels, an ably-go subscriber listens, and each
// scenario injects one fault: a Postgres restart, a kill -9 of the endpoint
// followed by `sandbox up`, a SIGKILL of one of two connector processes
// (`connector kill`), a SIGSTOP longer than the lease (`connector pause` /
// `resume`), each kind of endpoint fault rule (`fault add`), and a
// subscriber that stops reading until the endpoint disconnects it as a
// slow consumer (80020), then resumes and catches up from history
// (stall_test.go).
//
// For every scenario it checks that no row is lost, no id is delivered
// twice and each channel's order is kept, and logs the recovery time: the
// longest pause between two deliveries on one channel. The table in
// BENCHMARKS.md comes from its log (go test -v -run TestFaultSuite
// ./faultsuite). The package holds only tests.
package faultsuite
