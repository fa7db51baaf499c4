/**
 * @module
 * Pinned versions of the control-plane tools the integration tests build from the Go module proxy.
 *
 * Kubernetes is pinned in `wrapper/go.mod` (`require k8s.io/kubernetes` plus one `replace` per staging
 * module at the matching `v0.<minor>.<patch>`); etcd is whatever that Kubernetes release requires
 * (`go.etcd.io/etcd/server/v3` in its go.mod). Changing a version here means changing the wrapper
 * module too: `cd test/control-plane/wrapper && go mod tidy`.
 */

/** The Kubernetes release kube-apiserver and kubectl are built from. */
export const KUBERNETES_VERSION = 'v1.35.4';

/** The etcd release pinned by {@link KUBERNETES_VERSION} (its go.mod requires this etcd server module). */
export const ETCD_VERSION = 'v3.6.5';

/** The Helm release, installed with `go install helm.sh/helm/v3/cmd/helm@<version>`. */
export const HELM_VERSION = 'v3.22.0';
