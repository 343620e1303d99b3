#!/usr/bin/env bash
# simulate-scale.sh measures `skiff simulate` at NODES nodes, idle and with PODS_PER_NODE pods on
# every node, and the server's CPU for the nodes' heartbeats. The pods are created already bound
# to their nodes (test/bench/schedbench place), so that the node agents, not the scheduler or
# the Deployment controller, are what is measured (test/bench/simulate-load.sh measures the
# whole path with a Deployment). Loopback only; everything stops at the end.
#
# Usage: test/bench/simulate-scale.sh [NODES [PODS_PER_NODE]]   (default 5000 30)
# With PROFILE=DIR the server runs with --profiling, and heap profiles of the server and the
# simulator's process are written to DIR once loaded (read them with go tool pprof).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
nodes=${1:-5000}
per=${2:-30}
work=$(mktemp -d /tmp/simulate-scale.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/skiff" ./cmd/skiff && go build -o "$work/schedbench" ./test/bench/schedbench)
k() { kubectl --kubeconfig "$work/data/admin.kubeconfig" --cache-dir "$work/kc" "$@"; }
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }
cpu() { # pid seconds -> average cores used over the window
	local t0 t1; t0=$(awk '{print $14+$15}' "/proc/$1/stat"); sleep "$2"; t1=$(awk '{print $14+$15}' "/proc/$1/stat")
	awk -v a="$t0" -v b="$t1" -v s="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f cores", (b-a)/hz/s}'
}
agent_flag=()
if "$work/skiff" server --help 2>&1 | grep -q -- --disable-agent; then agent_flag=(--disable-agent); fi
if [[ -n ${PROFILE:-} ]]; then agent_flag+=(--profiling); mkdir -p "$PROFILE"; fi
"$work/skiff" server --data-dir "$work/data" --port 38444 --bind-address 127.0.0.1 "${agent_flag[@]}" --unsafe-no-fsync \
	--cluster-cidr 10.64.0.0/10 --node-cidr-mask-size 24 >"$work/server.log" 2>&1 &
server=$!; pids+=($server)
until [[ -f $work/data/admin.kubeconfig ]] && k get --raw /readyz >/dev/null 2>&1; do sleep 0.2; done
sim_flags=()
if [[ -n ${PROFILE:-} ]]; then sim_flags=(--profiling-address 127.0.0.1:38445); fi
"$work/skiff" simulate --server https://127.0.0.1:38444 --token-file "$work/data/token" --nodes "$nodes" "${sim_flags[@]}" >"$work/simulate.log" 2>&1 &
sim=$!; pids+=($sim)
t0=$(date +%s)
until [[ $(k get nodes --no-headers 2>/dev/null | grep -c ' Ready') -ge $nodes ]]; do sleep 2; done
echo "nodes: $nodes Ready after $(($(date +%s) - t0)) s"
sleep 30
echo "idle: simulate $(rss $sim), $(cpu $sim 60); server $(rss $server), $(cpu $server 60) (heartbeats of $nodes nodes)"
"$work/schedbench" --kubeconfig "$work/data/admin.kubeconfig" --nodes "$nodes" --pods-per-node "$per" --node-prefix sim- --timeout 60m place
sleep 30
echo "loaded ($per pods/node): simulate $(rss $sim), $(cpu $sim 60); server $(rss $server), $(cpu $server 60)"
if [[ -n ${PROFILE:-} ]]; then
	k get --raw '/debug/pprof/heap' >"$PROFILE/server-heap.pprof"
	curl -sf http://127.0.0.1:38445/debug/pprof/heap >"$PROFILE/simulate-heap.pprof"
	cp "$work/skiff" "$PROFILE/skiff"
	echo "heap profiles: go tool pprof -sample_index=inuse_space -top $PROFILE/skiff $PROFILE/server-heap.pprof (or simulate-heap.pprof)"
fi
