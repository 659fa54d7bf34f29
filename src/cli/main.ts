// Shared top of every entry script: run, print errors a user can act on, exit with a meaningful code.
import { describeAwsFailure } from '../aws/failures.ts';
import { ConfigErrors, UserError } from '../errors.ts';

/** `onExit` runs with the exit code just before the process exits, whichever way the run ended. */
export async function main(run: () => Promise<number>, onExit?: (code: number) => void): Promise<never> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let code: number;
  try {
    code = await run();
  } catch (error) {
    if (error instanceof ConfigErrors && error.problems.length === 1) error = error.problems[0];
    error = describeAwsFailure(error) ?? error;
    if (error instanceof UserError) {
      const multi = error instanceof ConfigErrors;
      console.error(multi ? `error: the configuration has problems; nothing was built:\n${error.message}` : `error: ${error.message}`);
      code = error.exitCode;
    } else {
      console.error(error);
      code = 1;
    }
  }
  try {
    onExit?.(code);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    code ||= 1;
  }
  process.exit(code);
}

export const stderrLog = (line: string): void => {
  console.error(`==> ${line}`);
};
