#!/usr/bin/env bash
# Joins this instance to an Amazon EKS cluster: writes the kubelet's configuration, kubeconfig and systemd drop-in
# and containerd's configuration, then starts containerd and the kubelet. Run once from the instance's user data:
#
#   /etc/eks/bootstrap.sh CLUSTER [--apiserver-endpoint URL --b64-cluster-ca CA] [--dns-cluster-ip IP]
#                         [--kubelet-extra-args ARGS] [--use-max-pods true|false] [--container-runtime containerd]
#
# This is the command line eksctl (overrideBootstrapCommand) and EKS managed node group user data use; the other
# options they pass are accepted (see usage). Instance facts come from IMDS with IMDSv2 session tokens only.
#
# Environment (all optional):
#   IMDS_ENDPOINT           base URL of the instance metadata service (default http://169.254.169.254)
#   AWS_ENDPOINT_URL_EKS    EKS API endpoint for DescribeCluster (else AWS_ENDPOINT_URL, else the AWS CLI default)
#
# Files read (shipped in the image):
#   /etc/eks/eni-max-pods.txt                      <instance type> <max pods> <max pods with prefix delegation>
#   /etc/eks/ecr-accounts.txt                      <region> <ECR account serving EKS images there>
#   /etc/containerd/config.toml                    containerd config rendered at build time (schema 2 or 3); its
#                                                  sandbox image is kept unless a --pause-container-* option is given
#   /etc/eks/image-credential-provider/config.json kubelet image credential provider config (ecr-credential-provider)
# Files written:
#   /etc/kubernetes/pki/ca.crt, /etc/kubernetes/kubelet/kubelet-config.json, /var/lib/kubelet/kubeconfig,
#   /etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf; /etc/containerd/config.toml only when the
#   sandbox image changes or --containerd-config-file is given
set -euo pipefail

readonly EKS_DIR=/etc/eks
readonly MAX_PODS_FILE=$EKS_DIR/eni-max-pods.txt
readonly ECR_ACCOUNTS_FILE=$EKS_DIR/ecr-accounts.txt
readonly CREDENTIAL_PROVIDER_DIR=$EKS_DIR/image-credential-provider
readonly CA_FILE=/etc/kubernetes/pki/ca.crt
readonly KUBELET_CONFIG=/etc/kubernetes/kubelet/kubelet-config.json
readonly KUBECONFIG_FILE=/var/lib/kubelet/kubeconfig
readonly KUBELET_DROP_IN=/etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf
readonly CONTAINERD_CONFIG=/etc/containerd/config.toml
readonly CONTAINERD_SOCKET=unix:///run/containerd/containerd.sock
readonly DEFAULT_PAUSE_TAG=3.10
IMDS_ENDPOINT=${IMDS_ENDPOINT:-http://169.254.169.254}
IMDS_ENDPOINT=${IMDS_ENDPOINT%/}
STARTED=$SECONDS

log() { echo "$(date -u '+%Y-%m-%dT%H:%M:%SZ') [eks-bootstrap] $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

usage() {
  cat <<'EOF'
usage: bootstrap.sh CLUSTER_NAME [options]

Joins this instance to the EKS cluster CLUSTER_NAME.

  --apiserver-endpoint URL     API server URL; with --b64-cluster-ca skips "aws eks describe-cluster"
  --b64-cluster-ca CA          base64 cluster CA; with --apiserver-endpoint skips "aws eks describe-cluster"
  --dns-cluster-ip IP[,IP]     cluster DNS address (default: x.y.z.10 of the service CIDR, else 172.20.0.10 when
                               the VPC has a 10.0.0.0/8 CIDR block, else 10.100.0.10)
  --service-ipv4-cidr CIDR     service CIDR, used for the default DNS address
  --kubelet-extra-args ARGS    extra kubelet flags (labels, taints, --max-pods ...)
  --use-max-pods true|false    set maxPods from /etc/eks/eni-max-pods.txt (default true)
  --container-runtime NAME     only "containerd"
  --ip-family ipv4             only ipv4
  --aws-api-retry-attempts N   retries of DescribeCluster (default 3)
  --pause-container-account ID ECR account of the pause image (default: this region's EKS account)
  --pause-container-version V  tag of the pause image
  --containerd-config-file F   containerd configuration to use instead of the image's
  -h, --help                   this help

Accepted and ignored, with a warning (no meaning on this image): --enable-docker-bridge, --docker-config-json,
--mount-bpf-fs, --local-disks, --enable-local-outpost, --cluster-id.
EOF
}

# --- arguments ----------------------------------------------------------------------------------------------------

CLUSTER_NAME=""
APISERVER_ENDPOINT=""
B64_CLUSTER_CA=""
DNS_CLUSTER_IP=""
SERVICE_IPV4_CIDR=""
KUBELET_EXTRA_ARGS=""
USE_MAX_PODS=true
CONTAINER_RUNTIME=containerd
IP_FAMILY=ipv4
API_RETRY_ATTEMPTS=3
PAUSE_CONTAINER_ACCOUNT=""
PAUSE_CONTAINER_VERSION=""
CONTAINERD_CONFIG_FILE=""

while (($# > 0)); do
  arg=$1
  shift
  if [[ $arg == --*=* ]]; then
    set -- "${arg#*=}" "$@"
    arg=${arg%%=*}
  fi
  case $arg in
    -h | --help)
      usage
      exit 0
      ;;
    --*)
      (($# > 0)) || die "option $arg needs a value (see --help)"
      value=$1
      shift
      ;;
    -*) die "unknown option $arg (see --help)" ;;
    *)
      [[ -z $CLUSTER_NAME ]] || die "unexpected argument '$arg': the cluster name is already '$CLUSTER_NAME'"
      CLUSTER_NAME=$arg
      continue
      ;;
  esac
  case $arg in
    --apiserver-endpoint) APISERVER_ENDPOINT=$value ;;
    --b64-cluster-ca) B64_CLUSTER_CA=$value ;;
    --dns-cluster-ip) DNS_CLUSTER_IP=$value ;;
    --service-ipv4-cidr) SERVICE_IPV4_CIDR=$value ;;
    --kubelet-extra-args) KUBELET_EXTRA_ARGS=$value ;;
    --use-max-pods) USE_MAX_PODS=${value,,} ;;
    --container-runtime) CONTAINER_RUNTIME=$value ;;
    --ip-family) IP_FAMILY=${value,,} ;;
    --aws-api-retry-attempts) API_RETRY_ATTEMPTS=$value ;;
    --pause-container-account) PAUSE_CONTAINER_ACCOUNT=$value ;;
    --pause-container-version) PAUSE_CONTAINER_VERSION=$value ;;
    --containerd-config-file) CONTAINERD_CONFIG_FILE=$value ;;
    --service-ipv6-cidr)
      [[ -z $value ]] || die "--service-ipv6-cidr: IPv6 clusters are not supported by this image"
      ;;
    --enable-docker-bridge | --docker-config-json | --mount-bpf-fs | --local-disks | --enable-local-outpost | --cluster-id)
      log "WARNING: $arg is ignored on this image (containerd only, no Outposts local clusters, no local-disk setup)"
      ;;
    *) die "unknown option $arg (see --help)" ;;
  esac
done

[[ -n $CLUSTER_NAME ]] || die "the cluster name is required: bootstrap.sh CLUSTER_NAME [options] (see --help)"
[[ $CLUSTER_NAME =~ ^[0-9A-Za-z][0-9A-Za-z_-]{0,99}$ ]] ||
  die "cluster name '$CLUSTER_NAME' is not valid: 1-100 letters, digits, '-' or '_', starting with a letter or digit"
[[ $USE_MAX_PODS == true || $USE_MAX_PODS == false ]] || die "--use-max-pods must be true or false, not '$USE_MAX_PODS'"
[[ $CONTAINER_RUNTIME == containerd ]] || die "--container-runtime '$CONTAINER_RUNTIME' is not supported: only containerd"
[[ $IP_FAMILY == ipv4 ]] || die "--ip-family '$IP_FAMILY' is not supported by this image: only ipv4"
[[ $API_RETRY_ATTEMPTS =~ ^[0-9]+$ ]] || die "--aws-api-retry-attempts must be a whole number, not '$API_RETRY_ATTEMPTS'"
if [[ -n $APISERVER_ENDPOINT && ! $APISERVER_ENDPOINT =~ ^https?://[^[:space:]\"\'\\]+$ ]]; then
  die "--apiserver-endpoint '$APISERVER_ENDPOINT' is not an http(s) URL"
fi
containerd_source=${CONTAINERD_CONFIG_FILE:-$CONTAINERD_CONFIG}
[[ -f $containerd_source ]] || die "containerd configuration $containerd_source does not exist"
log "INFO: joining cluster '$CLUSTER_NAME'"

# --- instance metadata (IMDSv2 only) ------------------------------------------------------------------------------

curl_imds() { curl --silent --show-error --fail --retry 5 --retry-connrefused --retry-delay 1 --max-time 10 "$@"; }

IMDS_TOKEN=$(curl_imds -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 900' "$IMDS_ENDPOINT/latest/api/token") ||
  die "could not get an IMDSv2 token from $IMDS_ENDPOINT (PUT /latest/api/token)"

imds() {
  curl_imds -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS_ENDPOINT/latest/meta-data/$1" ||
    die "instance metadata $1 is unavailable from $IMDS_ENDPOINT"
}

REGION=$(imds placement/region)
AVAILABILITY_ZONE=$(imds placement/availability-zone)
INSTANCE_ID=$(imds instance-id)
INSTANCE_TYPE=$(imds instance-type)
NODE_IP=$(imds local-ipv4)
NODE_NAME=$(imds local-hostname)
NODE_NAME=${NODE_NAME%% *}
AWS_DOMAIN=$(imds services/domain)
MAC=$(imds mac)
log "INFO: $INSTANCE_ID ($INSTANCE_TYPE) in $AVAILABILITY_ZONE, node IP $NODE_IP, name $NODE_NAME"

# --- cluster endpoint and CA --------------------------------------------------------------------------------------

aws_eks() {
  local endpoint=${AWS_ENDPOINT_URL_EKS:-${AWS_ENDPOINT_URL:-}}
  local args=(--region "$REGION")
  [[ -z $endpoint ]] || args+=(--endpoint-url "$endpoint")
  aws "${args[@]}" eks "$@"
}

if [[ -n $APISERVER_ENDPOINT && -n $B64_CLUSTER_CA ]]; then
  log "INFO: endpoint and CA given: not calling DescribeCluster"
else
  command -v aws >/dev/null || die "the AWS CLI (aws) is needed to describe cluster '$CLUSTER_NAME'; or pass --apiserver-endpoint and --b64-cluster-ca"
  log "INFO: describing cluster '$CLUSTER_NAME' in $REGION"
  described=""
  for ((attempt = 0; attempt <= API_RETRY_ATTEMPTS; attempt++)); do
    if ((attempt > 0)); then
      log "INFO: DescribeCluster retry $attempt of $API_RETRY_ATTEMPTS"
      sleep $((2 ** attempt + RANDOM % 3))
    fi
    if described=$(aws_eks describe-cluster --name "$CLUSTER_NAME" --output text \
      --query 'cluster.[status, endpoint, certificateAuthority.data, kubernetesNetworkConfig.serviceIpv4Cidr, kubernetesNetworkConfig.ipFamily]'); then
      read -r status endpoint ca service_cidr ip_family <<<"$described"
      if [[ $endpoint != None && $ca != None && -n $ca ]]; then
        break
      fi
      log "WARNING: cluster '$CLUSTER_NAME' is $status and has no endpoint or CA yet"
    fi
    described=""
  done
  [[ -n $described ]] || die "could not describe cluster '$CLUSTER_NAME' in $REGION after $((API_RETRY_ATTEMPTS + 1)) attempts"
  [[ -n $APISERVER_ENDPOINT ]] || APISERVER_ENDPOINT=$endpoint
  [[ -n $B64_CLUSTER_CA ]] || B64_CLUSTER_CA=$ca
  [[ -n $SERVICE_IPV4_CIDR || $service_cidr == None ]] || SERVICE_IPV4_CIDR=$service_cidr
  [[ $ip_family == None || ${ip_family,,} == ipv4 ]] || die "cluster '$CLUSTER_NAME' is $ip_family; this image supports ipv4 only"
fi

# --- cluster DNS --------------------------------------------------------------------------------------------------

if [[ -z $DNS_CLUSTER_IP ]]; then
  if [[ -n $SERVICE_IPV4_CIDR ]]; then
    DNS_CLUSTER_IP=${SERVICE_IPV4_CIDR%.*}.10
  else
    vpc_cidrs=$(imds "network/interfaces/macs/$MAC/vpc-ipv4-cidr-blocks")
    if grep -q '^10\.' <<<"$vpc_cidrs"; then
      DNS_CLUSTER_IP=172.20.0.10
    else
      DNS_CLUSTER_IP=10.100.0.10
    fi
  fi
fi
IFS=, read -r -a dns_ips <<<"$DNS_CLUSTER_IP"
for ip in "${dns_ips[@]}"; do
  [[ $ip =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "cluster DNS address '$ip' is not an IPv4 address"
done
cluster_dns_json=$(printf '"%s", ' "${dns_ips[@]}")
cluster_dns_json="[${cluster_dns_json%, }]"
log "INFO: cluster DNS $DNS_CLUSTER_IP"

# --- max pods and reservations ------------------------------------------------------------------------------------

table_max_pods=""
if [[ -f $MAX_PODS_FILE ]]; then
  table_max_pods=$(awk -v type="$INSTANCE_TYPE" '$1 == type { print $2; exit }' "$MAX_PODS_FILE")
fi
max_pods_json=""
if [[ $USE_MAX_PODS == true ]]; then
  [[ -n $table_max_pods ]] ||
    die "instance type '$INSTANCE_TYPE' is not in $MAX_PODS_FILE: pass --use-max-pods false and --kubelet-extra-args '--max-pods=N', or rebuild the image"
  [[ $table_max_pods =~ ^[0-9]+$ ]] || die "$MAX_PODS_FILE has '$table_max_pods' for $INSTANCE_TYPE, not a number"
  max_pods_json="
  \"maxPods\": $table_max_pods,"
  log "INFO: maxPods $table_max_pods for $INSTANCE_TYPE"
fi

# Memory kept for the kubelet and runtime grows with pod density: 11 MiB per pod + 255 MiB, counting the pods this
# node may run (--max-pods in the extra args wins, then the table, then the kubelet default of 110).
reserve_pods=${table_max_pods:-110}
if [[ $KUBELET_EXTRA_ARGS =~ --max-pods[=[:space:]]+([0-9]+) ]]; then
  reserve_pods=${BASH_REMATCH[1]}
fi
reserved_memory_mib=$((11 * reserve_pods + 255))

# CPU kept back, by slices of the node's cores: 6% of the first, 1% of the second, 0.5% of the next two, 0.25% above.
cpu_millicores_to_reserve() {
  local total=$(($(nproc) * 1000)) reserved=0 i low high
  local -a bounds=(0 1000 2000 4000 "$total") hundredths=(600 100 50 25)
  for i in 0 1 2 3; do
    low=${bounds[i]}
    high=${bounds[i + 1]}
    ((high < total)) || high=$total
    ((total > low)) || continue
    reserved=$((reserved + (high - low) * hundredths[i] / 10000))
  done
  echo "$reserved"
}
reserved_cpu_m=$(cpu_millicores_to_reserve)

# protectKernelDefaults makes the kubelet refuse to start unless these tunables already have the values it wants, so
# it is only turned on when the image (a sysctl.d file) has set them all.
protect_kernel_defaults=true
for tunable in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
  kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
  if [[ $(cat "/proc/sys/${tunable%=*}" 2>/dev/null) != "${tunable#*=}" ]]; then
    protect_kernel_defaults=false
    log "WARNING: ${tunable%=*} is not ${tunable#*=}: protectKernelDefaults off (the kubelet sets the kernel tunables itself)"
  fi
done

# --- files --------------------------------------------------------------------------------------------------------

install -d -m 0755 "${CA_FILE%/*}" "${KUBELET_CONFIG%/*}" "${KUBECONFIG_FILE%/*}" "${KUBELET_DROP_IN%/*}" "${CONTAINERD_CONFIG%/*}"

base64 -d <<<"$B64_CLUSTER_CA" >"$CA_FILE" 2>/dev/null || die "the cluster CA (--b64-cluster-ca or DescribeCluster) is not valid base64"
[[ -s $CA_FILE ]] || die "the cluster CA is empty"
grep -q -e '-----BEGIN CERTIFICATE-----' "$CA_FILE" || log "WARNING: the cluster CA in $CA_FILE is not a PEM certificate"
chmod 0644 "$CA_FILE"

cat >"$KUBELET_CONFIG" <<EOF
{
  "kind": "KubeletConfiguration",
  "apiVersion": "kubelet.config.k8s.io/v1beta1",
  "address": "0.0.0.0",
  "authentication": {
    "anonymous": { "enabled": false },
    "webhook": { "cacheTTL": "2m0s", "enabled": true },
    "x509": { "clientCAFile": "$CA_FILE" }
  },
  "authorization": {
    "mode": "Webhook",
    "webhook": { "cacheAuthorizedTTL": "5m0s", "cacheUnauthorizedTTL": "30s" }
  },
  "clusterDomain": "cluster.local",
  "clusterDNS": $cluster_dns_json,$max_pods_json
  "providerID": "aws:///$AVAILABILITY_ZONE/$INSTANCE_ID",
  "cgroupDriver": "systemd",
  "containerRuntimeEndpoint": "$CONTAINERD_SOCKET",
  "hairpinMode": "hairpin-veth",
  "readOnlyPort": 0,
  "protectKernelDefaults": $protect_kernel_defaults,
  "serializeImagePulls": false,
  "serverTLSBootstrap": true,
  "featureGates": { "RotateKubeletServerCertificate": true },
  "tlsCipherSuites": [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"
  ],
  "evictionHard": { "memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%" },
  "kubeReserved": { "cpu": "${reserved_cpu_m}m", "memory": "${reserved_memory_mib}Mi", "ephemeral-storage": "1Gi" }
}
EOF
chmod 0644 "$KUBELET_CONFIG"

# The kubelet authenticates with a token from the node's IAM role: aws-iam-authenticator when the image has it,
# else the AWS CLI.
if authenticator=$(command -v aws-iam-authenticator); then
  token_command=$authenticator
  token_args="[\"token\", \"-i\", \"$CLUSTER_NAME\", \"--region\", \"$REGION\"]"
elif authenticator=$(command -v aws); then
  token_command=$authenticator
  token_args="[\"--region\", \"$REGION\", \"eks\", \"get-token\", \"--cluster-name\", \"$CLUSTER_NAME\"]"
else
  die "neither aws-iam-authenticator nor aws is installed: the kubelet cannot authenticate to the cluster"
fi
cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: kubernetes
    cluster:
      certificate-authority: $CA_FILE
      server: "$APISERVER_ENDPOINT"
contexts:
  - name: kubelet
    context:
      cluster: kubernetes
      user: kubelet
current-context: kubelet
users:
  - name: kubelet
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: "$token_command"
        args: $token_args
EOF
chmod 0600 "$KUBECONFIG_FILE"

# --- kubelet systemd drop-in --------------------------------------------------------------------------------------

kubelet_args="--config=$KUBELET_CONFIG --kubeconfig=$KUBECONFIG_FILE --node-ip=$NODE_IP --hostname-override=$NODE_NAME --cloud-provider=external --v=2"
credential_bin_dir=""
if [[ -x $CREDENTIAL_PROVIDER_DIR/ecr-credential-provider ]]; then
  credential_bin_dir=$CREDENTIAL_PROVIDER_DIR
elif provider=$(command -v ecr-credential-provider); then
  credential_bin_dir=${provider%/*}
fi
if [[ -n $credential_bin_dir ]]; then
  kubelet_args+=" --image-credential-provider-config=$CREDENTIAL_PROVIDER_DIR/config.json --image-credential-provider-bin-dir=$credential_bin_dir"
else
  log "WARNING: ecr-credential-provider not found: the kubelet cannot pull private ECR images with the node role"
fi
kubelet_bin=$(command -v kubelet || echo /usr/bin/kubelet)

# A systemd Environment= value: backslashes and double quotes escaped, % doubled (specifiers).
systemd_quote() {
  local v=${1//\\/\\\\}
  v=${v//\"/\\\"}
  printf '"%s"' "${v//%/%%}"
}
cat >"$KUBELET_DROP_IN" <<EOF
# Written by /etc/eks/bootstrap.sh for cluster $CLUSTER_NAME.
[Service]
Environment=$(systemd_quote "KUBELET_ARGS=$kubelet_args")
Environment=$(systemd_quote "KUBELET_EXTRA_ARGS=$KUBELET_EXTRA_ARGS")
ExecStart=
ExecStart=$kubelet_bin \$KUBELET_ARGS \$KUBELET_EXTRA_ARGS
EOF
chmod 0644 "$KUBELET_DROP_IN"

# --- containerd ---------------------------------------------------------------------------------------------------

# The pause image: the account/version options build this region's EKS ECR reference; otherwise the one in the
# image's containerd configuration is kept (the build pre-pulls it, so no registry credentials are needed in any
# region). Schema 2 names it sandbox_image, schema 3 (containerd 2.x) pinned_images.sandbox.
readonly SANDBOX_LINE='^([[:space:]]*(sandbox_image|sandbox)[[:space:]]*=[[:space:]]*)"([^"]*)"'
containerd_config=$(cat "$containerd_source")
image_pause=$(sed -nE "s/$SANDBOX_LINE.*/\\3/p" <<<"$containerd_config" | head -n 1)
ecr_account_of() { awk -v region="$1" '$1 == region { print $2; exit }' "$ECR_ACCOUNTS_FILE" 2>/dev/null || true; }
pull_sandbox=false
if [[ -n $PAUSE_CONTAINER_ACCOUNT || -n $PAUSE_CONTAINER_VERSION || -z $image_pause ]]; then
  account=${PAUSE_CONTAINER_ACCOUNT:-$(ecr_account_of "$REGION")}
  if [[ -z $account ]]; then
    account=602401143452
    log "WARNING: no EKS ECR account for $REGION in $ECR_ACCOUNTS_FILE: using $account; pass --pause-container-account"
  fi
  tag=$PAUSE_CONTAINER_VERSION
  last=${image_pause##*/}
  if [[ -z $tag && $last == *:* && $image_pause != *@* ]]; then
    tag=${last##*:}
  fi
  tag=${tag:-$DEFAULT_PAUSE_TAG}
  SANDBOX_IMAGE=$account.dkr.ecr.$REGION.$AWS_DOMAIN/eks/pause:$tag
  [[ $SANDBOX_IMAGE =~ ^[A-Za-z0-9./:@_-]+$ ]] || die "pause image '$SANDBOX_IMAGE' is not a valid image reference"
  if [[ $SANDBOX_IMAGE != "$image_pause" ]]; then
    grep -qE "$SANDBOX_LINE" <<<"$containerd_config" ||
      die "$containerd_source has no sandbox_image (schema 2) or sandbox (schema 3) setting to put $SANDBOX_IMAGE in"
    containerd_config=$(sed -E "s#$SANDBOX_LINE#\\1\"$SANDBOX_IMAGE\"#" <<<"$containerd_config")
    pull_sandbox=true
  fi
else
  SANDBOX_IMAGE=$image_pause
fi
log "INFO: sandbox (pause) image $SANDBOX_IMAGE"

containerd_changed=false
if [[ ! -f $CONTAINERD_CONFIG ]] || [[ $(cat "$CONTAINERD_CONFIG") != "$containerd_config" ]]; then
  printf '%s\n' "$containerd_config" >"$CONTAINERD_CONFIG"
  chmod 0644 "$CONTAINERD_CONFIG"
  containerd_changed=true
fi
if command -v containerd >/dev/null; then
  containerd --config "$CONTAINERD_CONFIG" config dump >/dev/null || die "containerd rejects $CONTAINERD_CONFIG"
fi

# --- services -----------------------------------------------------------------------------------------------------

systemctl daemon-reload
systemctl enable containerd
if [[ $containerd_changed == true ]]; then
  systemctl restart containerd
else
  systemctl start containerd
fi

# containerd pulls the sandbox image without registry credentials; a private ECR image not already in its store
# is pulled here with the node role's ECR token.
if [[ $pull_sandbox == true && $SANDBOX_IMAGE == *.dkr.ecr.* ]]; then
  if command -v ctr >/dev/null && command -v aws >/dev/null; then
    log "INFO: pulling $SANDBOX_IMAGE with an ECR token"
    ecr_password=$(aws ecr get-login-password --region "$REGION") || die "could not get an ECR token to pull $SANDBOX_IMAGE"
    ctr --namespace k8s.io images pull --user "AWS:$ecr_password" "$SANDBOX_IMAGE" >/dev/null ||
      die "could not pull the pause image $SANDBOX_IMAGE"
  else
    log "WARNING: ctr or aws missing: $SANDBOX_IMAGE is not pre-pulled and containerd may fail to pull it"
  fi
fi

systemctl enable kubelet
systemctl restart kubelet
log "INFO: done in $((SECONDS - STARTED)) s: kubelet started for cluster '$CLUSTER_NAME'"
