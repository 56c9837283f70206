import { defineConfig } from '@playwright/test'
import { common } from './fixtures/config'
import { appURL as baseURL } from './fixtures/servers'

// The portal's walkthrough on a cluster (make test-cluster): three replicas on three Galera nodes
// behind HAProxy, all started by scripts/cluster/replicas.sh, so there is no webServer here.
//
//   E2E_PORT              HAProxy's port: the replicas' PUBLIC_URL and this run's baseURL
//   E2E_IDP_PORT          the development OpenID Provider the replicas share
//   E2E_CLUSTER_REPLICAS  comma-separated URLs of the replicas themselves, past HAProxy
//
// It runs the walkthrough of tests/portal.spec.ts (sign-in, create, copy, revoke, audit log); with
// E2E_CLUSTER_REPLICAS set it also checks that the token works on every replica once made and is
// refused by every one within a second of its revocation (fixtures/cluster.ts). The time limit is
// twice the usual one: this runs right after the cluster scenarios, on a busy machine.
export default defineConfig({
  ...common(baseURL),
  testMatch: 'portal.spec.ts',
  grep: /creates, uses and revokes a token through the portal/,
  timeout: 60_000,
  outputDir: 'test-results/cluster',
})
