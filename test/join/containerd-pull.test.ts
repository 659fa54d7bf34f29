// containerd (built from upstream source) against the join rehearsal's images and ECR stand-in, as a node uses
// them: `ctr images import` of the pause image's oci-archive names it by its ECR reference (what sandbox-image.sh
// exports and bootstrap.sh re-imports), an anonymous pull of the private pause repository fails with the
// registry's 401 (what a node without the cached image meets), a pull with AWS:<token> gets the layout's digest,
// and the public test pod image pulls anonymously. A throw-away containerd runs as root in a temporary directory.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildPauseImage, buildPodImage, writeOciArchive, type BuiltImage } from '../../src/rehearse/join/images.ts';
import { createClusterPki, type ClusterPki } from '../../src/rehearse/join/pki.ts';
import { RegistryStandIn } from '../../src/rehearse/join/registry.ts';
import { captureAsync, startBackground, type ChildProcess } from '../support/spawn.ts';
import { findUpstreamBinary, requireUpstreamBinary } from './upstream-binaries.ts';

const HOST = '602401143452.dkr.ecr.us-west-2.amazonaws.com';
const PAUSE = `${HOST}/eks/pause:3.10`;
const POD = `${HOST}/rehearsal/test-pod:v1`;
const PASSWORD = 'ecr-token-for-the-rehearsal';

/** The containerd majors a build installs: 2.x for current minors, 1.7 for older ones. */
const MAJORS = [
  { major: '2', module: 'github.com/containerd/containerd/v2', configVersion: 3, build: 'make upstream k8s=1.36' },
  // data/kubernetes-minors.json: containerd1LastMinor is the last minor that installs containerd 1.7.
  { major: '1.7', module: 'github.com/containerd/containerd', configVersion: 2, build: 'make upstream k8s=1.35' },
];

describe('containerd with the join images and the ECR stand-in', function () {
  this.timeout(300_000);
  if (process.getuid?.() !== 0) throw new Error('this test runs containerd and needs root');
  let dir: string;
  let pki: ClusterPki;
  let pause: BuiltImage;
  let pod: BuiltImage;
  let registry: RegistryStandIn;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'join-containerd-'));
    pki = await createClusterPki(join(dir, 'pki'), { registryHosts: [HOST] });
    const cacheDir = join(dir, 'images');
    pause = await buildPauseImage({ kubernetesVersion: '1.36.3', tag: '3.10', reference: PAUSE, cacheDir });
    pod = buildPodImage({ binary: '/bin/busybox', path: 'bin/busybox', cmd: ['httpd', '-f', '-p', '8080'], tag: 'v1', cacheDir });
    registry = await new RegistryStandIn({
      host: '127.0.0.1',
      tls: pki.registry,
      password: PASSWORD,
      realm: `https://${HOST}/`,
      repositories: { 'eks/pause': { layout: pause.layout, private: true }, 'rehearsal/test-pod': { layout: pod.layout, private: false } },
    }).start();
  });
  after(async () => {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const build of MAJORS) {
    describe(`containerd ${build.major}`, () => {
      let daemon: ChildProcess | undefined;
      let home: string;
      let hostsDir: string;
      let ctrBinary: string;
      const ctr = (...args: string[]) =>
        captureAsync(ctrBinary, ['--address', join(home, 'containerd.sock'), '--namespace', 'k8s.io', ...args], { timeout: 30_000 });

      before(async function () {
        // A missing build fails, naming the command that builds it (make test builds both first).
        const containerd = findUpstreamBinary('containerd', build.module);
        const daemonBinary = containerd ?? requireUpstreamBinary('containerd', build.module, undefined, build.build);
        ctrBinary = join(dirname(daemonBinary), 'ctr');
        home = join(dir, `containerd-${build.major}`);
        mkdirSync(home, { recursive: true });
        const config = join(home, 'config.toml');
        writeFileSync(
          config,
          [`version = ${build.configVersion}`, `root = "${home}/root"`, `state = "${home}/state"`, '[grpc]', `address = "${home}/containerd.sock"`, ''].join(
            '\n',
          ),
        );
        daemon = startBackground(daemonBinary, ['--config', config], { log: join(home, 'containerd.log'), detached: true });
        const deadline = Date.now() + 60_000;
        while (!(await ctr('version')).stdout.includes('Server:')) {
          if (Date.now() > deadline || daemon.exitCode !== null) throw new Error(`containerd ${build.major} did not start; see ${home}/containerd.log`);
          await new Promise((r) => setTimeout(r, 200));
        }
        // The node's registry configuration: certs.d/<host>/hosts.toml sends the ECR host to the stand-in.
        hostsDir = join(home, 'certs.d');
        mkdirSync(join(hostsDir, HOST), { recursive: true });
        copyFileSync(pki.ca.certFile, join(hostsDir, HOST, 'ca.crt'));
        writeFileSync(
          join(hostsDir, HOST, 'hosts.toml'),
          [
            `server = "https://${HOST}"`,
            `[host."https://127.0.0.1:${registry.port}"]`,
            '  capabilities = ["pull", "resolve"]',
            `  ca = "${join(hostsDir, HOST, 'ca.crt')}"`,
            '',
          ].join('\n'),
        );
      });
      after(async () => {
        const running = daemon;
        if (running?.pid && running.exitCode === null) {
          const gone = new Promise((r) => running.once('exit', r));
          process.kill(-running.pid, 'SIGTERM');
          await gone;
        }
      });

      it("imports the pause oci-archive under its ECR reference, with the layout's digest", async () => {
        const archive = join(home, 'pause.tar');
        writeOciArchive(pause, archive);
        const imported = await ctr('images', 'import', '--platform', 'linux/amd64', archive);
        expect(imported.status, imported.stderr).to.equal(0);
        const listed = await ctr('images', 'ls');
        expect(listed.stdout).to.match(new RegExp(`^${PAUSE.replaceAll('.', '\\.')}\\s+\\S+\\s+${pause.indexDigest}`, 'm'));
        expect((await ctr('images', 'rm', PAUSE)).status).to.equal(0);
      });

      it("an anonymous pull of the private pause repository fails with the registry's 401", async () => {
        const before = registry.refusedAnonymous().length;
        const pulled = await ctr('images', 'pull', '--hosts-dir', hostsDir, '--platform', 'linux/amd64', PAUSE);
        expect(pulled.status).to.not.equal(0);
        // What containerd says on a node, as against ECR: the registry's 401 Basic challenge, no credentials.
        expect(pulled.stderr).to.match(/pull access denied.*authorization failed: no basic auth credentials/);
        expect(registry.refusedAnonymous().length).to.be.above(before);
      });

      it('a pull with AWS:<token> gets the pause image; the public pod image pulls anonymously', async () => {
        const pulled = await ctr('images', 'pull', '--hosts-dir', hostsDir, '--platform', 'linux/amd64', '--user', `AWS:${PASSWORD}`, PAUSE);
        expect(pulled.status, pulled.stderr).to.equal(0);
        expect((await ctr('images', 'ls')).stdout).to.include(pause.indexDigest);
        const podPull = await ctr('images', 'pull', '--hosts-dir', hostsDir, '--platform', 'linux/amd64', POD);
        expect(podPull.status, podPull.stderr).to.equal(0);
        expect((await ctr('images', 'ls')).stdout).to.include(pod.indexDigest);
      });
    });
  }
});
