/**
 * Bearer tokens (RFC 6750) for POST /stream. Several tokens are valid at once so that one can be
 * rotated: add the new one, move the senders over, remove the old one. They come from the
 * environment (PROXY_TOKENS, comma-separated) and from a file (one per line, # comments), which
 * SIGHUP reads again. Tokens are compared as SHA-256 digests in constant time and never logged.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

export const TOKENS_ENV = "PROXY_TOKENS";

export class TokenError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

export type AuthResult = "ok" | "missing" | "invalid";

export class BearerTokens {
  private digests: Buffer[] = [];

  constructor(
    private readonly fromEnv: string | undefined,
    private readonly file: string | undefined,
  ) {
    this.reload();
  }

  /** Whether any token is configured; without one, authentication is off. */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  get count(): number {
    return this.digests.length;
  }

  /** Reads the environment's and the file's tokens again; throws TokenError, keeping the old ones, when they are not usable. */
  reload(): void {
    const fromEnv = splitTokens(this.fromEnv ?? "", /,/);
    // Set but empty of tokens (" , "): a typo must not turn authentication off.
    if (fromEnv.length === 0 && (this.fromEnv ?? "") !== "") {
      throw new TokenError(`${TOKENS_ENV} is set but holds no token: authentication would be off`, `give ${TOKENS_ENV} comma-separated tokens, or unset it`);
    }
    const spaced = fromEnv.findIndex((t) => /\s/.test(t));
    if (spaced >= 0)
      throw new TokenError(`${TOKENS_ENV} has a token with a space in it (token ${spaced + 1})`, "separate tokens with commas; a bearer token has no spaces");
    const tokens = [...fromEnv, ...(this.file === undefined ? [] : readTokenFile(this.file))];
    this.digests = [...new Set(tokens)].map(digest);
  }

  check(authorization: string | undefined): AuthResult {
    if (authorization === undefined) return "missing";
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (match === null) return "missing";
    const candidate = digest(match[1]!);
    let found = false;
    // Every token is compared, so the time taken does not tell which one (if any) matched.
    for (const known of this.digests) found = timingSafeEqual(known, candidate) || found;
    return found ? "ok" : "invalid";
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

function splitTokens(text: string, separator: RegExp, comments = false): string[] {
  return text
    .split(separator)
    .map((t) => t.trim())
    .filter((t) => t !== "" && !(comments && t.startsWith("#")));
}

function readTokenFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new TokenError(
      `cannot read the tokens file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      "pass --tokens-file with a readable file, one token per line",
    );
  }
  const tokens = splitTokens(text, /\r?\n/, true);
  if (tokens.length === 0) {
    throw new TokenError(
      `the tokens file ${file} lists no token: authentication would be off`,
      "write one token per line (lines starting with # are comments), or leave --tokens-file out",
    );
  }
  const spaced = tokens.findIndex((t) => /\s/.test(t));
  if (spaced >= 0)
    throw new TokenError(`the tokens file ${file} has a token with a space in it (token ${spaced + 1})`, "one token per line; a bearer token has no spaces");
  return tokens;
}
