// Package conformance runs the checks that need real third-party clients:
// node-postgres against the sandbox's postgres.url, and the ably-js
// conformance suite against the local Ably endpoint. Each check installs its
// npm dependencies (npm ci) when they are missing. Without Node.js the tests
// skip, except when CI is set: then they fail.
package conformance
