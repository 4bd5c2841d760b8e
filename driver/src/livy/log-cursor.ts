/**
 * New lines of a Livy batch log since the last look. Livy returns the driver's stdout and stderr
 * as two sections of one list (`stdout: `, lines, `stderr: `, lines), each capped and dropping
 * its oldest lines, so a position in the list does not stay a position in the log: each section
 * is followed on its own, from the last line already seen.
 */

const HEADER = /^\s*(stdout|stderr):\s*$/;

export function sections(lines: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "stdout";
  for (const line of lines) {
    const header = HEADER.exec(line);
    if (header !== null) {
      current = header[1]!;
      if (!out.has(current)) out.set(current, []);
      continue;
    }
    if (!out.has(current)) out.set(current, []);
    out.get(current)!.push(line);
  }
  return out;
}

export class LogCursor {
  private readonly seen = new Map<string, { count: number; last: string | undefined }>();

  /** The lines not returned before, stdout's first. */
  next(lines: readonly string[]): string[] {
    const fresh: string[] = [];
    for (const [name, section] of sections(lines)) {
      const seen = this.seen.get(name) ?? { count: 0, last: undefined };
      let from: number;
      if (seen.last === undefined) from = 0;
      else if (section[seen.count - 1] === seen.last) from = seen.count;
      else {
        // Older lines were dropped: continue after the last line seen, or show all if it is gone.
        const at = section.lastIndexOf(seen.last);
        from = at < 0 ? 0 : at + 1;
      }
      fresh.push(...section.slice(from));
      this.seen.set(name, { count: section.length, last: section.at(-1) ?? seen.last });
    }
    return fresh;
  }
}
