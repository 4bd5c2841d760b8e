/**
 * The JSON paths that name message fields: `$`, then `.name`, `['any name']` or `[index]`
 * steps. Wildcards, recursive descent and filters are rejected: each field must name exactly
 * one value so that it maps onto one column of a declared schema.
 */

export type JsonPathStep = { readonly kind: "member"; readonly name: string } | { readonly kind: "index"; readonly index: number };

export type JsonPathResult = { ok: true; steps: readonly JsonPathStep[] } | { ok: false; problem: string };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*/;
/** C0 and C1 controls, DEL and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function parseJsonPath(text: string): JsonPathResult {
  if (!text.startsWith("$")) return { ok: false, problem: `"${text}" must start with "$" (the message root)` };
  const steps: JsonPathStep[] = [];
  let i = 1;
  while (i < text.length) {
    const rest = text.slice(i);
    if (rest.startsWith("..")) return { ok: false, problem: `recursive descent ".." is not supported at character ${i + 1}` };
    if (rest.startsWith(".")) {
      const name = IDENTIFIER.exec(rest.slice(1))?.[0];
      if (name === undefined) {
        return { ok: false, problem: `expected a member name after "." at character ${i + 2}` };
      }
      steps.push({ kind: "member", name });
      i += 1 + name.length;
      continue;
    }
    const index = /^\[(\d+)\]/.exec(rest);
    if (index !== null) {
      steps.push({ kind: "index", index: Number(index[1]) });
      i += index[0].length;
      continue;
    }
    const quoted = /^\['((?:[^'\\]|\\.)+)'\]/s.exec(rest);
    if (quoted !== null) {
      const name = quoted[1]!.replace(/\\(.)/gs, "$1");
      const control = CONTROL.exec(name);
      if (control !== null) {
        return {
          ok: false,
          problem:
            `member name ${JSON.stringify(name)} at character ${i + 3} contains the control character ` +
            `U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}: ` +
            "the generated SQL and its schema cannot carry control characters in names",
        };
      }
      steps.push({ kind: "member", name });
      i += quoted[0].length;
      continue;
    }
    return { ok: false, problem: `unexpected "${rest[0]}" at character ${i + 1} (wildcards and filters are not supported)` };
  }
  if (steps.length === 0 || steps[0]!.kind !== "member") {
    return { ok: false, problem: `"${text}" must name a member of the message, e.g. "$.DevEui"` };
  }
  return { ok: true, steps };
}

export function formatJsonPath(steps: readonly JsonPathStep[]): string {
  return (
    "$" +
    steps
      .map((s) => (s.kind === "index" ? `[${s.index}]` : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s.name) ? `.${s.name}` : `['${s.name.replace(/['\\]/g, "\\$&")}']`))
      .join("")
  );
}
