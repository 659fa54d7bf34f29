// One dry-run plan (`make 1.28 dry_run=true`'s pipeline) in a fresh process, timed from the inside, for
// bench/plan.ts. Loads the pipeline of the tree given (this checkout or a worktree of another commit), so both
// are timed the same way: every AWS request and every spawned command is recorded with its start and end
// through the pipeline's own dependency injection. Prints one JSON line.
// Usage: node --import tsx bench/plan-once.ts TREE_ROOT [make words…]   (endpoint from AWS_ENDPOINT_URL*)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Span {
  name: string;
  start: number;
  end: number;
}

export interface PlanTiming {
  /** ms since process start: tsx ready and this script running. */
  entered: number;
  /** ms since process start: the pipeline's modules loaded. */
  loaded: number;
  pipelineStart: number;
  pipelineEnd: number;
  aws: Span[];
  commands: Span[];
  /** Log lines with their time. */
  lines: { at: number; text: string }[];
}

const entered = performance.now();
const [tree, ...words] = process.argv.slice(2);
const load = (path: string) => import(pathToFileURL(join(tree, path)).href);
// A tree whose entry script starts `packer version` before loading the pipeline is timed the same way.
const packerFirst = readFileSync(join(tree, 'scripts', 'build.ts'), 'utf8').includes('detectPacker(');
const timing: PlanTiming = { entered, loaded: 0, pipelineStart: 0, pipelineEnd: 0, aws: [], commands: [], lines: [] };
const { processRunner } = await load('src/process/run.ts');
type Sender = { send: (command: { constructor: { name: string } }) => Promise<unknown> };
const recorded = <C extends Sender>(client: C): C => {
  const send = client.send.bind(client);
  client.send = async (command) => {
    const start = performance.now();
    try {
      return await send(command);
    } finally {
      timing.aws.push({ name: command.constructor.name.replace(/Command$/, ''), start, end: performance.now() });
    }
  };
  return client;
};
const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
  const start = performance.now();
  try {
    return await run();
  } finally {
    timing.commands.push({ name, start, end: performance.now() });
  }
};
const runner = {
  capture: (command: string, args: string[], options?: object) => timed(`${command} ${args[0]}`, () => processRunner.capture(command, args, options)),
  stream: (command: string, args: string[], options?: object) => timed(`${command} ${args[0]}`, () => processRunner.stream(command, args, options)),
};
const packer = packerFirst ? (await load('src/process/packer.ts')).detectPacker(runner, process.env) : undefined;
packer?.catch(() => undefined);
const [{ runPipeline }, { defaultClients }] = await Promise.all([load('src/pipeline.ts'), load('src/aws/default-clients.ts')]);
timing.loaded = performance.now();
const clients = {
  s3: (region: string, unsigned: boolean) => recorded(defaultClients.s3(region, unsigned)),
  ec2: (region: string) => recorded(defaultClients.ec2(region)),
};
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
timing.pipelineStart = performance.now();
const result = await runPipeline(words, {
  runner,
  clients,
  env: process.env,
  log: (text: string) => timing.lines.push({ at: performance.now(), text }),
  ...(packer ? { packer } : {}),
});
timing.pipelineEnd = performance.now();
if (result.exitCode !== 0) throw new Error(`the plan exited ${result.exitCode}`);
console.log(JSON.stringify(timing));
process.exit(0);
