// Package mongo is LiveSync's MongoDB connector: one change stream on the
// rule's collection (the rule's pipeline, fullDocument and
// fullDocumentBeforeChange), each change event published as one Ably
// message through the shared connector.Publisher, and the stream's resume
// token checkpointed in the rule's database (collection "ably", one
// document per rule) on a timer and at shutdown, so a restart resumes where
// the last checkpoint was and Ably's idempotent publish drops the replayed
// events (their ids derive from the resume token).
//
// The driver sits behind a narrow seam (Source, Stream, TokenStore); the
// driver-backed implementation is Driver. Everything else — routing, the
// message mapping, checkpoint cadence, resume, error reporting — is plain
// logic tested through the seam with real BSON change events.
//
// Per event:
//
//	StreamNext ─▶ Map (72004: no _ablyChannel → skipped, counted, reported)
//	          └─▶ Publisher.Publish (wait ACK; retry transient, skip permanent 72001)
//	          └─▶ token handled ──▶ checkpointer (every CheckpointInterval, and at Stop) ─▶ TokenSave
//
// The connector reports through the one connector–monitor contract:
// State returns a connector.NodeState (Kind "mongo", the stream in its
// Mongo part), served at connector.StatePath by the shared health server
// and registered in the sandbox like an outbox node (Options.HealthAddr,
// Options.StateDir); the monitor diagnoses a stuck stream from it. Package
// mongotest stands in for the server behind the seam in other packages'
// tests.
//
// Errors carry LiveSync's codes: 72003 cannot start the change stream,
// 72004 no channel, 72005 invalid pipeline, 72006 stored token unreadable,
// 72007 cannot store the token, 72008 change-stream history lost.
package mongo
