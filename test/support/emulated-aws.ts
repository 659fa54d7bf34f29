// Mocha hooks around an emulator. The emulator holding what a build looks up is src/emulation/emulated-aws.ts
// (the plan benchmark starts it too).
import type { Moto } from '../../src/rehearse/emulator.ts';

export { startEmulatedAws } from '../../src/emulation/emulated-aws.ts';

export interface MotoHandle {
  moto?: Moto;
}

/**
 * Mocha hooks for a describe block: the emulator `start` returns runs for the block's tests, with its endpoints and
 * credentials in process.env meanwhile (the scripts and SDK clients under test read them there); restored after.
 */
export function useEmulator(start: () => Promise<Moto>): MotoHandle {
  const handle: MotoHandle = {};
  let saved: NodeJS.ProcessEnv | undefined;
  before(async function () {
    this.timeout(60_000);
    handle.moto = await start();
    saved = { ...process.env };
    Object.assign(process.env, handle.moto.env);
  });
  after(async () => {
    if (saved) process.env = saved;
    await handle.moto?.stop();
  });
  return handle;
}
