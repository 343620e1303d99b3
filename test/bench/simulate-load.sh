#!/usr/bin/env bash
# simulate-load.sh measures skiff simulate and the control plane under a Deployment of
# NODES*PODS_PER_NODE replicas on NODES simulated nodes: the simulator's resident memory and
# CPU idle and loaded, the time until the Deployment is fully available, the time a rolling
# update takes, and the server's memory. Loopback only; everything stops at the end.
#
# Usage: test/bench/simulate-load.sh [NODES [PODS_PER_NODE]]   (default 1000 30)
# With PROFILE=DIR the server runs with --profiling, and its heap profiles are written to DIR
# once the Deployment is available and after the update (go tool pprof -sample_index=inuse_space
# -top -focus internal/controller DIR/skiff DIR/server-heap-loaded.pprof shows the controller
# manager's share).
# If a rollout does not finish in time, the script prints what the ReplicaSets count against
# what their pods say, then fails.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
nodes=${1:-1000}
per=${2:-30}
replicas=$((nodes * per))
work=$(mktemp -d /tmp/simulate-load.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/skiff" ./cmd/skiff)
k() { kubectl --kubeconfig "$work/data/admin.kubeconfig" --cache-dir "$work/kc" "$@"; }
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }
cpu() { # pid seconds -> average cores used over the window
	local t0 t1; t0=$(awk '{print $14+$15}' "/proc/$1/stat"); sleep "$2"; t1=$(awk '{print $14+$15}' "/proc/$1/stat")
	awk -v a="$t0" -v b="$t1" -v s="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f cores", (b-a)/hz/s}'
}
server_flags=()
if [[ -n ${PROFILE:-} ]]; then server_flags=(--profiling); mkdir -p "$PROFILE"; cp "$work/skiff" "$PROFILE/skiff"; fi
heap() { if [[ -n ${PROFILE:-} ]]; then k get --raw '/debug/pprof/heap' >"$PROFILE/server-heap-$1.pprof"; fi; }
# stalled prints, for each ReplicaSet, its status against its pods' Ready conditions.
stalled() {
	echo "rollout did not finish; ReplicaSets (name replicas ready available) and their Ready pods:"
	k get rs -o jsonpath='{range .items[*]}{.metadata.name} {.status.replicas} {.status.readyReplicas} {.status.availableReplicas}{"\n"}{end}'
	k get pods -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | sort | uniq -c
	k get deploy load -o jsonpath='{.status}{"\n"}'
	exit 1
}
"$work/skiff" server --data-dir "$work/data" --port 38443 --bind-address 127.0.0.1 --disable-agent --unsafe-no-fsync "${server_flags[@]}" \
	--cluster-cidr 10.64.0.0/10 --node-cidr-mask-size 24 >"$work/server.log" 2>&1 &
server=$!; pids+=($server)
until [[ -f $work/data/admin.kubeconfig ]] && k get --raw /readyz >/dev/null 2>&1; do sleep 0.2; done
"$work/skiff" simulate --server https://127.0.0.1:38443 --token-file "$work/data/token" --nodes "$nodes" >"$work/simulate.log" 2>&1 &
sim=$!; pids+=($sim)
t0=$(date +%s)
until [[ $(k get nodes --no-headers 2>/dev/null | grep -c ' Ready') -ge $nodes ]]; do sleep 2; done
echo "nodes: $nodes Ready after $(($(date +%s) - t0)) s"
sleep 20
echo "idle: simulate $(rss $sim), $(cpu $sim 30); server $(rss $server)"
cat <<YAML | k apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: load}
spec:
  replicas: $replicas
  selector: {matchLabels: {app: load}}
  template:
    metadata: {labels: {app: load}}
    spec:
      containers: [{name: c, image: skiff-test:v1, resources: {requests: {cpu: 10m, memory: 16Mi}}}]
YAML
t0=$(date +%s)
k rollout status deploy/load --timeout=${ROLLOUT_TIMEOUT:-30m} >/dev/null || stalled
echo "deployment: $replicas replicas available after $(($(date +%s) - t0)) s"
sleep 20
echo "loaded ($per pods/node): simulate $(rss $sim), $(cpu $sim 30); server $(rss $server), $(cpu $server 30)"
heap loaded
k set image deploy/load c=skiff-test:v2 >/dev/null
t0=$(date +%s)
k rollout status deploy/load --timeout=${ROLLOUT_TIMEOUT:-60m} >/dev/null || stalled
echo "rolling update of $replicas replicas: $(($(date +%s) - t0)) s"
echo "after the update: simulate $(rss $sim); server $(rss $server)"
heap updated
