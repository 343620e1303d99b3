#!/usr/bin/env bash
# compare-scheduler.sh measures skiff's scheduler and upstream kube-scheduler end to end, one
# after the other, each against a fresh skiff API server (no scheduler, controllers or agent of
# its own) holding NODES plain Ready nodes: test/bench/schedbench creates PODS pods of each
# workload (plain, antiaffinity, spread) and reports creation-to-binding throughput and latency.
# Both schedulers run as separate processes with client QPS and burst 5000; the CPU seconds each
# used are printed from /proc.
#
# Usage: test/bench/compare-scheduler.sh KUBE_SCHEDULER [NODES] [PODS] [WORKLOADS]
#   SCHEDULERS="skiff" (or "kube-scheduler") runs only one of them (default both).
#   KUBE_SCHEDULER is a binary built outside this repository (shared/reference/upstream-build.md).
# Uses loopback port 37443 and a temporary directory.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
kube_scheduler=${1:?usage: $0 KUBE_SCHEDULER [NODES] [PODS] [WORKLOADS]}
nodes=${2:-5000}
pods=${3:-10000}
workloads=${4:-plain antiaffinity spread}
work=$(mktemp -d /tmp/compare-scheduler.XXXXXX)
pids=()
stop_all() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/skiff" ./cmd/skiff && go build -o "$work/schedbench" ./test/bench/schedbench)
cpu_seconds() { awk '{printf "%.1f", ($14+$15)/100}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }
agent_flag=()
if "$work/skiff" server --help 2>&1 | grep -q -- --disable-agent; then agent_flag=(--disable-agent); fi

for workload in $workloads; do
	for which in ${SCHEDULERS:-skiff kube-scheduler}; do
		rm -rf "$work/data"
		"$work/skiff" server --data-dir "$work/data" --port 37443 --bind-address 127.0.0.1 --unsafe-no-fsync \
			--disable-scheduler --disable-controller-manager "${agent_flag[@]}" >"$work/server.log" 2>&1 &
		server=$!
		pids+=("$server")
		for _ in $(seq 1 500); do [[ -f "$work/data/admin.kubeconfig" ]] && grep -q "skiff server ready" "$work/server.log" && break; sleep 0.02; done
		kc="$work/data/admin.kubeconfig"
		"$work/schedbench" --kubeconfig "$kc" --nodes "$nodes" setup >/dev/null
		if [[ $which == skiff ]]; then
			"$work/skiff" scheduler --kubeconfig "$kc" --leader-elect=false >"$work/sched.log" 2>&1 &
		else
			"$kube_scheduler" --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
				--leader-elect=false --kube-api-qps 5000 --kube-api-burst 5000 --secure-port 0 >"$work/sched.log" 2>&1 &
		fi
		sched=$!
		pids+=("$sched")
		sleep 2 # the scheduler's informers sync; pods created before that wait in its queue anyway
		result=$("$work/schedbench" --kubeconfig "$kc" --pods "$pods" --workload "$workload" run)
		echo "$which nodes=$nodes $result scheduler-cpu=$(cpu_seconds "$sched")s scheduler-rss=$(rss "$sched") server-cpu=$(cpu_seconds "$server")s"
		stop_all
	done
done
