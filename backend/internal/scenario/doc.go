// Package scenario holds the tests that run whole CodeMetrics servers the way a deployment, an
// attacker or a bad day does, across several parts at once; it has no code of its own. The
// tests of one file's behaviour sit beside that file instead (httpapi/tokens_test.go for
// httpapi/tokens.go, and so on); every test starts servers, signs people in and calls the API
// through internal/testenv, the one set of test helpers.
//
//   - walkthrough_test.go: the API documentation followed end to end, and a full walkthrough
//     then scanned for secrets in the logs, every database row and the audit log.
//   - instances_test.go: several servers on one database: revocation across instances, a clock
//     stepped back on one of them, signing-key rotation across restarts.
//   - database_test.go: the database changed or gone under running servers: an outage through
//     a TCP proxy, a stale revocation feed, rows edited by hand, a restore from an old backup.
//   - statements_test.go: forged and respelt tokens against the statement counter: no database
//     statement before a token is proved genuine.
//   - load_test.go: many creators, revokers and verifiers at once, under the race detector.
//   - cluster_test.go: three instances, each on a node of a Galera cluster (make test-cluster;
//     skipped without CLUSTER_NODES): tokens used at once on another node, revocation reaching
//     every instance, concurrent writes over the nodes, a lagging node failing closed.
package scenario
