#!/usr/bin/env bash
# Joins this instance to an Amazon EKS cluster: writes the kubelet's configuration, kubeconfig and systemd drop-in
# and containerd's configuration, then starts containerd and the kubelet. Run once from the instance's user data:
#
#   /etc/eks/bootstrap.sh CLUSTER [--apiserver-endpoint URL --b64-cluster-ca CA] [--dns-cluster-ip IP]
#                         [--kubelet-extra-args ARGS] [--use-max-pods true|false] [--container-runtime containerd]
#
# This is the command line eksctl (overrideBootstrapCommand) and EKS managed node group user data use; the other
# options they pass are accepted (see usage). Instance facts come from IMDS with IMDSv2 session tokens only.
# NodeConfig user data (node.eks.aws/v1alpha1) is translated into a call of this script by
# /usr/local/bin/eks-nodeconfig (eks-nodeconfig.service), so both kinds of user data configure a node the same way.
#
# AWS calls (the AWS CLI with the node role): ec2:DescribeInstances for the node name (the instance's
# PrivateDnsName, which the EKS node authorizer expects), ec2:DescribeInstanceTypes only for an instance type the
# max-pods table lacks, eks:DescribeCluster only without --apiserver-endpoint/--b64-cluster-ca, ecr:GetAuthorizationToken
# only for a --pause-container-* image. AmazonEKSWorkerNodePolicy and AmazonEC2ContainerRegistryReadOnly allow them.
#
# Environment (all optional):
#   IMDS_ENDPOINT           base URL of the instance metadata service (default http://169.254.169.254)
#   AWS_ENDPOINT_URL_EKS    EKS API endpoint for DescribeCluster (else AWS_ENDPOINT_URL, else the AWS CLI default)
#   AWS_ENDPOINT_URL_EC2    EC2 API endpoint for DescribeInstances/DescribeInstanceTypes (else AWS_ENDPOINT_URL)
#   AWS_ENDPOINT_URL_ECR    ECR API endpoint for the pause image's token (else AWS_ENDPOINT_URL)
#   EKS_KUBELET_NO_BLOCK    true: start the kubelet with systemctl --no-block (set by eks-nodeconfig.service, which
#                           is ordered before kubelet.service and would otherwise wait for itself)
#
# Files read (shipped in the image):
#   /etc/eks/eni-max-pods.txt                      <instance type> <max pods> <max pods with prefix delegation>
#   /etc/eks/ecr-accounts.txt                      <region> <ECR account serving EKS images there>
#   /etc/eks/pause-image.tar                       the build's export of the sandbox image, re-imported when
#                                                  containerd's store has lost it
#   /etc/containerd/config.toml                    containerd config rendered at build time (schema 2 or 3); its
#                                                  sandbox image is kept unless a --pause-container-* option is given
#   /etc/eks/image-credential-provider/config.json kubelet image credential provider config (ecr-credential-provider)
# Files written:
#   /etc/kubernetes/pki/ca.crt, /etc/kubernetes/kubelet/kubelet-config.json, /var/lib/kubelet/kubeconfig,
#   /etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf; /etc/containerd/config.toml only when the
#   sandbox image changes or --containerd-config-file is given; /etc/containerd/config.d/50-bootstrap.toml with
#   --containerd-config-dropin
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
readonly CONTAINERD_DROPIN=/etc/containerd/config.d/50-bootstrap.toml
readonly PAUSE_IMAGE_EXPORT=$EKS_DIR/pause-image.tar
readonly PINNED_LABEL=io.cri-containerd.pinned=pinned
# The kubelet's own default, and what the official EKS nodes (nodeadm) use when the instance type is unknown.
readonly FALLBACK_MAX_PODS=110
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
  --kubelet-config-overrides F JSON object merged over the kubelet configuration this script writes (objects
                               merged key by key, other values replaced), e.g. NodeConfig's kubelet.config
  --use-max-pods true|false    set maxPods from /etc/eks/eni-max-pods.txt (default true); for an instance type
                               the table lacks, from EC2 DescribeInstanceTypes, else 110 with a warning
  --cni-prefix-delegation-enabled true|false
                               the VPC CNI assigns /28 prefixes (ENABLE_PREFIX_DELEGATION=true): maxPods from the
                               table's prefix-delegation column (default false)
  --container-runtime NAME     only "containerd"
  --ip-family ipv4             only ipv4
  --aws-api-retry-attempts N   retries of each AWS API call (DescribeInstances, DescribeCluster...), with
                               exponential backoff (default 5)
  --pause-container-account ID ECR account of the pause image (default: this region's EKS account)
  --pause-container-version V  tag of the pause image
  --containerd-config-file F   containerd configuration to use instead of the image's
  --containerd-config-dropin F TOML fragment installed as /etc/containerd/config.d/50-bootstrap.toml (the image's
                               containerd configuration imports config.d/*.toml), e.g. NodeConfig's containerd.config
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
API_RETRY_ATTEMPTS=5
PAUSE_CONTAINER_ACCOUNT=""
PAUSE_CONTAINER_VERSION=""
CONTAINERD_CONFIG_FILE=""
CONTAINERD_CONFIG_DROPIN_FILE=""
KUBELET_CONFIG_OVERRIDES=""
PREFIX_DELEGATION=false

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
    --cni-prefix-delegation-enabled) PREFIX_DELEGATION=${value,,} ;;
    --kubelet-config-overrides) KUBELET_CONFIG_OVERRIDES=$value ;;
    --containerd-config-dropin) CONTAINERD_CONFIG_DROPIN_FILE=$value ;;
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
[[ $PREFIX_DELEGATION == true || $PREFIX_DELEGATION == false ]] ||
  die "--cni-prefix-delegation-enabled must be true or false, not '$PREFIX_DELEGATION'"
[[ $CONTAINER_RUNTIME == containerd ]] || die "--container-runtime '$CONTAINER_RUNTIME' is not supported: only containerd"
[[ $IP_FAMILY == ipv4 ]] || die "--ip-family '$IP_FAMILY' is not supported by this image: only ipv4"
[[ $API_RETRY_ATTEMPTS =~ ^[0-9]+$ ]] || die "--aws-api-retry-attempts must be a whole number, not '$API_RETRY_ATTEMPTS'"
if [[ -n $APISERVER_ENDPOINT && ! $APISERVER_ENDPOINT =~ ^https?://[^[:space:]\"\'\\]+$ ]]; then
  die "--apiserver-endpoint '$APISERVER_ENDPOINT' is not an http(s) URL"
fi
containerd_source=${CONTAINERD_CONFIG_FILE:-$CONTAINERD_CONFIG}
[[ -f $containerd_source ]] || die "containerd configuration $containerd_source does not exist"
if [[ -n $KUBELET_CONFIG_OVERRIDES ]]; then
  command -v jq >/dev/null || die "jq is needed to merge --kubelet-config-overrides $KUBELET_CONFIG_OVERRIDES"
  [[ -r $KUBELET_CONFIG_OVERRIDES ]] || die "--kubelet-config-overrides $KUBELET_CONFIG_OVERRIDES is not a readable file"
  jq -e 'type == "object"' "$KUBELET_CONFIG_OVERRIDES" >/dev/null 2>&1 ||
    die "--kubelet-config-overrides $KUBELET_CONFIG_OVERRIDES must hold one JSON object (KubeletConfiguration fields)"
fi
if [[ -n $CONTAINERD_CONFIG_DROPIN_FILE ]]; then
  [[ -r $CONTAINERD_CONFIG_DROPIN_FILE ]] || die "--containerd-config-dropin $CONTAINERD_CONFIG_DROPIN_FILE is not a readable file"
  grep -qE '^[[:space:]]*imports[[:space:]]*=.*/etc/containerd/config\.d/' "$containerd_source" ||
    die "$containerd_source does not import /etc/containerd/config.d/*.toml, so --containerd-config-dropin would be ignored"
fi
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
IMDS_HOSTNAME=$(imds local-hostname)
IMDS_HOSTNAME=${IMDS_HOSTNAME%% *}
AWS_DOMAIN=$(imds services/domain)
MAC=$(imds mac)
log "INFO: $INSTANCE_ID ($INSTANCE_TYPE) in $AVAILABILITY_ZONE, node IP $NODE_IP"

# --- AWS API calls ------------------------------------------------------------------------------------------------

aws_eks() {
  local endpoint=${AWS_ENDPOINT_URL_EKS:-${AWS_ENDPOINT_URL:-}}
  local args=(--region "$REGION")
  [[ -z $endpoint ]] || args+=(--endpoint-url "$endpoint")
  aws "${args[@]}" eks "$@"
}

aws_ec2() {
  local endpoint=${AWS_ENDPOINT_URL_EC2:-${AWS_ENDPOINT_URL:-}}
  local args=(--region "$REGION")
  [[ -z $endpoint ]] || args+=(--endpoint-url "$endpoint")
  aws "${args[@]}" ec2 "$@"
}

aws_ecr() {
  local endpoint=${AWS_ENDPOINT_URL_ECR:-${AWS_ENDPOINT_URL:-}}
  local args=(--region "$REGION")
  [[ -z $endpoint ]] || args+=(--endpoint-url "$endpoint")
  aws "${args[@]}" ecr "$@"
}

# Before retry N (1-based) of an AWS call: 2^N seconds plus up to 2 s of jitter.
backoff() {
  log "INFO: $1 retry $2 of $API_RETRY_ATTEMPTS"
  sleep $((2 ** $2 + RANDOM % 3))
}

# --- node name ----------------------------------------------------------------------------------------------------

# The EKS node authorizer only lets a kubelet act for the node named after its instance's EC2 PrivateDnsName. IMDS
# local-hostname differs from it when the VPC's DHCP options set carries a custom domain name, so the name comes from
# DescribeInstances. That API is eventually consistent: a just-launched instance may be unknown or have no name yet.
command -v aws >/dev/null || die "the AWS CLI (aws) is needed to read this instance's PrivateDnsName (ec2:DescribeInstances)"
NODE_NAME=""
for ((attempt = 0; attempt <= API_RETRY_ATTEMPTS; attempt++)); do
  ((attempt == 0)) || backoff DescribeInstances "$attempt"
  if NODE_NAME=$(aws_ec2 describe-instances --instance-ids "$INSTANCE_ID" --output text \
    --query 'Reservations[0].Instances[0].PrivateDnsName') && [[ -n $NODE_NAME && $NODE_NAME != None ]]; then
    break
  fi
  NODE_NAME=""
done
[[ -n $NODE_NAME ]] ||
  die "could not read the PrivateDnsName of $INSTANCE_ID with ec2:DescribeInstances in $REGION after $((API_RETRY_ATTEMPTS + 1)) attempts: the node role needs ec2:DescribeInstances (AmazonEKSWorkerNodePolicy), and the EC2 API must be reachable (VPC endpoint or NAT)"
[[ $NODE_NAME =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || die "PrivateDnsName '$NODE_NAME' of $INSTANCE_ID is not a valid node name"
if [[ $NODE_NAME != "$IMDS_HOSTNAME" ]]; then
  log "INFO: node name $NODE_NAME (EC2 PrivateDnsName) differs from the IMDS local-hostname $IMDS_HOSTNAME (custom DHCP domain)"
fi
log "INFO: node name $NODE_NAME"

# --- cluster endpoint and CA --------------------------------------------------------------------------------------

if [[ -n $APISERVER_ENDPOINT && -n $B64_CLUSTER_CA ]]; then
  log "INFO: endpoint and CA given: not calling DescribeCluster"
else
  log "INFO: describing cluster '$CLUSTER_NAME' in $REGION"
  described=""
  for ((attempt = 0; attempt <= API_RETRY_ATTEMPTS; attempt++)); do
    ((attempt == 0)) || backoff DescribeCluster "$attempt"
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

# The table's second column is for the VPC CNI's default secondary-IP mode, the third for prefix delegation.
max_pods_column=2
max_pods_mode="secondary IPs"
if [[ $PREFIX_DELEGATION == true ]]; then
  max_pods_column=3
  max_pods_mode="prefix delegation"
fi
table_max_pods=""
if [[ -f $MAX_PODS_FILE ]]; then
  table_max_pods=$(awk -v type="$INSTANCE_TYPE" -v column="$max_pods_column" '$1 == type { print $column; exit }' "$MAX_PODS_FILE")
fi

# For a type the table lacks (a newer family, or a region the image was copied to), the same formulas as the
# build's table (src/resolve/max-pods.ts), from DescribeInstanceTypes: ENIs of the default network card ×
# (IPv4 addresses per ENI − 1) + 2; with prefix delegation, on Nitro only, ENIs × (IPv4 per ENI − 1) × 16 + 2,
# capped at 110 (up to 30 vCPUs) or 250 (more), as the EKS max-pods calculator does.
max_pods_from_ec2() {
  local described vcpus hypervisor ipv4_per_eni enis default_card cards card pods
  described=$(aws_ec2 describe-instance-types --instance-types "$INSTANCE_TYPE" --output text --query \
    'InstanceTypes[0].[VCpuInfo.DefaultVCpus, Hypervisor || `none`, NetworkInfo.Ipv4AddressesPerInterface, NetworkInfo.MaximumNetworkInterfaces, NetworkInfo.DefaultNetworkCardIndex || `0`, join(`,`, NetworkInfo.NetworkCards[].join(`:`, [to_string(NetworkCardIndex), to_string(MaximumNetworkInterfaces)]) || `[]`)]') ||
    return 1
  read -r vcpus hypervisor ipv4_per_eni enis default_card cards <<<"$described"
  for card in ${cards//,/ }; do
    [[ ${card%%:*} != "$default_card" ]] || enis=${card#*:}
  done
  [[ $vcpus =~ ^[0-9]+$ && $ipv4_per_eni =~ ^[0-9]+$ && $enis =~ ^[0-9]+$ ]] && ((ipv4_per_eni > 0 && enis > 0)) || return 1
  pods=$((enis * (ipv4_per_eni - 1) + 2))
  if [[ $PREFIX_DELEGATION == true ]]; then
    [[ $hypervisor != nitro ]] || pods=$((enis * (ipv4_per_eni - 1) * 16 + 2))
    local cap=110
    ((vcpus <= 30)) || cap=250
    ((pods <= cap)) || pods=$cap
  fi
  echo "$pods"
}

max_pods_json=""
if [[ $USE_MAX_PODS == true ]]; then
  if [[ -n $table_max_pods ]]; then
    [[ $table_max_pods =~ ^[0-9]+$ ]] ||
      die "$MAX_PODS_FILE has '$table_max_pods' in column $max_pods_column for $INSTANCE_TYPE, not a number: rebuild the image"
    log "INFO: maxPods $table_max_pods for $INSTANCE_TYPE ($max_pods_mode, $MAX_PODS_FILE)"
  else
    log "WARNING: instance type '$INSTANCE_TYPE' is not in $MAX_PODS_FILE: computing maxPods from ec2:DescribeInstanceTypes"
    if table_max_pods=$(max_pods_from_ec2); then
      log "INFO: maxPods $table_max_pods for $INSTANCE_TYPE ($max_pods_mode, DescribeInstanceTypes)"
    else
      table_max_pods=$FALLBACK_MAX_PODS
      log "WARNING: DescribeInstanceTypes gave no network limits for $INSTANCE_TYPE: maxPods $table_max_pods (the kubelet default); pods beyond the VPC CNI's address capacity stay ContainerCreating. Set it with --use-max-pods false --kubelet-extra-args '--max-pods=N'"
    fi
  fi
  max_pods_json="
  \"maxPods\": $table_max_pods,"
fi

# Memory kept for the kubelet and runtime grows with pod density: 11 MiB per pod + 255 MiB, counting the pods this
# node may run (--max-pods in the extra args wins, then maxPods in --kubelet-config-overrides, then the table, then
# the kubelet default of 110).
reserve_pods=${table_max_pods:-110}
if [[ -n $KUBELET_CONFIG_OVERRIDES ]]; then
  override_max_pods=$(jq -r '.maxPods // empty' "$KUBELET_CONFIG_OVERRIDES")
  [[ -z $override_max_pods ]] || reserve_pods=$override_max_pods
  [[ $reserve_pods =~ ^[0-9]+$ ]] || die "maxPods in --kubelet-config-overrides must be a whole number, not '$reserve_pods'"
fi
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
# Overrides win key by key inside objects (jq's *), so e.g. {"evictionHard": {"memory.available": "200Mi"}} keeps
# the other eviction thresholds; lists and scalars are replaced. This is how nodeadm merges NodeConfig's kubelet.config.
if [[ -n $KUBELET_CONFIG_OVERRIDES ]]; then
  merged=$(jq --slurpfile overrides "$KUBELET_CONFIG_OVERRIDES" '. * $overrides[0]' "$KUBELET_CONFIG") ||
    die "could not merge $KUBELET_CONFIG_OVERRIDES into $KUBELET_CONFIG"
  printf '%s\n' "$merged" >"$KUBELET_CONFIG"
  log "INFO: merged $KUBELET_CONFIG_OVERRIDES into $KUBELET_CONFIG"
fi
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
if [[ -n $CONTAINERD_CONFIG_DROPIN_FILE ]] && ! cmp -s "$CONTAINERD_CONFIG_DROPIN_FILE" "$CONTAINERD_DROPIN"; then
  install -D -m 0644 "$CONTAINERD_CONFIG_DROPIN_FILE" "$CONTAINERD_DROPIN"
  log "INFO: installed $CONTAINERD_CONFIG_DROPIN_FILE as $CONTAINERD_DROPIN"
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

# containerd pulls the sandbox image without registry credentials, so it must be in containerd's store before the
# first pod, and pinned (io.cri-containerd.pinned=pinned) so the kubelet's image garbage collection never removes
# it. Another region's ECR image (--pause-container-*) is pulled here with the node role's ECR token; the image's
# own was pulled and pinned at build time, and is re-imported from the build's export if the store lost it.
ctr_k8s() { ctr --namespace k8s.io "$@"; }
sandbox_in_store() { ctr_k8s images ls -q "name==$SANDBOX_IMAGE" 2>/dev/null | grep -qxF "$SANDBOX_IMAGE"; }
pin_sandbox() {
  ctr_k8s images label "$SANDBOX_IMAGE" "$PINNED_LABEL" >/dev/null || die "could not label $SANDBOX_IMAGE $PINNED_LABEL"
  log "INFO: $SANDBOX_IMAGE is in containerd's store, pinned"
}
if ! command -v ctr >/dev/null; then
  log "WARNING: ctr is missing: cannot check that the sandbox image $SANDBOX_IMAGE is in containerd's store"
elif [[ $pull_sandbox == true && $SANDBOX_IMAGE == *.dkr.ecr.* ]]; then
  log "INFO: pulling $SANDBOX_IMAGE with an ECR token"
  ecr_password=$(aws_ecr get-login-password) || die "could not get an ECR token to pull $SANDBOX_IMAGE"
  ctr_k8s images pull --user "AWS:$ecr_password" "$SANDBOX_IMAGE" >/dev/null ||
    die "could not pull the pause image $SANDBOX_IMAGE"
  pin_sandbox
elif sandbox_in_store; then
  pin_sandbox
elif [[ -f $PAUSE_IMAGE_EXPORT ]]; then
  log "WARNING: $SANDBOX_IMAGE is not in containerd's store: importing the build's export $PAUSE_IMAGE_EXPORT"
  ctr_k8s images import "$PAUSE_IMAGE_EXPORT" >/dev/null || die "could not import $PAUSE_IMAGE_EXPORT into containerd"
  sandbox_in_store || die "$PAUSE_IMAGE_EXPORT does not hold $SANDBOX_IMAGE: pass --pause-container-account/--pause-container-version to pull it"
  pin_sandbox
else
  log "WARNING: $SANDBOX_IMAGE is not in containerd's store and $PAUSE_IMAGE_EXPORT is missing: containerd will try to pull it without credentials"
fi

systemctl enable kubelet
# Under eks-nodeconfig.service (ordered before kubelet.service) a blocking start would wait for that unit to end.
if [[ ${EKS_KUBELET_NO_BLOCK:-false} == true ]]; then
  systemctl --no-block restart kubelet
else
  systemctl restart kubelet
fi
log "INFO: done in $((SECONDS - STARTED)) s: kubelet started for cluster '$CLUSTER_NAME'"
