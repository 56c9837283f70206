// Package attack holds the tests that attack a whole CodeMetrics server the way an attacker,
// or a bad day, would: forged tokens against a query counter, key-fetching headers against a
// canary listener, a database cut mid-load, shutdown under load, many writers at once, and a
// scan for secrets after a full walkthrough. It has no code of its own.
package attack
