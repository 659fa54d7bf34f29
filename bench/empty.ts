// Start-up baseline for the benchmark: what `node --import tsx` costs before any of our code runs.
export {};
