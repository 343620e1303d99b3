#!/usr/bin/env bash
# simulate-load.sh measures skiff simulate and the control plane under a Deployment of
# NODES*PODS_PER_NODE replicas on NODES simulated nodes: the simulator's resident memory and
# CPU idle and loaded, the time until the Deployment is fully available, the time a rolling
# update takes, and the server's memory. Loopback only; everything stops at the end.
#
# Usage: test/bench/simulate-load.sh [NODES [PODS_PER_NODE]]   (default 1000 30)
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
"$work/skiff" server --data-dir "$work/data" --port 38443 --bind-address 127.0.0.1 --disable-agent --unsafe-no-fsync \
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
k rollout status deploy/load --timeout=30m >/dev/null
echo "deployment: $replicas replicas available after $(($(date +%s) - t0)) s"
sleep 20
echo "loaded ($per pods/node): simulate $(rss $sim), $(cpu $sim 30); server $(rss $server), $(cpu $server 30)"
k set image deploy/load c=skiff-test:v2 >/dev/null
t0=$(date +%s)
k rollout status deploy/load --timeout=60m >/dev/null
echo "rolling update of $replicas replicas: $(($(date +%s) - t0)) s"
echo "after the update: simulate $(rss $sim); server $(rss $server)"
