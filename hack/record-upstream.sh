#!/usr/bin/env bash
# record-upstream.sh feeds the manifests under testdata/upstream/ to a real upstream
# kube-apiserver and records what it answers, for test/upstream to compare skiff against:
#
#   testdata/upstream/defaulted/<manifest>.json     each valid manifest, created, then read back
#   testdata/upstream/invalid/<manifest>.status.json the Status of each rejected manifest
#   testdata/upstream/tables/<resource>.json        the Table of every kind (label test=upstream)
#   testdata/upstream/patches/<case>.result.json    each <case>.object.yaml, created, then patched with
#                                                   <case>.patch.json as a strategic merge patch: the
#                                                   patched object, or the Status of the refusal
#   testdata/upstream/apply/<case>.<step>.json      server-side apply of <case>.yaml: 1-applied (created
#                                                   by apply, manager test-applier), 2-conflict (the 409
#                                                   of <case>.conflict.yaml applied by test-other),
#                                                   3-forced (the same with force=true), 4-updated
#                                                   (<case>.update.json as a merge patch by test-updater)
#   testdata/upstream/explain/<field>.txt           the output of kubectl explain for each line of
#                                                   explain/FIELDS (the kubectl on PATH, a fresh cache
#                                                   directory)
#
# Usage: hack/record-upstream.sh [KUBE_APISERVER [ETCD]]
#   or   KUBE_APISERVER=/path/kube-apiserver ETCD=/path/etcd hack/record-upstream.sh
#
# The binaries are built outside this repository (see the upstream build guide in shared/reference).
# Needs curl, openssl, jq and yq (the jq wrapper). Starts etcd and kube-apiserver on loopback ports
# (UPSTREAM_PORT, default 26443; ETCD_PORT, default 23790), in a temporary directory that is removed
# on exit together with the processes it started. Re-running overwrites the recorded files.
# kubectl is needed for the explain output.
#
# The replay in test/upstream/upstream_test.go must do exactly what this script does, in the same
# order: create the namespaces upstream-test and upstream-limits, a ServiceAccount "default" in each
# (no controller-manager runs here, so its serviceaccounts controller is emulated: admission leaves
# ServiceAccount enabled, as upstream does by default, and it needs that account to admit pods),
# then POST each manifest (YAML body, sorted by file name) to its collection, in namespace
# upstream-test unless the manifest names one, and GET it back; then send the invalid manifests,
# list the tables, and run the patch cases and the apply cases (each sorted by file name, in
# namespace upstream-test).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
data=$repo/testdata/upstream
apiserver=${1:-${KUBE_APISERVER:-}}
etcd=${2:-${ETCD:-}}
if [[ -z $apiserver || -z $etcd ]]; then
	echo "usage: $0 KUBE_APISERVER ETCD (or set KUBE_APISERVER and ETCD)" >&2
	exit 2
fi
for tool in curl openssl jq yq kubectl; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is required" >&2; exit 2; }
done
api_port=${UPSTREAM_PORT:-26443}
etcd_port=${ETCD_PORT:-23790}
for p in "$api_port" "$etcd_port" $((etcd_port + 1)); do
	if ss -ltnH "sport = :$p" | grep -q .; then
		echo "$0: port $p is in use (set UPSTREAM_PORT / ETCD_PORT)" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/record-upstream.XXXXXX)
pids=()
cleanup() {
	# The API server first, while etcd still answers, then etcd; each gets 10 seconds.
	local i pid
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

log() { echo "--- $(date +%T) $*" >&2; }

# --- certificates -------------------------------------------------------------------------------
pki=$work/pki
mkdir -p "$pki"
(
	cd "$pki"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
		-subj "/CN=record-upstream-ca" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,IP:10.43.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile server.ext -out server.crt 2>/dev/null
	# The same identity as skiff's admin kubeconfig, so that fields filled from the requesting
	# user (a CertificateSigningRequest's username and groups) can be compared.
	openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=system:admin" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >admin.ext
	openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile admin.ext -out admin.crt 2>/dev/null
	openssl genrsa -out sa.key 2048 2>/dev/null
	openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
)

# --- etcd and kube-apiserver --------------------------------------------------------------------
log "starting etcd on 127.0.0.1:$etcd_port"
"$etcd" --name record-upstream --data-dir "$work/etcd" \
	--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
	--listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
	--initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
	--initial-cluster "record-upstream=http://127.0.0.1:$((etcd_port + 1))" \
	--unsafe-no-fsync >"$work/etcd.log" 2>&1 &
pids+=($!)

log "starting kube-apiserver on 127.0.0.1:$api_port"
"$apiserver" \
	--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
	--etcd-servers "http://127.0.0.1:$etcd_port" \
	--client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/server.crt" --tls-private-key-file "$pki/server.key" \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--service-account-issuer https://kubernetes.default.svc \
	--service-cluster-ip-range 10.43.0.0/16 \
	--authorization-mode Node,RBAC \
	--endpoint-reconciler-type none \
	--cert-dir "$work/certs" >"$work/apiserver.log" 2>&1 &
pids+=($!)

base=https://127.0.0.1:$api_port
kcurl() {
	curl -sS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"
}

for i in $(seq 1 120); do
	if [[ $(kcurl -o /dev/null -w '%{http_code}' "$base/readyz" 2>/dev/null) == 200 ]]; then
		break
	fi
	if ((i == 120)); then
		echo "kube-apiserver did not become ready; its log:" >&2
		tail -50 "$work/apiserver.log" >&2
		exit 1
	fi
	sleep 1
done
log "ready: $(kcurl "$base/version" | jq -r .gitVersion)"

# post BODY_FILE CONTENT_TYPE URL OUT: writes the response to OUT, prints the HTTP status.
post() {
	kcurl -o "$4" -w '%{http_code}' -X POST -H "Content-Type: $2" -H 'Accept: application/json' \
		--data-binary "@$1" "$3"
}

# --- namespaces and their default ServiceAccounts -----------------------------------------------
for ns in upstream-test upstream-limits; do
	echo "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >"$work/ns.json"
	[[ $(post "$work/ns.json" application/json "$base/api/v1/namespaces" "$work/out.json") == 201 ]] ||
		{ cat "$work/out.json" >&2; exit 1; }
	echo '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}' >"$work/sa.json"
	[[ $(post "$work/sa.json" application/json "$base/api/v1/namespaces/$ns/serviceaccounts" "$work/out.json") == 201 ]] ||
		{ cat "$work/out.json" >&2; exit 1; }
done

# resource APIVERSION KIND: prints "PLURAL NAMESPACED" from discovery.
resource() {
	local path
	if [[ $1 == */* ]]; then path=/apis/$1; else path=/api/$1; fi
	kcurl "$base$path" | jq -r --arg kind "$2" \
		'.resources[] | select(.kind == $kind and (.name | contains("/") | not)) | "\(.name) \(.namespaced)"'
}

# collection MANIFEST: prints the collection URL of the manifest's kind, and records the list URL
# of its Table in $work/tables ("RESOURCE URL").
collection() {
	local av kind ns prefix res namespaced
	read -r av kind ns < <(yq -r '"\(.apiVersion) \(.kind) \(.metadata.namespace // "upstream-test")"' "$1")
	if [[ $av == */* ]]; then prefix=$base/apis/$av; else prefix=$base/api/$av; fi
	read -r res namespaced < <(resource "$av" "$kind") || true
	if [[ -z $res ]]; then
		echo "$0: $1: the server does not serve $kind in $av" >&2
		return 1
	fi
	echo "$res $prefix/$res?labelSelector=test%3Dupstream" >>"$work/tables"
	if [[ $namespaced == true ]]; then
		echo "$prefix/namespaces/$ns/$res"
	else
		echo "$prefix/$res"
	fi
}

# settle KIND URL: waits for what the API server itself does to a new object after creating it,
# so that the read-back is stable.
settle() {
	local i
	case $1 in
	CustomResourceDefinition)
		for i in $(seq 1 50); do
			kcurl "$2" >"$work/crd.json"
			if jq -e '.status.conditions[]? | select(.type == "Established" and .status == "True")' "$work/crd.json" >/dev/null &&
				[[ $(kcurl -o /dev/null -w '%{http_code}' "$base/apis/$(jq -r '.spec.group + "/" + .spec.versions[0].name' "$work/crd.json")") == 200 ]]; then
				return
			fi
			sleep 0.2
		done
		echo "$0: $2 was not established" >&2
		return 1
		;;
	esac
}

# --- valid manifests ----------------------------------------------------------------------------
rm -rf "$data/defaulted" "$data/tables"
mkdir -p "$data/defaulted" "$data/tables"
: >"$work/tables"
count=0
for f in "$data"/manifests/*.yaml; do
	name=$(basename "$f" .yaml)
	url=$(collection "$f")
	code=$(post "$f" application/yaml "$url" "$work/out.json")
	if [[ $code != 201 ]]; then
		echo "$0: $name: HTTP $code" >&2
		jq . "$work/out.json" >&2
		exit 1
	fi
	obj=$url/$(jq -r .metadata.name "$work/out.json")
	settle "$(jq -r .kind "$work/out.json")" "$obj"
	kcurl -H 'Accept: application/json' "$obj" | jq . >"$data/defaulted/$name.json"
	log "created $name"
	count=$((count + 1))
done
log "recorded $count defaulted objects"

# --- invalid manifests --------------------------------------------------------------------------
rm -f "$data"/invalid/*.status.json
count=0
for f in "$data"/invalid/*.yaml; do
	name=$(basename "$f" .yaml)
	url=$(collection "$f")
	code=$(post "$f" application/yaml "$url" "$work/out.json")
	if [[ $code == 2* ]]; then
		echo "$0: invalid/$name was accepted (HTTP $code)" >&2
		exit 1
	fi
	jq . "$work/out.json" >"$data/invalid/$name.status.json"
	count=$((count + 1))
done
log "recorded $count rejections"

# --- tables -------------------------------------------------------------------------------------
count=0
while read -r res url; do
	kcurl -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' "$url" | jq . >"$data/tables/$res.json"
	count=$((count + 1))
done < <(sort -u "$work/tables")
log "recorded $count tables"

# request METHOD CONTENT_TYPE URL BODY_FILE OUT: writes the response to OUT, prints the HTTP status.
request() {
	kcurl -o "$5" -w '%{http_code}' -X "$1" -H "Content-Type: $2" -H 'Accept: application/json' \
		--data-binary "@$4" "$3"
}

# --- strategic merge patches --------------------------------------------------------------------
rm -f "$data"/patches/*.result.json
count=0
for f in "$data"/patches/*.object.yaml; do
	name=$(basename "$f" .object.yaml)
	url=$(collection "$f")
	code=$(post "$f" application/yaml "$url" "$work/out.json")
	if [[ $code != 201 ]]; then
		echo "$0: patches/$name: create: HTTP $code" >&2
		jq . "$work/out.json" >&2
		exit 1
	fi
	obj=$url/$(jq -r .metadata.name "$work/out.json")
	code=$(request PATCH application/strategic-merge-patch+json "$obj" "$data/patches/$name.patch.json" "$work/out.json")
	jq . "$work/out.json" >"$data/patches/$name.result.json"
	log "patched $name: HTTP $code"
	count=$((count + 1))
done
log "recorded $count strategic merge patches"

# --- server-side apply --------------------------------------------------------------------------
rm -f "$data"/apply/*.[1-4]-*.json
# step NAME OBJECT_URL STEP EXPECTED_CODE METHOD CONTENT_TYPE QUERY BODY: records one step of a case.
step() {
	local code
	code=$(request "$5" "$6" "$2?$7" "$8" "$work/out.json")
	if [[ $code != "$4" ]]; then
		echo "$0: apply/$1: $3: HTTP $code, want $4" >&2
		jq . "$work/out.json" >&2
		exit 1
	fi
	jq . "$work/out.json" >"$data/apply/$1.$3.json"
}
count=0
for f in "$data"/apply/*.yaml; do
	[[ $f == *.conflict.yaml ]] && continue
	name=$(basename "$f" .yaml)
	obj=$(collection "$f")/$(yq -r .metadata.name "$f")
	step "$name" "$obj" 1-applied 201 PATCH application/apply-patch+yaml fieldManager=test-applier "$f"
	step "$name" "$obj" 2-conflict 409 PATCH application/apply-patch+yaml fieldManager=test-other "$data/apply/$name.conflict.yaml"
	step "$name" "$obj" 3-forced 200 PATCH application/apply-patch+yaml 'fieldManager=test-other&force=true' "$data/apply/$name.conflict.yaml"
	step "$name" "$obj" 4-updated 200 PATCH application/merge-patch+json fieldManager=test-updater "$data/apply/$name.update.json"
	log "applied $name"
	count=$((count + 1))
done
log "recorded $count server-side apply cases"

# --- kubectl explain ----------------------------------------------------------------------------
# explain/FIELDS names the fields, one a line: the output file's name, then kubectl explain's
# arguments.
kubeconfig=$work/kubeconfig
cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: upstream
  cluster:
    server: $base
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: upstream
  context:
    cluster: upstream
    user: admin
current-context: upstream
EOF
mkdir -p "$data/explain"
rm -f "$data"/explain/*.txt
count=0
while read -r file args; do
	[[ -z $file || $file == \#* ]] && continue
	# shellcheck disable=SC2086 # args are words
	kubectl --kubeconfig "$kubeconfig" --cache-dir "$work/kubectl-cache" explain $args </dev/null >"$data/explain/$file.txt"
	count=$((count + 1))
done <"$data/explain/FIELDS"
log "recorded $count kubectl explain outputs"
