"""Configures this node from NodeConfig user data (node.eks.aws/v1alpha1) by running /etc/eks/bootstrap.sh.

Run at boot by eks-nodeconfig.service (through /usr/local/bin/eks-nodeconfig, which picks the system Python).
Reads the instance's user data from IMDS with an IMDSv2 session token and looks for NodeConfig documents, as
nodeadm (the official EKS nodes), Karpenter's AL2023 family, eksctl and the nodeadm documentation write them:

  - the whole user data is one NodeConfig (YAML or JSON), or
  - MIME multipart user data whose application/node.eks.aws parts hold NodeConfig documents; several are merged
    in order (later values win; kubelet.config merged key by key; kubelet.flags appended), as nodeadm does.

The merged NodeConfig becomes one bootstrap.sh call, so a NodeConfig node and a bootstrap.sh node are configured by
the same code: cluster.name, apiServerEndpoint, certificateAuthority, cidr (the service CIDR: cluster DNS is its
x.y.z.10) become options; kubelet.config is written to /etc/eks/nodeconfig/kubelet-config.json and merged by
bootstrap.sh (--kubelet-config-overrides); kubelet.flags become --kubelet-extra-args; containerd.config is
installed into /etc/containerd/config.d/ (--containerd-config-dropin).

text/x-shellscript parts run once, after the node is configured: by cloud-init (its final stage) when cloud-init
is installed and enabled, as on Red Hat's images, so nothing runs twice; by this script otherwise. Other parts
(#cloud-config, ...) are left to cloud-init. User data without NodeConfig (AL2-style "#!/bin/bash ...
/etc/eks/bootstrap.sh ..." scripts) is left alone: cloud-init runs it as before.

Written for Python 3.6 (RHEL 8's platform-python) and later: standard library plus PyYAML (python3-pyyaml).

usage: nodeconfig.py [--user-data FILE] [--dry-run]
  --user-data FILE  read user data from FILE instead of IMDS
  --dry-run         print what would be done (JSON: bootstrap.sh arguments, files, scripts) and change nothing
Exit status: 0 configured, or no NodeConfig in the user data; 1 bad NodeConfig (the message says what and where),
IMDS unreachable, or bootstrap.sh or a shell part failed; 2 usage.
"""
import base64
import binascii
import email
import gzip
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

API_VERSION = 'node.eks.aws/v1alpha1'
KIND = 'NodeConfig'
NODECONFIG_CONTENT_TYPE = 'application/node.eks.aws'
SHELL_CONTENT_TYPE = 'text/x-shellscript'
BOOTSTRAP = '/etc/eks/bootstrap.sh'
STATE_DIR = '/etc/eks/nodeconfig'
SCRIPTS_DIR = '/var/lib/eks-nodeconfig/scripts'
IMDS_ENDPOINT = os.environ.get('IMDS_ENDPOINT', 'http://169.254.169.254').rstrip('/')

# What this image does with each NodeConfig field. Anything else is refused, so a typo is not silently ignored.
SPEC_FIELDS = {
    'cluster': {'name', 'apiServerEndpoint', 'certificateAuthority', 'cidr', 'enableOutpost', 'id'},
    'kubelet': {'config', 'flags'},
    'containerd': {'config', 'baseRuntimeSpec'},
    'instance': {'localStorage'},
    'featureGates': None,
}


class NodeConfigError(Exception):
    """A user data problem, worded for the person who wrote the user data."""


def log(level, message):
    sys.stderr.write('{} [eks-nodeconfig] {}: {}\n'.format(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), level, message))
    sys.stderr.flush()


# --- user data -------------------------------------------------------------------------------------------------------

def imds_request(path, method='GET', headers=None):
    request = urllib.request.Request(IMDS_ENDPOINT + path, method=method, headers=headers or {})
    return urllib.request.urlopen(request, timeout=5)


def read_user_data_from_imds():
    """The user data bytes, or None when the instance has none (404). IMDSv2 only; retried while the network comes up."""
    last_error = None
    for attempt in range(10):
        if attempt:
            time.sleep(min(2 ** attempt, 10))
        try:
            with imds_request('/latest/api/token', 'PUT', {'X-aws-ec2-metadata-token-ttl-seconds': '300'}) as response:
                token = response.read().decode('ascii')
            with imds_request('/latest/user-data', headers={'X-aws-ec2-metadata-token': token}) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            last_error = 'HTTP {}'.format(error.code)
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
    raise NodeConfigError('could not read user data from IMDS at {} (IMDSv2): {}'.format(IMDS_ENDPOINT, last_error))


def load_yaml_documents(text, where):
    import yaml  # PyYAML: imported here so that reading user data without NodeConfig never needs it

    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        raise NodeConfigError('{} is not valid YAML or JSON: {}'.format(where, str(error).replace('\n', ' ')))


def parse_user_data(data):
    """(NodeConfig documents with where each came from, shell scripts as (name, bytes)) found in the user data."""
    if data[:2] == b'\x1f\x8b':
        data = gzip.decompress(data)
    head = data.lstrip()[:200].lower()
    if head.startswith(b'content-type:') or head.startswith(b'mime-version:'):
        return parse_mime(data)
    if head.startswith(b'#'):
        # A script (#!), #cloud-config, #include...: cloud-init's business, not NodeConfig.
        return [], []
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        return [], []
    if 'node.eks.aws' not in text and 'NodeConfig' not in text:
        return [], []
    return [(doc, 'the user data') for doc in load_yaml_documents(text, 'the user data')], []


def parse_mime(data):
    message = email.message_from_bytes(data)
    parts = [part for part in message.walk() if not part.is_multipart()]
    if not parts:
        raise NodeConfigError('the MIME user data has no parts (check the boundary in its Content-Type header)')
    documents, scripts = [], []
    for index, part in enumerate(parts, 1):
        content_type = part.get_content_type()
        payload = part.get_payload(decode=True) or b''
        where = 'MIME part {} ({})'.format(index, content_type)
        if content_type == NODECONFIG_CONTENT_TYPE:
            try:
                text = payload.decode('utf-8')
            except UnicodeDecodeError:
                raise NodeConfigError('{} is not UTF-8 text'.format(where))
            found = load_yaml_documents(text, where)
            if not found:
                raise NodeConfigError('{} is empty: it should hold a NodeConfig document'.format(where))
            documents.extend((doc, where) for doc in found)
        elif content_type == SHELL_CONTENT_TYPE:
            scripts.append(('part-{:03d}'.format(index), payload))
        else:
            log('INFO', '{}: not NodeConfig, left to cloud-init'.format(where))
    return documents, scripts


# --- NodeConfig ------------------------------------------------------------------------------------------------------

def check_document(doc, where):
    if not isinstance(doc, dict):
        raise NodeConfigError('{} is not a NodeConfig object (apiVersion: {}, kind: {}, spec: ...)'.format(where, API_VERSION, KIND))
    if doc.get('apiVersion') != API_VERSION or doc.get('kind') != KIND:
        raise NodeConfigError('{} has apiVersion {!r} and kind {!r}: this image reads apiVersion {} kind {}'.format(
            where, doc.get('apiVersion'), doc.get('kind'), API_VERSION, KIND))
    unknown = sorted(set(doc) - {'apiVersion', 'kind', 'metadata', 'spec'})
    if unknown:
        raise NodeConfigError('{}: unknown field(s) {} (allowed: apiVersion, kind, metadata, spec)'.format(where, ', '.join(unknown)))
    spec = doc.get('spec') or {}
    if not isinstance(spec, dict):
        raise NodeConfigError('{}: spec must be an object'.format(where))
    for section, value in spec.items():
        if section not in SPEC_FIELDS:
            raise NodeConfigError('{}: unknown field spec.{} (allowed: {})'.format(where, section, ', '.join(sorted(SPEC_FIELDS))))
        if value is None:
            continue
        if not isinstance(value, dict):
            raise NodeConfigError('{}: spec.{} must be an object'.format(where, section))
        allowed = SPEC_FIELDS[section]
        if allowed is None:
            continue
        extra = sorted(set(value) - allowed)
        if extra:
            raise NodeConfigError('{}: unknown field(s) {} in spec.{} (allowed: {})'.format(
                where, ', '.join(extra), section, ', '.join(sorted(allowed))))
    kubelet = spec.get('kubelet') or {}
    if kubelet.get('config') is not None and not isinstance(kubelet['config'], dict):
        raise NodeConfigError('{}: spec.kubelet.config must be an object (KubeletConfiguration fields)'.format(where))
    flags = kubelet.get('flags')
    if flags is not None and not (isinstance(flags, list) and all(isinstance(f, str) for f in flags)):
        raise NodeConfigError('{}: spec.kubelet.flags must be a list of strings such as --node-labels=a=b'.format(where))
    containerd = spec.get('containerd') or {}
    if containerd.get('config') is not None and not isinstance(containerd['config'], str):
        raise NodeConfigError('{}: spec.containerd.config must be a string holding TOML'.format(where))
    return spec


def deep_merge(base, override):
    """Objects merged key by key; anything else (lists, scalars) replaced by the later value."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_specs(specs):
    """nodeadm's merge: later non-empty values win, kubelet.config merged key by key, kubelet.flags appended."""
    merged = {'cluster': {}, 'kubelet': {'config': {}, 'flags': []}, 'containerd': {}, 'instance': {}, 'featureGates': {}}
    containerd_from = None
    for spec, where in specs:
        for key, value in (spec.get('cluster') or {}).items():
            if value not in (None, ''):
                merged['cluster'][key] = value
        kubelet = spec.get('kubelet') or {}
        merged['kubelet']['config'] = deep_merge(merged['kubelet']['config'], kubelet.get('config') or {})
        merged['kubelet']['flags'] += kubelet.get('flags') or []
        for key, value in (spec.get('containerd') or {}).items():
            if value in (None, '', {}):
                continue
            if key == 'config' and containerd_from:
                log('WARNING', 'spec.containerd.config of {} replaces the one of {} (one fragment is installed)'.format(where, containerd_from))
            if key == 'config':
                containerd_from = where
            merged['containerd'][key] = value
        merged['instance'] = deep_merge(merged['instance'], spec.get('instance') or {})
        merged['featureGates'] = deep_merge(merged['featureGates'], spec.get('featureGates') or {})
    return merged


def kubelet_flag_words(flags):
    """The flags as the kubelet receives them: quotes a YAML author put around a value are removed as a shell would."""
    words = []
    for flag in flags:
        try:
            split = shlex.split(flag)
        except ValueError as error:
            raise NodeConfigError('spec.kubelet.flags entry {!r} has unbalanced quotes ({})'.format(flag, error))
        for word in split:
            if not word.startswith('-'):
                raise NodeConfigError('spec.kubelet.flags entry {!r}: {!r} is not a flag (write --name=value)'.format(flag, word))
            if any(c.isspace() for c in word):
                raise NodeConfigError('spec.kubelet.flags entry {!r}: values with spaces are not supported'.format(flag))
            words.append(word)
    return words


def translate(merged):
    """bootstrap.sh's arguments and the files they name, from the merged NodeConfig spec."""
    cluster = merged['cluster']
    for field in ('name', 'apiServerEndpoint', 'certificateAuthority'):
        if not cluster.get(field):
            raise NodeConfigError('spec.cluster.{} is missing: NodeConfig must name the cluster, its API server endpoint and its CA'.format(field))
    endpoint = str(cluster['apiServerEndpoint'])
    if not endpoint.startswith('https://'):
        raise NodeConfigError('spec.cluster.apiServerEndpoint {!r} is not an https:// URL'.format(endpoint))
    ca = str(cluster['certificateAuthority']).strip()
    try:
        base64.b64decode(ca, validate=True)
    except (binascii.Error, ValueError):
        raise NodeConfigError('spec.cluster.certificateAuthority is not base64 (give the cluster CA as DescribeCluster returns it)')
    args = [str(cluster['name']), '--apiserver-endpoint', endpoint, '--b64-cluster-ca', ca]
    cidr = str(cluster.get('cidr') or '')
    if cidr:
        if ':' in cidr:
            raise NodeConfigError('spec.cluster.cidr {} is IPv6: this image supports IPv4 clusters only'.format(cidr))
        args += ['--service-ipv4-cidr', cidr]
    if cluster.get('enableOutpost'):
        raise NodeConfigError('spec.cluster.enableOutpost: Outposts local clusters are not supported by this image')
    for ignored in ('baseRuntimeSpec',):
        if merged['containerd'].get(ignored):
            log('WARNING', 'spec.containerd.{} is ignored on this image (its containerd configuration sets the runtime spec)'.format(ignored))
    if merged['instance'].get('localStorage'):
        log('WARNING', 'spec.instance.localStorage is ignored on this image (no instance-store setup)')
    if merged['featureGates']:
        log('WARNING', 'spec.featureGates ({}) are nodeadm options and are ignored on this image'.format(', '.join(sorted(merged['featureGates']))))
    files = {}
    words = kubelet_flag_words(merged['kubelet']['flags'])
    if words:
        args += ['--kubelet-extra-args', ' '.join(words)]
    if merged['kubelet']['config']:
        path = os.path.join(STATE_DIR, 'kubelet-config.json')
        files[path] = json.dumps(merged['kubelet']['config'], indent=2, sort_keys=True) + '\n'
        args += ['--kubelet-config-overrides', path]
    if merged['containerd'].get('config'):
        path = os.path.join(STATE_DIR, 'containerd-config.toml')
        text = merged['containerd']['config']
        files[path] = text if text.endswith('\n') else text + '\n'
        args += ['--containerd-config-dropin', path]
    return args, files


# --- running ---------------------------------------------------------------------------------------------------------

def cloud_init_runs_scripts():
    """cloud-init's final stage runs text/x-shellscript parts itself unless it is absent or disabled."""
    return shutil.which('cloud-init') is not None and not os.path.exists('/etc/cloud/cloud-init.disabled')


def write_file(path, content, mode):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    temporary = path + '.tmp'
    with open(temporary, 'wb') as handle:
        handle.write(content.encode('utf-8') if isinstance(content, str) else content)
    os.chmod(temporary, mode)
    os.rename(temporary, path)


def run_scripts(scripts):
    failed = []
    for name, body in scripts:
        path = os.path.join(SCRIPTS_DIR, name)
        write_file(path, body, stat.S_IRWXU)
        log('INFO', 'running shell part {}'.format(name))
        status = subprocess.call([path]) if body.startswith(b'#!') else subprocess.call(['/bin/sh', path])
        if status != 0:
            failed.append('{} (exit {})'.format(name, status))
    if failed:
        raise NodeConfigError('shell part(s) failed: {}'.format(', '.join(failed)))


def main(argv):
    user_data_file, dry_run = None, False
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == '--user-data' and args:
            user_data_file = args.pop(0)
        elif arg == '--dry-run':
            dry_run = True
        else:
            sys.stderr.write('usage: nodeconfig.py [--user-data FILE] [--dry-run]\n')
            return 2
    if user_data_file:
        with open(user_data_file, 'rb') as handle:
            data = handle.read()
    else:
        data = read_user_data_from_imds()
    if not data:
        log('INFO', 'no user data: nothing to do')
        return 0
    documents, scripts = parse_user_data(data)
    if not documents:
        log('INFO', 'the user data holds no NodeConfig: nothing to do (cloud-init runs bootstrap.sh user data)')
        return 0
    specs = [(check_document(doc, where), where) for doc, where in documents]
    merged = merge_specs(specs)
    bootstrap_args, files = translate(merged)
    scripts_by = 'cloud-init' if cloud_init_runs_scripts() else 'eks-nodeconfig'
    if dry_run:
        print(json.dumps({'bootstrap': bootstrap_args, 'files': files, 'scripts': [name for name, _ in scripts], 'scripts_run_by': scripts_by}, indent=2))
        return 0
    log('INFO', 'configuring the node from {} NodeConfig document(s) for cluster {}'.format(len(documents), merged['cluster']['name']))
    write_file(os.path.join(STATE_DIR, 'nodeconfig.json'), json.dumps(merged, indent=2, sort_keys=True) + '\n', 0o600)
    for path, content in files.items():
        write_file(path, content, 0o600)
    env = dict(os.environ, EKS_KUBELET_NO_BLOCK='true')
    status = subprocess.call(['/bin/bash', BOOTSTRAP] + bootstrap_args, env=env)
    if status != 0:
        log('ERROR', '{} failed (exit {}); the NodeConfig it was given is in {}'.format(BOOTSTRAP, status, STATE_DIR))
        return 1
    if scripts and scripts_by == 'cloud-init':
        log('INFO', '{} shell part(s) are left to cloud-init, which runs them in its final stage'.format(len(scripts)))
    elif scripts:
        run_scripts(scripts)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except NodeConfigError as problem:
        log('ERROR', str(problem))
        sys.exit(1)
