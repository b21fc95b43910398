// Package ablylocal is a local Ably-compatible endpoint: the realtime
// WebSocket protocol at "/" and the REST API beside it on one port, with
// API-key and token auth, capabilities, in-memory history and idempotent
// publishing. Unmodified ably-go v1.3.0 and ably-js 2.x clients connect with
// only host, port and TLS overrides (see ClientOptions), over msgpack or JSON.
//
// Start a server in-process with Start and stop it with Close, which sends
// DISCONNECTED to every connection first so SDKs reconnect rather than fail.
// The `livesync-dev ably serve` command wraps the same API.
//
// The protocol subset and its pitfalls are described in
// docs/ably-protocol-spec.md; its §9 checklist and §11 additions are
// implemented here, as is presence: enter, update and leave broadcast to
// presence subscribers (the sender included), SYNC of the current members on
// attach, a server-generated LEAVE when a member's connection closes or
// detaches, and GET /channels/{name}/presence. Presence history is not kept
// (GET .../presence/history returns an empty list).
//
// # Conformance table
//
// Every MUST item × {ably-go, ably-js} × {msgpack, JSON} → the tests that
// cover it. Go tests run each case once per format as subtests "/msgpack"
// and "/json" (TestDataCanonicalisation crosses both formats in one test).
// The ably-js column names items of the conformance script in
// conformance/ablyjs, which runs each as js:msgpack:<item> and
// js:json:<item>; "to add:" marks items the script does not have yet.
//
//	MUST item (§9/§11)         ably-go tests (msgpack + JSON)                          ably-js items (js:{msgpack,json}:…)
//	1  WS at /, any Origin,    TestConnectAttachPublishDeliver, TestRawFailedResumeAndOrigin, connect, roundtrip-crossformat
//	   str vs bin              TestRawStrAndBinKeptApart
//	2  auth errors in WS       TestRawAuthFailuresInsideWebSocket, TestTokenExpiryAndInbandAuth wrong-secret
//	3  CONNECTED details       TestRawConnectedFrame, TestConnectAttachPublishDeliver          connect
//	4  action always, nulls    TestRawAckRules, TestRawMalformedInput                          roundtrip (ably-js sends nulls)
//	5  heartbeats              TestIdleConnectionKeptAliveByHeartbeats, TestRawAckRules (ping) ping, idle-heartbeat
//	6  attach/detach/close     TestConnectAttachPublishDeliver, TestRawAttachErrorsKeepConnection roundtrip, detach-close
//	7  publish w/o attach, ACK TestPublishWithoutAttachAndNack, TestRawAckRules               roundtrip, rest-publish
//	8  NACK                    TestPublishWithoutAttachAndNack, TestRawMalformedInput         bad-channel-name, message-too-large
//	9  delivery fields, echo   TestConnectAttachPublishDeliver, TestEchoFalse                  roundtrip, echo-false
//	10 data encoding, 40009    TestDataCanonicalisation, TestRawStrAndBinKeptApart,           roundtrip, roundtrip-crossformat,
//	                           TestRawMalformedInput                                           message-too-large
//	11 REST, Link paging       TestRESTTimePublishHistory, TestRESTCORSAndEnvelope,          rest-publish, rest-history-paginated,
//	                           TestHistoryBounds                                               realtime-history-paginated
//	12 requestToken            TestTokenAuthRestrictedCapability, TestRESTRequestTokenWire,   token-authcallback
//	                           TestAblyJWT
//	13 capabilities (40160)    TestTokenAuthRestrictedCapability, TestPublishWithoutAttachAndNack token-authcallback
//	14 clientId rules          TestTokenAuthRestrictedCapability, TestConnectAttachPublishDeliver client-id
//	15 idempotency             TestIdempotentPublish                                           dedupe-rest, dedupe-realtime
//	16 channel names (40010)   TestChannelNameValidationAblyGo, TestRawAttachErrorsKeepConnection bad-channel-name
//	16 failed resume           TestFailedResumeReattaches (80008), TestResumeExpiredKey,      failed-resume (80018)
//	                           TestRawFailedResumeAndOrigin (80018)
//	§11 batch publish          TestRESTBatchStatusEnumerate (raw HTTP: ably-go has no batch API) batch-publish
//	§11 channel status         TestRESTBatchStatusEnumerate, TestTokenAuthRestrictedCapability channel-status
//	§11 channel enumeration    TestRESTBatchStatusEnumerate                                    channel-enumeration
//	§11 untilAttach history    TestRESTUntilAttach                                             history-untilattach
//	§11 presence               TestPresence, TestPresenceRules, TestRawMalformedInput (91000)  presence
//	§11 dedupe window          TestIdempotentPublish                                           dedupe-rest
//	§11 --limits ably          TestLimitsAbly (42911, 42913)                                   limits
//	graceful shutdown          TestGracefulShutdown                                            shutdown
//	slow subscriber            TestSlowSubscriberDisconnected, TestSlowSubscriberCutIsAtomic   —
//	decoder robustness         TestRawMalformedInput, FuzzDecodeFrame (testdata/fuzz)          —
//
// SHOULD items covered: ACK res serials (TestRawAckRules), HEARTBEAT echo
// (TestRawAckRules), ATTACHED params echo and rewind
// (TestRawStrAndBinKeptApart, TestRewindParam), replay after channelSerial
// (TestRawReplayAfterChannelSerial, TestFailedResumeReattaches),
// DISCONNECTED 40142 at expiry and in-band AUTH (TestTokenExpiryAndInbandAuth),
// HS256 Ably JWTs (TestAblyJWT), 40031 (TestIdempotentPublish), CORS and the
// envelope (TestRESTCORSAndEnvelope).
//
// # Connection resume and recover
//
// A transport that ends without CLOSE (a dropped socket, DISCONNECT, token
// expiry, a slow reader) keeps its connection's state for the connection
// state TTL (Options.ConnectionStateTTL, 2 minutes as on Ably, advertised as
// connectionStateTtl). resume=<connectionKey> (RTN15c6) or recover= from a
// new client instance (RTN16) within it gets the same connectionId with no
// error; frames resent with an msgSerial already handled get their ACK or
// NACK again instead of a second publish (RTN19a2); each re-ATTACH with a
// channelSerial gets RESUMED and the messages published since, once and in
// order (the attachments do not receive while the client is away); presence
// members stay for 15 s. A recover while the old transport still runs takes
// the connection over. A closed or expired key answers 80008, a malformed
// key or one this process never issued 80018, both with a new connection.
//
// A slow subscriber (more than MaxQueuedBytes unsent) is cut in the same
// critical section that drops its first frame: its queue becomes the
// DISCONNECTED 80020 alone and nothing is queued after it, so what the
// client read is a gap-free prefix, its channelSerials name the last
// message it really got, and a resume replays from there (RESUMED means no
// gap). The rest of close runs in a goroutine (the frame may have been
// queued under a channel lock close needs); close finishes it once, with
// the 80020, whoever calls it first.
// Tests: TestResumeSameConnection, TestRawResumeReplaysAndReacks,
// TestRecoverFromAnotherClient, TestResumeExpiredKey; ably-js items resume,
// recover, failed-resume.
//
// # Issue 14 fidelity items
//
//	item                                        ably-go / raw test                  ably-js item
//	1 numeric/boolean params accepted           TestNumericChannelParams            numeric-params
//	2 client SYNC answered, not fatal           TestClientSyncKeepsConnection       client-sync
//	3 modes enforced (40165)                    TestChannelModesEnforced            channel-modes
//	4 ATTACHED echoes modes/params, cap modes   TestAttachedEchoesModesAndParams    channel-modes
//	5 HAS_BACKLOG on rewind replay              TestRewindSetsHasBacklog            —
//	6 in-band AUTH narrows attachments (40160)  TestInbandAuthNarrowsAttachments    auth-narrows
//	7 unknown resume key 80018, expired 80008   TestRawFailedResumeAndOrigin,       failed-resume
//	                                            TestResumeExpiredKey
//	8 JWT kid of no key: 404 40400              TestJWTUnknownKeyIs404              jwt-unknown-kid
//	9 X-Ably-Version 2 batch publish shape      TestBatchPublishLegacyVersion       —
//
// Item 9: the batch answer's shape follows X-Ably-Version (package
// ablybatch holds the one wire definition). The connector's rest-batch mode
// sends version 3 and reads each row's result itself
// (connector.TestRESTBatchPerRowErrorCodes), since ably-go's REST.Request
// sends version 2 and consumes a partial failure's 400 body.
//
// Item 3 uses 40165 ("channel mode not requested when attaching"), the code
// Ably documents for an operation the credentials permit but the attach's
// modes do not include; 40160 stays for what the capability forbids.
//
// # Transports
//
// Only WebSocket is served. ably-js's comet (HTTP long-poll) fallback, used
// when WebSocket is blocked, gets 400 40000 saying so on every /comet/
// request, and its connection fails with that message
// (TestCometAnsweredWithClearError; ably-js item comet-refused).
//
// # Local-only routes and fault injection
//
// Paths under LocalPrefix ("/_livesync/") are livesync-dev's own: real Ably
// has nothing there and no app ever needs them. They accept only Basic auth
// with one of the endpoint's API keys (the sandbox key); tokens are
// refused. Two routes live there: the row journey's
// localdebug.MessagesPath ("/_livesync/messages", below) and FaultsPath
// ("/_livesync/faults"), which manages fault rules
// (package fault): GET lists them ({"faults": [...]}), POST adds one (a
// fault.Rule as JSON, answered 201 with the rule, its id and expiry), DELETE
// clears every rule and DELETE /_livesync/faults/{id} one. Rules also come
// from Options.Faults (ably.local.faults in livesync.yaml) and AddFault.
//
// Where each rule acts: a refuse (code) or rate rule in the common publish
// path, after the dedupe check, so realtime (NACK), REST and batch
// publishes see it alike; a delay-ack rule holds the ACK in a per-connection
// queue so that later ACKs and NACKs keep msgSerial order; a drop rule cuts
// the transport (no DISCONNECTED, the state kept for a resume) of every
// connection attached to or publishing on a matching channel, checked every
// 100 ms, once or again every `every`; a refuse-connections rule answers
// the WebSocket upgrade with HTTP 503 and error 80003, so SDKs stay
// DISCONNECTED and retry. With no rule in force every hook is one atomic
// load. Tests: TestFaultRouteNeedsTheKey, TestFaultRefuseAndClear,
// TestFaultDelayAckKeepsOrder, TestFaultDropOnceResumes,
// TestFaultRefuseConnections, TestFaultRate.
//
// # What a restart loses
//
// All state is in memory. A restarted endpoint has no history, no dedupe
// window (a publish retried across the restart is stored and delivered
// again), no presence members, no fault rules added at run time (those of
// Options.Faults come back) and no connection keys: resume and recover
// answer 80018 with a new connection, and re-ATTACHes with a channelSerial
// of the old process attach at the live head with error 80016. Keys and
// tokens stay valid as long as the same keys are configured.
//
// Client quirks worth knowing: ably-go v1.3.0 realtime subscribers do not
// decode json/base64 payloads, and its msgpack handle hands binary data to
// the application as a string; the server sends msgpack bin either way.
//
// # Local-only debug route
//
// GET /_livesync/messages/{id}?channel=NAME (localdebug.MessagesPath; its types live in package localdebug, shared with the monitor) is not
// part of Ably: it answers, for a message id, when this endpoint accepted
// it (publishing connection, serial) and to how many subscribed
// connections it was delivered, for the endpoint's side of `outbox trace`.
// It needs the API key (a token is refused) and keeps the last 100,000
// messages with client-chosen ids. Real Ably has no such route, so tools
// must treat its absence as "endpoint not local".
package ablylocal
