import type { Printer } from './output.ts';

/**
 * A one-line progress bar on stderr for `export` and `import`, drawn only when stderr is a
 * terminal, and only once a run has lasted half a second (a small state finishes without one).
 * Thirty lines of our own rather than a dependency: one line, redrawn with `\r`, is all it does.
 */

const DELAY_MS = 500;
const REDRAW_MS = 100;
const WIDTH = 30;

const number = new Intl.NumberFormat('en-US');
export const formatCount = (n: number) => number.format(n);
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export class Progress {
  readonly #started = Date.now();
  #drawnAt = 0;
  #drawn = false;

  constructor(
    private readonly err: Printer,
    private readonly label: string,
  ) {}

  /** `done` of `total` records (total null: unknown, a counter without a bar), and a note after it. */
  update(done: number, total: number | null, note = '', force = false): void {
    if (!this.err.isTTY) return;
    const now = Date.now();
    if (!force && (now - this.#started < DELAY_MS || now - this.#drawnAt < REDRAW_MS)) return;
    this.#drawnAt = now;
    this.#drawn = true;
    const rate = done / Math.max((now - this.#started) / 1000, 0.001);
    let line = `${this.label} `;
    if (total !== null && total > 0) {
      const filled = Math.round((Math.min(done, total) / total) * WIDTH);
      const percent = Math.floor((Math.min(done, total) / total) * 100);
      line += `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${percent}% ${formatCount(done)}/${formatCount(total)}`;
    } else {
      line += formatCount(done);
    }
    line += ` records, ${formatCount(Math.round(rate))}/s${note ? `, ${note}` : ''}`;
    // \r to the line's start, \x1b[K erases what a longer previous line left.
    this.err.write(`\r${line}\x1b[K`);
  }

  /** Ends the line if one was drawn, so what follows starts on a fresh one. */
  finish(done: number, total: number | null, note = ''): void {
    if (!this.#drawn) return;
    this.update(done, total, note, true);
    this.err.write('\n');
  }
}
