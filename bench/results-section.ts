// bench/RESULTS.md is shared by the benchmarks: each owns one marked section,
//   <!-- bench:<name>:begin --> … <!-- bench:<name>:end -->
// and a run replaces only its own section (appending it the first time), leaving the others as they are.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export function writeSection(file: string, name: string, markdown: string): void {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const from = old.indexOf(begin);
  const to = old.indexOf(end);
  let next: string;
  if (from >= 0 && to > from) next = `${old.slice(0, from)}${block}${old.slice(to + end.length)}`;
  else if (from >= 0 || to >= 0) throw new Error(`${file}: the markers of section ${name} are broken; fix them by hand`);
  else next = old.trim() ? `${old.trimEnd()}\n\n${block}\n` : `${block}\n`;
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, next.endsWith('\n') ? next : `${next}\n`);
  renameSync(temp, file);
}
