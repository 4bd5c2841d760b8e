/** Sections of README.md between `<!-- NAME:start -->` and `<!-- NAME:end -->` are generated. */

export function markers(name: string): { start: string; end: string } {
  return { start: `<!-- ${name}:start (generated: npm run docs) -->`, end: `<!-- ${name}:end -->` };
}

export function replaceGeneratedSection(text: string, name: string, content: string): string {
  const { start, end } = markers(name);
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} ... ${end} markers`);
  return `${text.slice(0, from + start.length)}\n${content}${text.slice(to)}`;
}
