// The emulated EKS bucket's content lives with the emulator (src/emulation/eks-bucket.ts), shared with the benchmark.
export * from '../../src/emulation/eks-bucket.ts';
