/**
 * `${VAR}` and `${VAR:-default}` in setting values. `$$` writes a literal dollar sign.
 *
 * Interpolation is resolved for validation, but compiled output keeps the template text, so the
 * committed plan does not depend on the machine that compiled it; the driver binds the
 * variables when it stages a plan for submission.
 */

export interface TemplatePart {
  readonly kind: "text" | "variable";
  /** Literal text, or the variable's name. */
  readonly text: string;
  /** For variables: the default after `:-`, if any. */
  readonly fallback?: string;
}

export interface ParsedTemplate {
  readonly parts: readonly TemplatePart[];
  /** A description of the first syntax problem, if the text is not a valid template. */
  readonly error?: string;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseTemplate(text: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$$", i)) {
      literal += "$";
      i += 2;
      continue;
    }
    if (!text.startsWith("${", i)) {
      literal += text[i];
      i += 1;
      continue;
    }
    const close = text.indexOf("}", i + 2);
    if (close < 0) return { parts, error: `unclosed "\${" at character ${i + 1}` };
    const body = text.slice(i + 2, close);
    const sep = body.indexOf(":-");
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!VARIABLE_NAME.test(name)) {
      return { parts, error: `"\${${body}}" does not name a variable (letters, digits and _ only)` };
    }
    if (literal !== "") parts.push({ kind: "text", text: literal });
    literal = "";
    parts.push(sep < 0 ? { kind: "variable", text: name } : { kind: "variable", text: name, fallback: body.slice(sep + 2) });
    i = close + 1;
  }
  if (literal !== "") parts.push({ kind: "text", text: literal });
  return { parts };
}

export function hasInterpolation(text: string): boolean {
  return parseTemplate(text).parts.some((p) => p.kind === "variable");
}

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Resolution {
  readonly value: string;
  /** Variables that are unset (or empty) and have no default. */
  readonly unset: readonly string[];
}

/** Resolves a parsed template. An empty variable counts as unset, as in POSIX `${VAR:-x}`. */
export function resolveTemplate(template: ParsedTemplate, env: Environment): Resolution {
  const unset: string[] = [];
  let value = "";
  for (const part of template.parts) {
    if (part.kind === "text") {
      value += part.text;
      continue;
    }
    const fromEnv = env[part.text];
    if (fromEnv !== undefined && fromEnv !== "") value += fromEnv;
    else if (part.fallback !== undefined) value += part.fallback;
    else unset.push(part.text);
  }
  return { value, unset };
}
