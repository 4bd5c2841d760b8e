/**
 * The sensor registry CSV as the pipeline's Spark job reads it, and every problem that would make
 * the job read something other than what its author meant. The plan reads it with Spark's CSV
 * reader, `header`, `ignoreLeadingWhiteSpace` and `ignoreTrailingWhiteSpace` on (emit/plan-json.ts),
 * and Spark's defaults for the rest (https://spark.apache.org/docs/3.5.1/sql-data-sources-csv.html):
 * - `multiLine` is off: the file is read one line at a time (a line ends with LF, CRLF or CR), so
 *   a quoted value cannot contain a line break;
 * - lines that are empty or only white space are skipped; the first other line is the header;
 * - unquoted values are trimmed, quoted ones keep their spaces, and an empty value is null;
 * - the quote is `"` and its escape character `\`, not RFC 4180's doubled quote: `"a ""b"""` is
 *   not read as `a "b"` (the parser, univocity 2.9, then takes the doubled quote as an unescaped
 *   one and, with Spark's STOP_AT_DELIMITER, keeps quotes in the value: parseQuotedValue in
 *   https://github.com/uniVocity/univocity-parsers/blob/v2.9.1/src/main/java/com/univocity/parsers/csv/CsvParser.java).
 *   Registry values therefore may not contain double quotes; quotes only enclose values with commas;
 * - column names resolve case-insensitively (`spark.sql.caseSensitive` is false), and a name
 *   that appears twice in the header gets its position appended (CSVUtils.makeSafeHeader), so
 *   neither copy is found by its name.
 */

export interface RegistryShape {
  /** The spec's `registry.key`: the column that identifies a device. */
  readonly key: string;
  /** The spec's `registry.columns`. */
  readonly columns: readonly string[];
}

export interface RegistryProblem {
  readonly line: number;
  readonly column?: number;
  readonly message: string;
}

export interface RegistryRow {
  readonly line: number;
  /** The values as Spark reads them; a row may have more or fewer than the header. */
  readonly values: readonly string[];
}

export interface RegistryCsv {
  /** The column names as Spark reads them (trimmed). */
  readonly header: readonly string[];
  readonly headerLine: number;
  readonly rows: readonly RegistryRow[];
  /** Every problem, by line and column. */
  readonly problems: readonly RegistryProblem[];
  /** The file without a UTF-8 byte order mark: what an upload writes. */
  readonly content: Buffer;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export function readRegistryCsv(bytes: Buffer, shape: RegistryShape): RegistryCsv {
  const content = bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
  const problems: RegistryProblem[] = [];
  const lines = splitLines(content).map((line, index) => ({ number: index + 1, text: decodeLine(line, index + 1, problems) }));
  // Spark skips blank lines (String.trim: every character up to U+0020 counts as blank).
  const records = lines.filter((line) => line.text.replace(/[\u0000-\u0020]/g, "") !== "");
  const parsed = records.map((line) => {
    const { values, issues } = parseLine(line.text);
    problems.push(...issues.map((issue) => ({ line: line.number, ...issue })));
    return { line: line.number, values };
  });
  const [first, ...rows] = parsed;
  if (first === undefined) {
    problems.push({ line: 1, message: `the file is empty: its first line must be the header, naming ${[shape.key, ...shape.columns].join(", ")}` });
    return { header: [], headerLine: 1, rows: [], problems: sorted(problems), content };
  }
  const header = first.values;
  problems.push(...headerProblems(header, first.line, shape));
  if (rows.length === 0) problems.push({ line: first.line, message: "no devices: the header is the only line" });
  for (const row of rows) {
    if (row.values.length !== header.length) {
      const more = row.values.length > header.length;
      problems.push({
        line: row.line,
        message:
          `${row.values.length} values, but the header has ${header.length}` + `${more ? ' (a value with a comma must be in double quotes: "Aula 1,2")' : ""}`,
      });
    }
  }
  problems.push(...keyProblems(header, rows, shape));
  return { header, headerLine: first.line, rows, problems: sorted(problems), content };
}

/** The position of a column as Spark finds it by name (case-insensitively); -1 when absent. */
export function columnIndex(header: readonly string[], name: string): number {
  return header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
}

function headerProblems(header: readonly string[], line: number, shape: RegistryShape): RegistryProblem[] {
  const problems: RegistryProblem[] = [];
  const seen = new Map<string, number[]>();
  header.forEach((name, index) => {
    if (name !== "") seen.set(name.toLowerCase(), [...(seen.get(name.toLowerCase()) ?? []), index]);
  });
  for (const positions of seen.values()) {
    if (positions.length < 2) continue;
    problems.push({
      line,
      message:
        `the header names "${header[positions[0]!]}" ${positions.length} times (columns ${positions.map((p) => p + 1).join(", ")}): ` +
        `Spark renames each copy (${positions.map((p) => `${header[p]}${p}`).join(", ")}), so none is found by its name`,
    });
  }
  const missing = [shape.key, ...shape.columns].filter((name) => columnIndex(header, name) < 0);
  if (missing.length > 0) {
    problems.push({
      line,
      message:
        `the header lacks ${missing.join(", ")} (the spec's registry.key and registry.columns); ` +
        `it has: ${header.map((h) => (h === "" ? '""' : h)).join(", ")}`,
    });
  }
  return problems;
}

/** No row without a key, no key twice; rows with the wrong number of values are left to that problem. */
function keyProblems(header: readonly string[], rows: readonly RegistryRow[], shape: RegistryShape): RegistryProblem[] {
  const key = columnIndex(header, shape.key);
  if (key < 0) return [];
  const problems: RegistryProblem[] = [];
  const firstLine = new Map<string, number>();
  for (const row of rows) {
    if (row.values.length !== header.length) continue;
    const value = row.values[key]!;
    if (value.trim() === "") {
      problems.push({ line: row.line, message: `no ${shape.key}: every device needs one (the pipeline ignores rows without)` });
      continue;
    }
    const earlier = firstLine.get(value);
    if (earlier === undefined) firstLine.set(value, row.line);
    else problems.push({ line: row.line, message: `${shape.key} ${value} is already on line ${earlier}: the pipeline would keep only one of them` });
  }
  return problems;
}

function sorted(problems: RegistryProblem[]): RegistryProblem[] {
  return problems.sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
}

/** Lines as Hadoop's line reader splits them: at LF, CRLF or CR (bytes that never occur inside a UTF-8 character). */
function splitLines(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte !== 0x0a && byte !== 0x0d) continue;
    lines.push(bytes.subarray(start, i));
    if (byte === 0x0d && bytes[i + 1] === 0x0a) i++;
    start = i + 1;
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

function decodeLine(bytes: Buffer, line: number, problems: RegistryProblem[]): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const at = firstInvalidByte(bytes);
    problems.push({
      line,
      column: at + 1,
      message:
        `not UTF-8: byte 0x${bytes[at]!.toString(16).toUpperCase().padStart(2, "0")} at byte ${at + 1} of the line; ` +
        "save the file as UTF-8 (this looks like Latin-1 or Windows-1252)",
    });
    return bytes.toString("utf8");
  }
}

/** Where the first invalid UTF-8 sequence of a line starts. */
function firstInvalidByte(bytes: Buffer): number {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let start = 0;
  try {
    for (let i = 0; i < bytes.length; i++) {
      // A whole character ends at this byte when the decoder gives one out.
      if (decoder.decode(bytes.subarray(i, i + 1), { stream: true }) !== "") start = i + 1;
    }
    decoder.decode();
  } catch {
    return start;
  }
  return start;
}

const isBlank = (c: string | undefined): boolean => c !== undefined && c <= " ";

/**
 * One line's values as univocity reads them with Spark's settings, and what in it Spark would read
 * differently from RFC 4180: values are split at commas outside quotes, leading and trailing
 * blanks of unquoted values dropped.
 */
function parseLine(text: string): { values: string[]; issues: Array<{ column: number; message: string }> } {
  const values: string[] = [];
  const issues: Array<{ column: number; message: string }> = [];
  const noQuotes = "leave double quotes out of registry values (quote only whole values that contain a comma)";
  let i = 0;
  for (;;) {
    while (isBlank(text[i])) i++;
    if (text[i] === '"') {
      const opened = i;
      let value = "";
      let closed = false;
      i++;
      while (i < text.length) {
        if (text[i] === "\\" && text[i + 1] === '"') {
          issues.push({
            column: i + 1,
            message: `\\" inside a quoted value: Spark reads it as an escaped quote, RFC 4180 as a backslash ending the value; ${noQuotes}`,
          });
          value += '"';
          i += 2;
        } else if (text[i] === '"' && text[i + 1] === '"') {
          issues.push({
            column: i + 1,
            message:
              'a doubled quote ("") inside a quoted value: Spark reads this registry with "\\" as its CSV escape character, ' +
              `not RFC 4180's doubled quote, and would keep quotes in the value; ${noQuotes}`,
          });
          value += '"';
          i += 2;
        } else if (text[i] === '"') {
          closed = true;
          i++;
          break;
        } else {
          value += text[i];
          i++;
        }
      }
      if (!closed)
        issues.push({
          column: opened + 1,
          message: "this quoted value is not closed on its line: Spark reads the registry one line at a time, so a value cannot contain a line break",
        });
      while (isBlank(text[i])) i++;
      if (i < text.length && text[i] !== ",") {
        issues.push({ column: i + 1, message: "text after the closing quote of a value: put the whole value in double quotes" });
        while (i < text.length && text[i] !== ",") i++;
      }
      values.push(value);
    } else {
      const comma = text.indexOf(",", i);
      const end = comma < 0 ? text.length : comma;
      const raw = text.slice(i, end);
      const quote = raw.indexOf('"');
      if (quote >= 0)
        issues.push({
          column: i + quote + 1,
          message: `a double quote inside an unquoted value: Spark would drop or keep it depending on what follows; ${noQuotes}`,
        });
      values.push(raw.replace(/[\u0000-\u0020]+$/, ""));
      i = end;
    }
    if (i >= text.length) return { values, issues };
    i++;
  }
}
