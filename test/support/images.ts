// The emulator's images live with the emulator (src/emulation/images.ts), shared with the benchmark.
export * from '../../src/emulation/images.ts';
