// Tests use the product's emulator launcher (src/rehearse/emulator.ts).
export * from '../../src/rehearse/emulator.ts';
