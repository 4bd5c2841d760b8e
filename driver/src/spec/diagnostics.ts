/**
 * Diagnostics: every problem found in a spec, with the place it was found.
 *
 * A diagnostic carries a stable code (documented in the README), the source position of the
 * offending node, the offending value and what would have been allowed. Phases collect them
 * instead of throwing, so a user sees every problem of a spec at once.
 */

export interface SourcePosition {
  /** The file as the user named it (relative to the working directory when possible). */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
}

export type DiagnosticCode =
  | "yaml-syntax"
  | "unknown-key"
  | "missing-key"
  | "wrong-type"
  | "bad-value"
  | "bad-duration"
  | "bad-window"
  | "missing-watermark"
  | "unknown-field"
  | "non-numeric-field"
  | "self-correlation"
  | "duplicate-name"
  | "bad-json-path"
  | "bad-influx-name"
  | "unset-variable"
  | "bad-interpolation"
  | "file-not-found";

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly pos: SourcePosition;
  /** What would have been accepted here, or what to do next. */
  readonly hint?: string;
}

export function diagnostic(code: DiagnosticCode, pos: SourcePosition, message: string, hint?: string): Diagnostic {
  return Object.freeze(hint === undefined ? { code, pos, message } : { code, pos, message, hint });
}

/** Orders diagnostics by file, line and column so output is stable. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.pos.file.localeCompare(b.pos.file) || a.pos.line - b.pos.line || a.pos.col - b.pos.col || a.code.localeCompare(b.code));
}

/**
 * Renders a diagnostic the way compilers do: `file:line:col: error[code]: message`, then the
 * source line with a caret under the column, then the hint.
 */
export function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>): string {
  const head = `${d.pos.file}:${d.pos.line}:${d.pos.col}: error[${d.code}]: ${d.message}`;
  const lines = [head];
  const text = sources.get(d.pos.file);
  const sourceLine = text?.split(/\r?\n/)[d.pos.line - 1];
  if (sourceLine !== undefined) {
    const gutter = String(d.pos.line).length;
    lines.push(`${" ".repeat(gutter)} |`);
    lines.push(`${d.pos.line} | ${sourceLine}`);
    lines.push(`${" ".repeat(gutter)} | ${" ".repeat(Math.max(0, d.pos.col - 1))}^`);
  }
  if (d.hint !== undefined) lines.push(`  = help: ${d.hint}`);
  return lines.join("\n");
}
