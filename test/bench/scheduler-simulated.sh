#!/usr/bin/env bash
# scheduler-simulated.sh measures creation-to-binding end to end on simulated nodes: a skiff
# server (no agent) with NODES nodes from `skiff simulate`, then test/bench/schedbench creating
# PODS pods of WORKLOAD; once with skiff's scheduler in the server, once with upstream
# kube-scheduler (client QPS and burst 5000) and the server's scheduler off. The simulated
# nodes run the pods (fake runtime), so the API server carries their status updates too.
#
# Usage: test/bench/scheduler-simulated.sh KUBE_SCHEDULER [NODES] [PODS] [WORKLOAD]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
kube_scheduler=${1:?usage: $0 KUBE_SCHEDULER [NODES] [PODS] [WORKLOAD]}
nodes=${2:-5000}
pods=${3:-10000}
workload=${4:-plain}
work=$(mktemp -d /tmp/scheduler-simulated.XXXXXX)
pids=()
stop_all() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/skiff" ./cmd/skiff && go build -o "$work/schedbench" ./test/bench/schedbench)
cpu_seconds() { awk '{printf "%.1f", ($14+$15)/100}' "/proc/$1/stat"; }
k() { kubectl --kubeconfig "$work/data/admin.kubeconfig" --cache-dir "$work/kc" "$@"; }
for which in skiff kube-scheduler; do
	rm -rf "$work/data"
	extra=()
	[[ $which == kube-scheduler ]] && extra=(--disable-scheduler)
	"$work/skiff" server --data-dir "$work/data" --port 37445 --bind-address 127.0.0.1 --disable-agent --unsafe-no-fsync \
		--cluster-cidr 10.64.0.0/10 --node-cidr-mask-size 24 "${extra[@]}" >"$work/server.log" 2>&1 &
	server=$!; pids+=("$server")
	until [[ -f $work/data/admin.kubeconfig ]] && k get --raw /readyz >/dev/null 2>&1; do sleep 0.2; done
	"$work/skiff" simulate --server https://127.0.0.1:37445 --token-file "$work/data/token" --nodes "$nodes" >"$work/simulate.log" 2>&1 &
	pids+=($!)
	until [[ $(k get nodes --no-headers 2>/dev/null | grep -c ' Ready') -ge $nodes ]]; do sleep 2; done
	sched=$server
	if [[ $which == kube-scheduler ]]; then
		kc="$work/data/admin.kubeconfig"
		"$kube_scheduler" --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
			--leader-elect=false --kube-api-qps 5000 --kube-api-burst 5000 --secure-port 0 >"$work/sched.log" 2>&1 &
		sched=$!; pids+=("$sched")
		sleep 2
	fi
	result=$("$work/schedbench" --kubeconfig "$work/data/admin.kubeconfig" --pods "$pods" --workload "$workload" run)
	echo "$which simulated-nodes=$nodes $result server-cpu=$(cpu_seconds "$server")s$([[ $which == kube-scheduler ]] && echo " kube-scheduler-cpu=$(cpu_seconds "$sched")s")"
	stop_all
done
