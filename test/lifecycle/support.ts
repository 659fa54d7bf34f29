// Shared by the lifecycle tests: a moto_server whose endpoint the AWS SDK (and our scripts) use for the duration
// of a describe block, and helpers to seed images the way a build leaves them (tagged, copied to regions).
import { CreateTagsCommand, RegisterImageCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { repoPath } from '../../src/paths.ts';
import { useEmulator, type MotoHandle } from '../support/emulated-aws.ts';
import { capture, captureAsync, entryScript, type Captured } from '../support/spawn.ts';
import { startMoto, type CatalogImage } from '../support/moto.ts';

export type { MotoHandle };

/** Start moto before the block's tests and point process.env at it; restore everything after. */
export const useMoto = (amis?: CatalogImage[]): MotoHandle => useEmulator(() => startMoto(amis ? { amis } : {}));

export const buildTags = (o: { version: string; rhel: string; arch: string; variant?: string; name: string }) => ({
  Name: o.name,
  kubernetes_version: o.version,
  kubernetes_build_date: '2025-11-05',
  containerd_version: '1.7.27',
  runc_version: '1.2.6',
  cni_plugin_version: 'v1.6.2',
  rhel_release: o.rhel,
  source_ami_id: 'ami-0123456789abcdef0',
  source_ami_name: 'RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3',
  arch: o.arch,
  variant: o.variant ?? 'standard',
});

/** Register an image with a root snapshot, as Packer leaves one, and tag it (moto ignores Architecture and RootDeviceName here). */
export async function registerTaggedImage(ec2: EC2Client, name: string, tags: Record<string, string>, arch: 'x86_64' | 'arm64' = 'x86_64'): Promise<string> {
  const out = await ec2.send(
    new RegisterImageCommand({
      Name: name,
      Architecture: arch,
      RootDeviceName: '/dev/sda1',
      VirtualizationType: 'hvm',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20, VolumeType: 'gp3' } }],
    }),
  );
  const id = out.ImageId!;
  if (Object.keys(tags).length) await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
  return id;
}

export type ScriptResult = Captured;

const scriptEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

/** Run an entry script the way make does (tsx scripts/<name>.ts words…). */
export function runScript(name: string, words: string[], env: NodeJS.ProcessEnv = process.env): ScriptResult {
  return capture(...entryScript(name, words), { cwd: repoPath(), env: scriptEnv(env), timeout: 120_000 });
}

/** As runScript, without blocking the event loop (for tests whose stand-in servers live in this process). */
export function runScriptAsync(name: string, words: string[], env: NodeJS.ProcessEnv = process.env): Promise<ScriptResult> {
  return captureAsync(...entryScript(name, words), { cwd: repoPath(), env: scriptEnv(env) });
}
