#!/usr/bin/env bash
# compare-apiserver.sh measures skiff's API server and upstream kube-apiserver the same way, one
# after the other on this machine, each on a fresh etcd: time to /readyz, resident memory idle
# and with N pods, and apibench's create, LIST and watch figures (test/bench/apibench).
#
# Usage: test/bench/compare-apiserver.sh KUBE_APISERVER ETCD [PODS]
#   KUBE_APISERVER and ETCD are binaries built outside this repository
#   (shared/reference/upstream-build.md); PODS (default 100000) is the large LIST size.
# skiff runs without its scheduler and controller manager, as kube-apiserver runs alone (the
# controllers would, for one, garbage-collect the benchmark's pods, bound to a node that does
# not exist). Needs openssl and curl. Uses loopback ports 36443 and 32379-32380 and a temporary directory.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
apiserver=${1:?usage: $0 KUBE_APISERVER ETCD [PODS]}
etcd=${2:?usage: $0 KUBE_APISERVER ETCD [PODS]}
pods=${3:-100000}
work=$(mktemp -d /tmp/compare-apiserver.XXXXXX)
pids=()
stop_all() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

(cd "$repo" && go build -o "$work/skiff" ./cmd/skiff && go build -o "$work/apibench" ./test/bench/apibench)

rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }
now_ms() { date +%s%3N; }
wait_ready() { # url cacert cert key
	for _ in $(seq 1 3000); do
		if [[ $(curl -s -o /dev/null -w '%{http_code}' --cacert "$2" --cert "$3" --key "$4" "$1/readyz") == 200 ]]; then return 0; fi
		sleep 0.01
	done
	echo "not ready: $1" >&2
	return 1
}
start_etcd() {
	rm -rf "$work/etcd-data"
	"$etcd" --name bench --data-dir "$work/etcd-data" --listen-client-urls http://127.0.0.1:32379 \
		--advertise-client-urls http://127.0.0.1:32379 --listen-peer-urls http://127.0.0.1:32380 \
		--initial-advertise-peer-urls http://127.0.0.1:32380 --initial-cluster bench=http://127.0.0.1:32380 \
		--quota-backend-bytes 8589934592 --max-request-bytes 4194304 >"$work/etcd.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 500); do curl -s http://127.0.0.1:32379/health | grep -q true && return 0; sleep 0.01; done
	echo "etcd did not start" >&2
	return 1
}
measure() { # name pid kubeconfig
	echo "== $1"
	sleep 5
	echo "resident memory idle: $(rss "$2")"
	"$work/apibench" --kubeconfig "$3" --creates 5000 --concurrency 32 --list-pods 10000 --watchers 100 --watch-events 1000
	"$work/apibench" --kubeconfig "$3" --creates 0 --list-pods "$pods" --lists 3 --watchers 0
	echo "resident memory with $pods pods: $(rss "$2")"
}

# skiff with its embedded etcd (the default).
rm -rf "$work/skiff-embedded"
t0=$(now_ms)
"$work/skiff" server --data-dir "$work/skiff-embedded" --bind-address 127.0.0.1 --port 36443 --disable-agent --disable-scheduler --disable-controller-manager >"$work/skiff.log" 2>&1 &
pids+=($!)
tls=$work/skiff-embedded/tls
wait_ready https://127.0.0.1:36443 "$tls/ca.crt" "$tls/admin.crt" "$tls/admin.key"
echo "skiff (embedded etcd): /readyz after $(($(now_ms) - t0)) ms"
measure "skiff, embedded etcd" "${pids[0]}" "$work/skiff-embedded/admin.kubeconfig"
stop_all

# skiff on a separate etcd, as upstream runs.
start_etcd
t0=$(now_ms)
"$work/skiff" server --data-dir "$work/skiff-external" --bind-address 127.0.0.1 --port 36443 --disable-agent --disable-scheduler --disable-controller-manager \
	--etcd-servers http://127.0.0.1:32379 >"$work/skiff2.log" 2>&1 &
pids+=($!)
tls=$work/skiff-external/tls
wait_ready https://127.0.0.1:36443 "$tls/ca.crt" "$tls/admin.crt" "$tls/admin.key"
echo "skiff (external etcd): /readyz after $(($(now_ms) - t0)) ms"
measure "skiff, external etcd" "${pids[1]}" "$work/skiff-external/admin.kubeconfig"
stop_all

# upstream kube-apiserver on the same kind of etcd.
pki=$work/pki
mkdir -p "$pki"
(
	cd "$pki"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=bench-ca" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=admin" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >admin.ext
	openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile admin.ext -out admin.crt 2>/dev/null
	openssl genrsa -out sa.key 2048 2>/dev/null
	openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
)
cat >"$work/upstream.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: up, cluster: {server: "https://127.0.0.1:36443", certificate-authority: "$pki/ca.crt"}}]
users: [{name: admin, user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}}]
contexts: [{name: up, context: {cluster: up, user: admin}}]
current-context: up
KC
start_etcd
t0=$(now_ms)
"$apiserver" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port 36443 \
	--etcd-servers http://127.0.0.1:32379 --client-ca-file "$pki/ca.crt" \
	--tls-cert-file "$pki/server.crt" --tls-private-key-file "$pki/server.key" \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--service-account-issuer https://kubernetes.default.svc --service-cluster-ip-range 10.43.0.0/16 \
	--authorization-mode AlwaysAllow --endpoint-reconciler-type none --cert-dir "$work/certs" >"$work/upstream.log" 2>&1 &
pids+=($!)
wait_ready https://127.0.0.1:36443 "$pki/ca.crt" "$pki/admin.crt" "$pki/admin.key"
echo "kube-apiserver: /readyz after $(($(now_ms) - t0)) ms"
measure "kube-apiserver" "${pids[1]}" "$work/upstream.kubeconfig"
