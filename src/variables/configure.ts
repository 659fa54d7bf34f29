// Configure: command line + environment → a checked build configuration, before any AWS call.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigErrors, EXIT, UserError } from '../errors.ts';
import { readLock } from '../lock/lock.ts';
import { lockConflicts, lockedInputs, type LockedInputs } from '../lock/replay.ts';
import { minorDefaults, minorOf } from '../data/minors.ts';
import { parseArguments } from '../cli/arguments.ts';
import type { BuildVariables, VariableName } from './declarations.ts';
import { composeLayers, type Layer } from './layers.ts';
import type { RunOptions } from './options.ts';
import { presetLayer, variantLayer } from './presets.ts';
import { ruleProblems } from './rules.ts';
import { schemaProblems } from './schema.ts';
import { readVariableFile } from './var-file.ts';

export interface Configuration {
  options: RunOptions;
  values: BuildVariables;
  sourceOf: Record<VariableName, string>;
  /** Kubernetes minor, '' while it is still to be discovered (plain `make`). */
  minor: string;
  /** The user's layers (presets, variable file, command line), kept to recompose once the minor is known. */
  userLayers: Layer[];
  /** The lock file being replayed (lock=…), if any. */
  lock?: LockInUse;
}

export interface LockInUse {
  path: string;
  sha256: string;
  inputs: LockedInputs;
}

export async function configure(words: string[], env: NodeJS.ProcessEnv): Promise<Configuration> {
  const parsed = parseArguments(words, env);
  const userLayers: Layer[] = [];
  const problems: UserError[] = [];
  for (const name of parsed.options.preset) {
    try {
      userLayers.push(presetLayer(name));
    } catch (error) {
      problems.push(error as UserError);
    }
  }
  if (parsed.options.PACKER_VARIABLE_FILE) {
    try {
      userLayers.push(await readVariableFile(parsed.options.PACKER_VARIABLE_FILE));
    } catch (error) {
      problems.push(error as UserError);
    }
  }
  if (problems.length) throw new ConfigErrors(problems);
  userLayers.push(parsed.commandLine);
  const lock = parsed.options.lock ? lockLayer(parsed.options.lock, userLayers, parsed.options.k8s) : undefined;
  if (lock) userLayers.push(lock.layer);

  // A minor known up front selects its per-minor defaults now; otherwise after discovery (withMinor).
  const explicitVersion = composeLayers(userLayers).values.kubernetes_version;
  const minor = parsed.options.k8s || (explicitVersion ? minorOf(explicitVersion) : '');
  const config = compose({ options: parsed.options, userLayers, minor, requestedMinor: parsed.options.k8s });
  return { ...config, lock: lock?.inUse };
}

/**
 * The lock as the top layer. Values set elsewhere that contradict it are errors, not silently overridden:
 * a locked build is reproducible only if nothing else changes its inputs.
 */
function lockLayer(path: string, userLayers: Layer[], k8s: string): { layer: Layer; inUse: LockInUse } {
  const lock = readLock(path);
  const { values, sourceOf } = composeLayers(userLayers);
  const conflicts = lockConflicts(lock, values, sourceOf);
  if (k8s && k8s !== lock.kubernetes.minor) conflicts.push(`k8s=${k8s} contradicts the lock file, which is for Kubernetes ${lock.kubernetes.minor}`);
  if (conflicts.length) throw new ConfigErrors(conflicts.map((c) => new UserError(c, EXIT.config)));
  const inputs = lockedInputs(lock);
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  return { layer: { source: `lock file ${path}`, values: inputs.variables }, inUse: { path, sha256, inputs } };
}

/** The configuration recomposed with the per-minor defaults of a discovered minor. */
export function withMinor(config: Configuration, minor: string): Configuration {
  return { ...compose({ options: config.options, userLayers: config.userLayers, minor, requestedMinor: minor }), lock: config.lock };
}

function compose(input: { options: RunOptions; userLayers: Layer[]; minor: string; requestedMinor: string }): Configuration {
  const minorLayer: Layer[] = input.minor ? [{ source: `Kubernetes ${input.minor} defaults`, values: minorDefaults(input.minor) }] : [];
  // The variant is chosen by the layers above its defaults, so it is read first, then its layer slotted in.
  const variant = composeLayers([...minorLayer, ...input.userLayers]).values.variant;
  const { values, sourceOf } = composeLayers([...minorLayer, variantLayer(variant), ...input.userLayers]);
  const problems = [...schemaProblems(values), ...ruleProblems({ values, sourceOf, minor: input.requestedMinor })];
  if (problems.length) throw new ConfigErrors(problems);
  return { options: input.options, values, sourceOf, minor: input.minor, userLayers: input.userLayers };
}
