// Command-line words → run options and the command-line layer of build variables.
// `make 1.28 name=value …` arrives here as ["1.28", "name=value", …]; names are checked, never dropped.
import { ConfigErrors, UserError } from '../errors.ts';
import { coerce } from '../variables/coerce.ts';
import { canonicalName } from '../variables/declarations.ts';
import { unknownNameError, type Layer } from '../variables/layers.ts';
import { canonicalOption, options, type RunOptions } from '../variables/options.ts';

export interface ParsedArguments {
  options: RunOptions;
  /** Options the user set (on the command line or through the environment). */
  optionsSet: Set<keyof RunOptions>;
  commandLine: Layer;
}

export function parseArguments(words: string[], env: NodeJS.ProcessEnv = {}): ParsedArguments {
  const problems: UserError[] = [];
  const runOptions: RunOptions = { k8s: '', preset: [], PACKER_VARIABLE_FILE: '', lock: '', dry_run: false, result_file: '' };
  const optionsSet = new Set<keyof RunOptions>();
  const variables: Record<string, unknown> = {};

  const setOption = (name: keyof RunOptions, raw: string) => {
    try {
      (runOptions as unknown as Record<string, unknown>)[name] = coerce(name, options[name], raw);
      optionsSet.add(name);
    } catch (error) {
      problems.push(error as UserError);
    }
  };

  if (env.PACKER_VARIABLE_FILE) setOption('PACKER_VARIABLE_FILE', env.PACKER_VARIABLE_FILE);

  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      if (/^[0-9]+\.[0-9]+$/.test(word)) setOption('k8s', word);
      else problems.push(new UserError(`'${word}' is neither a Kubernetes minor (like 1.28) nor name=value.`, 2));
      continue;
    }
    const name = word.slice(0, eq);
    const value = word.slice(eq + 1);
    const option = canonicalOption(name);
    if (option) setOption(option, value);
    else if (canonicalName(name)) variables[name] = value;
    else problems.push(unknownNameError(name, 'command line', value));
  }
  if (problems.length) throw new ConfigErrors(problems);
  return { options: runOptions, optionsSet, commandLine: { source: 'command line', values: variables } };
}
