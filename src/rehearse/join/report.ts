// What a join leaves in build/<ami>/rehearsal/join/ and the line it ends with.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One kube-proxy mode's verdict: the Service's virtual address and the pod endpoint that answered through it. */
export interface ProxyModeResult {
  mode: 'ipvs' | 'nftables';
  /** ClusterIP:port. */
  service: string;
  /** podIP:port that answered, or undefined when nothing answered. */
  endpoint?: string;
  /** The pod name the reply carried (agnhost /hostname). */
  answeredBy?: string;
  /** Why the mode failed, when it did. */
  failure?: string;
}

export interface JoinResult {
  ok: boolean;
  nodeName: string;
  kubeletVersion?: string;
  containerRuntimeVersion?: string;
  secondsToReady?: number;
  pod?: { name: string; phase: string; ip?: string };
  modes: ProxyModeResult[];
  totalSeconds: number;
  /** The first failure, in a sentence naming its cause. */
  failure?: string;
  /** What works but should not be relied on (the kubelet falling back because the runtime lacks a CRI call). */
  warnings?: string[];
}

/** One line: node, seconds to Ready, pod, and service → endpoint per kube-proxy mode. */
export function joinSummary(result: JoinResult): string {
  const node = `node ${result.nodeName || '(none)'} ${result.secondsToReady === undefined ? 'never Ready' : `Ready in ${result.secondsToReady.toFixed(0)} s`}`;
  const versions = result.kubeletVersion ? ` (kubelet ${result.kubeletVersion}, ${result.containerRuntimeVersion ?? 'no runtime'})` : '';
  const pod = result.pod ? `pod ${result.pod.name} ${result.pod.phase}${result.pod.ip ? ` at ${result.pod.ip}` : ''}` : 'no pod';
  const modes = result.modes.map((m) => `${m.mode}: ${m.service} → ${m.endpoint ?? `nothing (${m.failure ?? 'no answer'})`}`);
  const verdict = result.ok ? 'joined' : `FAILED: ${result.failure ?? 'see the logs'}`;
  const warnings = (result.warnings ?? []).map((w) => `WARNING: ${w}`);
  return `Join ${verdict}: ${[`${node}${versions}`, pod, ...modes, ...warnings].join('; ')}; ${result.totalSeconds.toFixed(0)} s in all`;
}

/** Writes one output file of the join (JSON pretty-printed, text as is). */
export function writeJoinOutput(dir: string, name: string, content: unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  return path;
}
