// The join rehearsal's throw-away PKI, made with openssl: one cluster CA that signs the API server's serving
// certificate, the clients of the control plane (admin, controller manager, kube-proxy, the API server towards
// kubelets) and the ECR stand-in's serving certificate, plus the service-account signing key. Nothing here is
// reused between runs or leaves the work directory: the node only ever sees the CA certificate (bootstrap.sh's
// --b64-cluster-ca) and trusts the registry through it.
//
// EC P-256 keys: openssl makes them in milliseconds (RSA 2048 takes seconds on these 2 cores) and every
// component involved (Go's TLS in kube-apiserver, containerd, kubelet; Node's TLS) accepts them.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processRunner, type Runner } from '../../process/run.ts';

/** A certificate and its private key, PEM files. */
export interface KeyPair {
  certFile: string;
  keyFile: string;
}

export interface CertificateAuthority extends KeyPair {
  /** Its subject CN, so a log or a test can name which CA signed what. */
  commonName: string;
}

export interface ClusterPki {
  ca: CertificateAuthority;
  /** kube-apiserver's serving certificate (SANs in `apiserverNames`). */
  apiserver: KeyPair;
  apiserverNames: { dns: string[]; ips: string[] };
  /** What kube-apiserver presents to kubelets (logs, exec): --kubelet-client-certificate. */
  apiserverKubeletClient: KeyPair;
  /** The service-account token signing key pair (kube-apiserver signs, verifies; the controller manager signs). */
  serviceAccount: { privateKeyFile: string; publicKeyFile: string };
  /** O=system:masters: the rehearsal's own API calls. */
  admin: KeyPair;
  kubeProxy: KeyPair;
  controllerManager: KeyPair;
  /** The ECR stand-in's serving certificate, for `registryHosts`. */
  registry: KeyPair;
  /** The token webhook's serving certificate (127.0.0.1, localhost: only kube-apiserver on this machine calls it). */
  tokenWebhook: KeyPair;
}

export interface ClusterPkiOptions {
  /** Host names the registry answers as, e.g. 602401143452.dkr.ecr.us-west-2.amazonaws.com. */
  registryHosts: string[];
  /**
   * The cluster's service CIDR: its first address is the `kubernetes` Service's ClusterIP, which pods (and
   * kube-proxy's in-cluster clients) use to reach the API server. EKS's default for a VPC outside 10.0.0.0/8 is
   * 10.100.0.0/16, which bootstrap.sh also assumes (cluster DNS 10.100.0.10) when told nothing else.
   */
  serviceCidr?: string;
  /** More addresses the API server is reached at (the guest reaches the host as 10.0.2.2 under qemu's user network). */
  apiserverAddresses?: string[];
  /**
   * More addresses the registry is dialled at by IP (besides 127.0.0.1 and 10.0.2.2), e.g. the host side of the
   * build container's network namespace. Clients that dial the ECR host name need none.
   */
  registryAddresses?: string[];
  runner?: Runner;
}

export const DEFAULT_SERVICE_CIDR = '10.100.0.0/16';
const DAYS = '2';

/** The first usable address of an IPv4 CIDR: the ClusterIP kube-apiserver gives the `kubernetes` Service. */
export function firstServiceAddress(cidr: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const bits = Number(match?.[5]);
  if (!match || octets.some((o) => o > 255) || bits < 1 || bits > 30) {
    throw new Error(`service CIDR '${cidr}' is not an IPv4 CIDR with a prefix of 1-30 bits (e.g. ${DEFAULT_SERVICE_CIDR})`);
  }
  const base = (((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0) & ((~0 << (32 - bits)) >>> 0);
  const first = (base + 1) >>> 0;
  return [24, 16, 8, 0].map((shift) => (first >>> shift) & 255).join('.');
}

async function openssl(runner: Runner, args: string[]): Promise<void> {
  const result = await runner.capture('openssl', args);
  if (result.exitCode !== 0) throw new Error(`openssl ${args[0]} failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`);
}

const serial = () =>
  `0x${randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '1')}`;
const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA in `dir` (ca.crt, ca.key). Also the "wrong CA" of the failure rehearsal: call it on another dir. */
export async function createCertificateAuthority(
  dir: string,
  commonName = 'rehearsal-cluster-ca',
  runner: Runner = processRunner,
): Promise<CertificateAuthority> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca: CertificateAuthority = { certFile: join(dir, 'ca.crt'), keyFile: join(dir, 'ca.key'), commonName };
  await openssl(runner, [
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    ca.keyFile,
    '-out',
    ca.certFile,
    '-days',
    DAYS,
    '-set_serial',
    serial(),
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  chmodSync(ca.keyFile, 0o600);
  return ca;
}

interface LeafRequest {
  name: string;
  subject: string;
  usage: 'server' | 'client';
  dns?: string[];
  ips?: string[];
}

/** A leaf certificate `<name>.crt`/`<name>.key` in `dir`, signed by `ca`. */
export async function issueCertificate(dir: string, ca: CertificateAuthority, request: LeafRequest, runner: Runner = processRunner): Promise<KeyPair> {
  const pair: KeyPair = { certFile: join(dir, `${request.name}.crt`), keyFile: join(dir, `${request.name}.key`) };
  const csr = join(dir, `${request.name}.csr`);
  const extensions = join(dir, `${request.name}.ext`);
  const sans = [...(request.dns ?? []).map((d) => `DNS:${d}`), ...(request.ips ?? []).map((ip) => `IP:${ip}`)];
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${request.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
  ];
  writeFileSync(extensions, `${lines.join('\n')}\n`);
  try {
    await openssl(runner, ['req', '-new', ...newKey, '-keyout', pair.keyFile, '-out', csr, '-subj', request.subject]);
    chmodSync(pair.keyFile, 0o600);
    await openssl(runner, [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      serial(),
      '-days',
      DAYS,
      '-extfile',
      extensions,
      '-out',
      pair.certFile,
    ]);
  } finally {
    rmSync(csr, { force: true });
    rmSync(extensions, { force: true });
  }
  return pair;
}

/** Everything the control plane and the registry need, under `dir` (created; keys 0600). */
export async function createClusterPki(dir: string, options: ClusterPkiOptions): Promise<ClusterPki> {
  const runner = options.runner ?? processRunner;
  if (options.registryHosts.length === 0) throw new Error('createClusterPki: registryHosts is empty; name the host(s) the registry serves');
  const serviceCidr = options.serviceCidr ?? DEFAULT_SERVICE_CIDR;
  const ca = await createCertificateAuthority(dir, 'rehearsal-cluster-ca', runner);
  const apiserverNames = {
    dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ips: [...new Set(['127.0.0.1', '10.0.2.2', firstServiceAddress(serviceCidr), ...(options.apiserverAddresses ?? [])])],
  };
  const leaf = (request: LeafRequest) => issueCertificate(dir, ca, request, runner);
  const apiserver = await leaf({ name: 'apiserver', subject: '/CN=kube-apiserver', usage: 'server', ...apiserverNames });
  const apiserverKubeletClient = await leaf({
    name: 'apiserver-kubelet-client',
    subject: '/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client',
    usage: 'client',
  });
  const admin = await leaf({ name: 'admin', subject: '/O=system:masters/CN=rehearsal-admin', usage: 'client' });
  const kubeProxy = await leaf({ name: 'kube-proxy', subject: '/CN=system:kube-proxy', usage: 'client' });
  const controllerManager = await leaf({ name: 'controller-manager', subject: '/CN=system:kube-controller-manager', usage: 'client' });
  const registry = await leaf({
    name: 'registry',
    subject: `/CN=${options.registryHosts[0]}`,
    usage: 'server',
    dns: options.registryHosts,
    ips: [...new Set(['127.0.0.1', '10.0.2.2', ...(options.registryAddresses ?? [])])],
  });
  const tokenWebhook = await leaf({ name: 'token-webhook', subject: '/CN=rehearsal-token-webhook', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  const serviceAccount = { privateKeyFile: join(dir, 'sa.key'), publicKeyFile: join(dir, 'sa.pub') };
  await openssl(runner, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', serviceAccount.privateKeyFile]);
  chmodSync(serviceAccount.privateKeyFile, 0o600);
  await openssl(runner, ['pkey', '-in', serviceAccount.privateKeyFile, '-pubout', '-out', serviceAccount.publicKeyFile]);
  return { ca, apiserver, apiserverNames, apiserverKubeletClient, serviceAccount, admin, kubeProxy, controllerManager, registry, tokenWebhook };
}
