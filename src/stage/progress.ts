// Progress while staging, to stderr and throttled: one line per tick with the total rate and each active
// artifact's phase, share and rate; and the summary table printed at the end.

export type Phase = 'checksum' | 'verify' | 'download' | 'upload' | 'done' | 'failed';

interface Track {
  phase: Phase;
  bytes: number;
  total?: number;
  /** Bytes at the previous tick, for the per-artifact rate. */
  lastBytes: number;
}

export const fmtBytes = (n: number): string =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
export const fmtRate = (bytesPerSecond: number): string => `${fmtBytes(Math.round(bytesPerSecond))}/s`;

export class Progress {
  private readonly tracks = new Map<string, Track>();
  private timer: NodeJS.Timeout | undefined;
  private lastTick: number;
  private moved = 0;
  private lastMoved = 0;
  private readonly started: number;
  private expected = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = this.now();
    this.lastTick = this.started;
  }

  /** Starts the throttled reporting (no-op with intervalMs 0). */
  start(): this {
    if (this.intervalMs > 0) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
    return this;
  }

  phase(name: string, phase: Phase, total?: number): void {
    const track = this.tracks.get(name) ?? { phase, bytes: 0, lastBytes: 0 };
    track.phase = phase;
    if (phase === 'download' || phase === 'upload' || phase === 'verify') {
      track.bytes = 0;
      track.lastBytes = 0;
      track.total = total;
    }
    this.tracks.set(name, track);
  }

  /** Bytes moved for an artifact (negative to take back what a failed attempt counted). */
  add(name: string, bytes: number): void {
    const track = this.tracks.get(name);
    if (!track) return;
    track.bytes += bytes;
    this.moved += bytes;
  }

  /** Where an artifact's current attempt stands (a resumed download starts at its offset): not counted as moved. */
  at(name: string, bytes: number, total?: number): void {
    const track = this.tracks.get(name);
    if (!track) return;
    track.bytes = bytes;
    track.lastBytes = bytes;
    if (total !== undefined) track.total = total;
  }

  /** How many artifacts the run stages, for "n/N done". */
  expect(count: number): void {
    this.expected = count;
  }

  /** Total bytes moved (downloaded, uploaded, re-hashed) so far. */
  get totalBytes(): number {
    return this.moved;
  }

  tick(): void {
    const now = this.now();
    const seconds = Math.max(0.001, (now - this.lastTick) / 1000);
    const active = [...this.tracks].filter(([, t]) => t.phase !== 'done' && t.phase !== 'failed');
    const done = [...this.tracks.values()].filter((t) => t.phase === 'done').length;
    if (active.length) {
      const parts = active.map(([name, t]) => {
        const share = t.total ? ` ${Math.min(100, Math.floor((100 * t.bytes) / t.total))}%` : '';
        const rate = t.phase === 'checksum' ? '' : ` ${fmtRate((t.bytes - t.lastBytes) / seconds)}`;
        return `${name} ${t.phase}${share}${rate}`;
      });
      this.write(`staging: ${done}/${Math.max(this.expected, this.tracks.size)} done, ${fmtBytes(this.moved)} moved at ${fmtRate((this.moved - this.lastMoved) / seconds)} | ${parts.join(' | ')}`);
    }
    for (const [, t] of active) t.lastBytes = t.bytes;
    this.lastMoved = this.moved;
    this.lastTick = now;
  }

  stop(): number {
    if (this.timer) clearInterval(this.timer);
    return (this.now() - this.started) / 1000;
  }
}

/** A plain-text table with a header rule, columns padded to their widest cell; right-aligned where asked. */
export function table(header: string[], rows: string[][], right: boolean[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
