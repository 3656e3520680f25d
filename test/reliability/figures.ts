import { appendFileSync } from 'node:fs';

/**
 * Figures a reliability suite measured, for `npm run test:reliability` to print at the end. Each
 * is a JSON line appended to the file FTSHARE_FIGURES_FILE names (the runner sets it); without it
 * (a suite run on its own) the figure is printed to stderr instead.
 */
export type Figure = { suite: string; store?: string; name: string; value: number | string; unit?: string };

export function recordFigure(figure: Figure): void {
  const file = process.env.FTSHARE_FIGURES_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(figure)}\n`);
  else process.stderr.write(`figure: ${JSON.stringify(figure)}\n`);
}

/** Records every entry of `values` under one suite and store. */
export function recordFigures(
  suite: string,
  store: string | undefined,
  values: Record<string, number | string | [number, string]>,
): void {
  for (const [name, value] of Object.entries(values)) {
    const [v, unit] = Array.isArray(value) ? value : [value, undefined];
    recordFigure({ suite, ...(store ? { store } : {}), name, value: v, ...(unit ? { unit } : {}) });
  }
}
